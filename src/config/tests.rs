use super::*;

#[test]
fn defaults_are_the_documented_ones() {
    let s = Settings::from_pairs(&[]).unwrap();
    assert_eq!(s.addr, "127.0.0.1:8080");
    assert_eq!(s.database_url, "data/latchkey.db");
    assert_eq!(s.access_ttl, Duration::from_secs(900));
    assert_eq!(s.idle_ttl, Duration::from_secs(7 * 86400));
    assert_eq!(s.absolute_ttl, Duration::from_secs(30 * 86400));
    assert_eq!(s.reuse_grace, Duration::from_secs(10));
    assert_eq!(s.bcrypt_cost, 12);
}

#[test]
fn durations_are_written_like_15m_7d_3s() {
    let s = Settings::from_pairs(&[
        ("access_ttl", "3s"),
        ("idle_ttl", "2d"),
        ("absolute_ttl", "7d"),
    ])
    .unwrap();
    assert_eq!(s.access_ttl, Duration::from_secs(3));
    assert_eq!(s.idle_ttl, Duration::from_secs(2 * 86400));
}

#[test]
fn bad_values_name_the_variable_and_the_fix() {
    let error = Settings::from_pairs(&[("access_ttl", "15x")])
        .unwrap_err()
        .to_string();
    assert!(error.contains("LATCHKEY_ACCESS_TTL"), "{error}");
    assert!(error.contains("15m"), "{error}");
    assert!(Settings::from_pairs(&[("access_ttl", "2h")]).is_err());
    assert!(Settings::from_pairs(&[("leeway", "6s")]).is_err());
    assert!(Settings::from_pairs(&[("password_min_length", "7")]).is_err());
    assert!(Settings::from_pairs(&[("bcrypt_cost", "3")]).is_err());
    assert!(Settings::from_pairs(&[("idle_ttl", "40d")]).is_err());
    assert!(Settings::from_pairs(&[("audit_retention", "1h")]).is_err());
}

#[test]
fn the_config_file_uses_the_same_keys_and_refuses_unknown_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latchkey.toml");
    std::fs::write(&path, "access_ttl = \"5m\"\nbcrypt_cost = 10\n").unwrap();
    let s = Settings::from_values(read_file(&path).unwrap()).unwrap();
    assert_eq!(s.access_ttl, Duration::from_secs(300));
    assert_eq!(s.bcrypt_cost, 10);

    std::fs::write(&path, "acces_ttl = \"5m\"\n").unwrap();
    let error = read_file(&path).unwrap_err().to_string();
    assert!(error.contains("acces_ttl"), "{error}");

    std::fs::write(&path, "bcrypt_cost = 2\n").unwrap();
    let error = Settings::from_values(read_file(&path).unwrap())
        .unwrap_err()
        .to_string();
    assert!(error.contains("bcrypt_cost"), "{error}");
}

#[test]
fn production_refuses_development_settings_and_says_which() {
    let long_secret = "s".repeat(64);
    let good = [
        ("env", "production"),
        ("cookie_secure", "true"),
        ("secret", long_secret.as_str()),
    ];
    assert!(Settings::from_pairs(&good).is_ok());

    let insecure = Settings::from_pairs(&[("env", "production")])
        .unwrap_err()
        .to_string();
    assert!(insecure.contains("LATCHKEY_COOKIE_SECURE"), "{insecure}");
    let cheap = Settings::from_pairs(&[good[0], good[1], good[2], ("bcrypt_cost", "9")])
        .unwrap_err()
        .to_string();
    assert!(cheap.contains("LATCHKEY_BCRYPT_COST"), "{cheap}");
    let short = Settings::from_pairs(&[good[0], good[1], ("secret", &"s".repeat(63))])
        .unwrap_err()
        .to_string();
    assert!(
        short.contains("LATCHKEY_SECRET") && !short.contains("sss"),
        "{short}"
    );
}

#[test]
fn secrets_never_show_in_debug_or_errors() {
    let s = Settings::from_pairs(&[("secret", "super-secret-value-that-is-long-enough")]).unwrap();
    assert!(!format!("{s:?}").contains("super-secret"));
    assert!(!format!("{:?}", s.describe()).contains("super-secret"));
}
