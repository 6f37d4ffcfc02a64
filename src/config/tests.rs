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

/// Reads `text` as the config file, the way `load` does.
fn from_file(dir: &std::path::Path, text: &str) -> Result<Settings, ConfigError> {
    let path = dir.join("latchkey.toml");
    std::fs::write(&path, text).unwrap();
    Settings::extract(Figment::new().merge(file(&path)?))
}

#[test]
fn the_config_file_uses_the_same_keys_and_refuses_unknown_ones() {
    let dir = tempfile::tempdir().unwrap();
    let s = from_file(dir.path(), "access_ttl = \"5m\"\nbcrypt_cost = 10\n").unwrap();
    assert_eq!(s.access_ttl, Duration::from_secs(300));
    assert_eq!(s.bcrypt_cost, 10);

    let error = from_file(dir.path(), "acces_ttl = \"5m\"\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("acces_ttl"), "{error}");

    let error = from_file(dir.path(), "bcrypt_cost = 2\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("latchkey.toml: bcrypt_cost"), "{error}");
    assert!(error.contains("from 4 to 31"), "{error}");

    let error = from_file(dir.path(), "access_ttl = \"15x\"\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("latchkey.toml: access_ttl"), "{error}");
    assert!(error.contains("15m"), "{error}");
}

#[test]
fn booleans_are_true_or_false_with_on_and_off_as_aliases() {
    for (text, value) in [
        ("true", true),
        ("on", true),
        ("false", false),
        ("off", false),
    ] {
        let s = Settings::from_pairs(&[("rate_limit", text), ("cookie_secure", text)]).unwrap();
        assert_eq!((s.rate_limit, s.cookie_secure), (value, value), "{text}");
    }
    let error = Settings::from_pairs(&[("metrics", "yes")])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("LATCHKEY_METRICS") && error.contains("`true` or `false`"),
        "{error}"
    );
    let dir = tempfile::tempdir().unwrap();
    assert!(from_file(dir.path(), "metrics = true\n").unwrap().metrics);
}

#[test]
fn words_and_numbers_are_read_from_text_and_from_toml_values() {
    let s = Settings::from_pairs(&[
        ("registration", "closed"),
        ("env", "development"),
        ("refresh_retry", "strict"),
        ("issuer", "12345"),
        ("workers", "3"),
        ("trusted_proxies", "10.0.0.1, 192.168.0.0/16"),
    ])
    .unwrap();
    assert_eq!(s.registration, Registration::Closed);
    assert_eq!(s.refresh_retry, RefreshRetry::Strict);
    assert_eq!(s.issuer, "12345");
    assert_eq!(s.workers, Some(3));
    assert_eq!(s.trusted_proxies.len(), 2);
    let error = Settings::from_pairs(&[("registration", "maybe")])
        .unwrap_err()
        .to_string();
    assert!(error.contains("write `open` or `closed`"), "{error}");
}

#[test]
fn every_key_has_a_documented_default_and_shows_in_config_check() {
    let docs = Settings::documentation();
    assert_eq!(docs.iter().map(|d| d.key).collect::<Vec<_>>(), KEYS);
    let described = Settings::default().describe();
    assert_eq!(described.len(), KEYS.len());
    for ((name, _), key) in described.iter().zip(KEYS) {
        assert_eq!(*name, env_name(key));
    }
}

/// The README's table is generated from the settings table; this fails when they differ. To
/// update the README, paste the output of `latchkey config table`.
#[test]
fn the_readme_settings_table_is_the_generated_one() {
    let readme = include_str!("../../README.md");
    let generated = markdown_table();
    assert!(
        readme.contains(&generated),
        "README.md's settings table differs from the settings in src/config/mod.rs; \
         replace it with the output of `latchkey config table`:\n{generated}"
    );
}

#[test]
fn production_refuses_development_settings_and_says_which() {
    let long_secret = "s".repeat(64);
    let good = [
        ("env", "production"),
        ("cookie_secure", "true"),
        ("secret", long_secret.as_str()),
        ("public_url", "https://auth.example.com"),
    ];
    assert!(Settings::from_pairs(&good).is_ok());

    let insecure = Settings::from_pairs(&[("env", "production")])
        .unwrap_err()
        .to_string();
    assert!(insecure.contains("LATCHKEY_COOKIE_SECURE"), "{insecure}");
    let cheap = Settings::from_pairs(&[good[0], good[1], good[2], good[3], ("bcrypt_cost", "9")])
        .unwrap_err()
        .to_string();
    assert!(cheap.contains("LATCHKEY_BCRYPT_COST"), "{cheap}");
    let short = Settings::from_pairs(&[good[0], good[1], good[3], ("secret", &"s".repeat(63))])
        .unwrap_err()
        .to_string();
    assert!(
        short.contains("LATCHKEY_SECRET") && !short.contains("sss"),
        "{short}"
    );
}

#[test]
fn production_needs_an_https_public_url_and_encrypted_smtp_except_to_this_machine() {
    let long_secret = "s".repeat(64);
    let base = [
        ("env", "production"),
        ("cookie_secure", "true"),
        ("secret", long_secret.as_str()),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut pairs = base.to_vec();
        pairs.extend_from_slice(extra);
        Settings::from_pairs(&pairs).map_err(|e| e.to_string())
    };
    let missing = with(&[]).unwrap_err();
    assert!(missing.contains("LATCHKEY_PUBLIC_URL"), "{missing}");
    let plain = with(&[("public_url", "http://auth.example.com")]).unwrap_err();
    assert!(plain.contains("https://"), "{plain}");
    let url = ("public_url", "https://auth.example.com");
    let clear = with(&[
        url,
        ("smtp_url", "smtp://u:hunter2@mail.example.com?tls=none"),
    ])
    .unwrap_err();
    assert!(
        clear.contains("LATCHKEY_SMTP_URL") && !clear.contains("hunter2"),
        "{clear}"
    );
    assert!(with(&[url, ("smtp_url", "smtp://127.0.0.1:2525?tls=none")]).is_ok());
    assert!(with(&[url, ("smtp_url", "smtps://u:p@mail.example.com")]).is_ok());
    let typo = with(&[url, ("smtp_url", "smtp://mail.example.com?tls=maybe")]).unwrap_err();
    assert!(typo.contains("tls=maybe"), "{typo}");
    let from = Settings::from_pairs(&[("mail_from", "not an address")]).unwrap_err();
    assert!(from.to_string().contains("LATCHKEY_MAIL_FROM"), "{from}");
}

#[test]
fn secrets_never_show_in_debug_or_errors() {
    let s = Settings::from_pairs(&[("secret", "super-secret-value-that-is-long-enough")]).unwrap();
    assert!(!format!("{s:?}").contains("super-secret"));
    assert!(!format!("{:?}", s.describe()).contains("super-secret"));
}
