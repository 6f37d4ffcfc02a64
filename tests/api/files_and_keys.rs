//! Files stay private, the database and the keys stay what they claim, secrets stay out of
//! `config check` (review items 13 and 20 to 23).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::cli::{latchkey, text};
use crate::helpers::{PASSWORD, TestApp, assert_invalid_token, spawn_app, spawn_app_with};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The binary run the way a newcomer does (`data/` in the working folder, the generated secret
/// file), under umask 000, with extra arguments.
fn run_with_umask_000(dir: &Path, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(r#"umask 000 && exec "$@""#)
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .current_dir(dir)
        .env("LATCHKEY_BCRYPT_COST", "4")
        .env("LATCHKEY_LOG", "warn")
        .env_remove("LATCHKEY_SECRET")
        .env_remove("LATCHKEY_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn the_data_folder_database_wal_shm_secret_and_backups_are_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    // Creates data/, the secret and the database, and migrates it (WAL and SHM appear).
    let listed = run_with_umask_000(dir.path(), &["user", "list"]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let data = dir.path().join("data");
    let backup = dir.path().join("backup.db");
    let backed_up = run_with_umask_000(dir.path(), &["backup", backup.to_str().unwrap()]);
    assert!(backed_up.status.success(), "{}", text(&backed_up.stderr));

    assert_eq!(mode(&data), 0o700, "data/");
    for file in ["latchkey.db", "secret.key"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    for file in ["latchkey.db-wal", "latchkey.db-shm"] {
        if data.join(file).exists() {
            assert_eq!(mode(&data.join(file)), 0o600, "{file}");
        }
    }
    assert_eq!(mode(&backup), 0o600, "the backup");
}

#[tokio::test]
async fn a_backup_is_never_written_through_a_symbolic_link() {
    let app = spawn_app().await;
    if app.dir.is_postgres() {
        return; // `latchkey backup` copies SQLite databases only
    }
    let elsewhere = app.dir.path().join("elsewhere.db");
    let dangling = app.dir.path().join("dangling.db");
    std::os::unix::fs::symlink(&elsewhere, &dangling).unwrap();
    let existing = app.dir.path().join("existing.db");
    std::fs::write(&elsewhere, b"").unwrap();
    std::os::unix::fs::symlink(&elsewhere, &existing).unwrap();
    std::fs::remove_file(&elsewhere).unwrap();

    for link in [&dangling, &existing] {
        let refused = latchkey(&app, &["backup", link.to_str().unwrap()], None);
        assert!(!refused.status.success(), "{}", link.display());
        assert!(
            text(&refused.stderr).contains("symbolic link"),
            "{}",
            text(&refused.stderr)
        );
    }
    assert!(!elsewhere.exists(), "the link was followed");
}

async fn ready(app: &TestApp) -> StatusCode {
    app.client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_database_file_deleted_under_the_running_server_turns_it_unready_and_refuses_writes() {
    let app = spawn_app().await;
    if app.dir.is_postgres() {
        return;
    }
    let tokens = app.signed_in("alice").await;
    let database = Path::new(&app.settings.database_url).to_path_buf();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
    }

    assert_eq!(ready(&app).await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.register("bob", PASSWORD).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        app.refresh(&tokens.refresh).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn a_database_file_replaced_under_the_running_server_turns_it_unready() {
    let app = spawn_app().await;
    if app.dir.is_postgres() {
        return;
    }
    app.signed_in("alice").await;
    let database = app.settings.database_url.clone();
    let copy = format!("{database}.copy");
    std::fs::copy(&database, &copy).unwrap();
    std::fs::rename(&copy, &database).unwrap();

    assert_eq!(ready(&app).await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.register("bob", PASSWORD).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

fn start_without_inline_secret(dir: &Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .current_dir(dir)
        .env("LATCHKEY_ADDR", "127.0.0.1:0")
        .env("LATCHKEY_LOG", "warn")
        .env_remove("LATCHKEY_SECRET")
        .env_remove("LATCHKEY_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_secret_file_beside_a_missing_database_stops_the_server_unless_told_to_start_over() {
    let dir = tempfile::tempdir().unwrap();
    let listed = run_with_umask_000(dir.path(), &["user", "list"]);
    assert!(listed.status.success());
    std::fs::remove_file(dir.path().join("data/latchkey.db")).unwrap();

    let refused = start_without_inline_secret(dir.path(), &[])
        .wait_with_output()
        .unwrap();
    assert!(!refused.status.success());
    let message = text(&refused.stderr);
    assert!(
        message.contains("data was lost") && message.contains("--new-database"),
        "{message}"
    );
    assert!(
        !dir.path().join("data/latchkey.db").exists(),
        "nothing was created"
    );

    let mut started = start_without_inline_secret(dir.path(), &["--new-database"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.path().join("data/latchkey.db").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(dir.path().join("data/latchkey.db").exists());
    assert!(started.try_wait().unwrap().is_none(), "it runs");
    started.kill().unwrap();
}

#[tokio::test]
async fn a_retired_key_is_refused_by_a_running_instance_within_about_a_second() {
    // No periodic reload within the test: only the key watch can pick the change up.
    let app = spawn_app_with(|s| {
        s.key_reload_interval = Duration::from_secs(3600);
        s.jwks_max_age = Duration::from_secs(1);
    })
    .await;
    let old = app.signed_in("alice").await;
    let old_kid = app.jwks().await["keys"][0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(latchkey(&app, &["keys", "rotate"], None).status.success());
    let retired = latchkey(&app, &["keys", "retire", &old_kid], None);
    assert!(retired.status.success(), "{}", text(&retired.stderr));
    let started = Instant::now();

    // The key watch runs every second; the 10 s here only bound a stuck test.
    let mut refused = false;
    while started.elapsed() < Duration::from_secs(10) {
        if app.get("/api/me", &old.access).await.status() == StatusCode::UNAUTHORIZED {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "the retired key still verifies after 10 s");
    assert_invalid_token(&app.get("/api/me", &old.access).await);
    let kids = app.jwks().await.to_string();
    assert!(!kids.contains(&old_kid));
}

#[tokio::test]
async fn a_new_key_signs_only_after_every_cached_jwks_can_have_it_and_the_cli_says_when() {
    let app = spawn_app_with(|s| {
        s.key_reload_interval = Duration::from_secs(1);
        s.jwks_max_age = Duration::from_secs(4);
    })
    .await;
    // max(1 s, 4 s) + 1 s key watch + 1 s for whole-second timestamps.
    let publish = 6;
    app.clock.advance(publish); // the first key has been out long enough
    let kid_of = |access: &str| {
        let header = access.split('.').next().unwrap();
        use base64::Engine;
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&json).unwrap()["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    app.register("alice", PASSWORD).await;
    let old_kid = kid_of(&app.login_ok("alice").await.access);

    let auth = app.auth();
    // Rotated on the server's (moved) clock; the command line's message is checked below.
    let rotate = auth.clone();
    tokio::task::spawn_blocking(move || rotate.rotate_keys())
        .await
        .unwrap()
        .unwrap();
    let reload = || {
        let auth = auth.clone();
        tokio::task::spawn_blocking(move || auth.reload_keys())
    };
    for _ in 0..publish {
        reload().await.unwrap().unwrap();
        assert_eq!(kid_of(&app.login_ok("alice").await.access), old_kid);
        app.clock.advance(1);
    }
    reload().await.unwrap().unwrap();
    assert_ne!(kid_of(&app.login_ok("alice").await.access), old_kid);

    let rotated = latchkey(&app, &["keys", "rotate"], None);
    let printed = text(&rotated.stdout);
    assert!(printed.contains(&format!("(in {publish} s)")), "{printed}");
}

#[test]
fn config_check_never_prints_a_database_password() {
    for url in [
        "postgres://db.internal/latchkey?user=lk&password=s3cr3tpw",
        "host=db.internal user=lk password=s3cr3tpw dbname=latchkey",
        "host=db.internal password='s3cr3tpw with spaces' dbname=latchkey",
    ] {
        let checked = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(["config", "check"])
            .env("LATCHKEY_DATABASE_URL", url)
            .output()
            .unwrap();
        let printed = format!("{}{}", text(&checked.stdout), text(&checked.stderr));
        assert!(!printed.contains("s3cr3tpw"), "{printed}");
        assert!(printed.contains("password=***"), "{printed}");
    }
}
