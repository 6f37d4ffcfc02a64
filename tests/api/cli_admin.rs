//! The operator's commands for users, sessions, keys, backups and migrations.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::Text;
use reqwest::StatusCode;
use serde_json::Value;

use crate::cli::{latchkey, text};
use crate::helpers::{assert_invalid_token, assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn user_list_shows_everyone_and_user_delete_needs_yes_and_ends_their_sessions() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    app.signed_in("bob").await;

    let listed = latchkey(&app, &["user", "list"], None);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let listing = text(&listed.stdout);
    assert!(
        listing.contains("alice") && listing.contains("bob"),
        "{listing}"
    );
    assert!(listing.contains("2 users"));

    let unconfirmed = latchkey(&app, &["user", "delete", "alice"], None);
    assert!(!unconfirmed.status.success());
    assert!(text(&unconfirmed.stderr).contains("--yes"));
    app.refresh_ok(&alice.refresh).await;

    let deleted = latchkey(&app, &["user", "delete", "alice", "--yes"], None);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    assert_problem(app.refresh(&alice.refresh).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        app.login("alice", crate::helpers::PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let again = latchkey(&app, &["user", "delete", "alice", "--yes"], None);
    assert!(!again.status.success());
}

#[tokio::test]
async fn sessions_list_and_revoke_one_or_all_of_a_user() {
    let app = spawn_app().await;
    let first = app.signed_in("alice").await;
    let second = app.login_ok("alice").await;
    let bob = app.signed_in("bob").await;
    let first_id = app.me(&first.access).await["session_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let listed = latchkey(&app, &["sessions", "list", "--user", "alice"], None);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let listing = text(&listed.stdout);
    assert!(
        listing.contains(&first_id) && listing.contains("2 live sessions"),
        "{listing}"
    );
    assert!(!listing.contains("bob"));

    let one = latchkey(&app, &["sessions", "revoke", &first_id], None);
    assert!(one.status.success(), "{}", text(&one.stderr));
    assert_problem(app.refresh(&first.refresh).await, StatusCode::UNAUTHORIZED).await;
    let second = app.refresh_ok(&second.refresh).await;

    let all = latchkey(&app, &["sessions", "revoke", "--user", "alice"], None);
    assert!(all.status.success());
    assert!(text(&all.stdout).contains("1 session of alice ended"));
    assert_problem(app.refresh(&second.refresh).await, StatusCode::UNAUTHORIZED).await;
    app.refresh_ok(&bob.refresh).await;

    let nothing = latchkey(&app, &["sessions", "revoke"], None);
    assert!(!nothing.status.success());
}

#[tokio::test]
async fn keys_retire_drops_an_old_key_from_the_jwks_and_refuses_its_tokens() {
    let app = spawn_app_with(|s| s.key_reload_interval = Duration::from_secs(1)).await;
    let old = app.signed_in("alice").await;
    let old_kid = app.jwks().await["keys"][0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();

    let signing = latchkey(&app, &["keys", "retire", &old_kid], None);
    assert!(
        !signing.status.success(),
        "the signing key must not be retired"
    );
    assert!(
        text(&signing.stderr).contains("rotate"),
        "{}",
        text(&signing.stderr)
    );

    assert!(latchkey(&app, &["keys", "rotate"], None).status.success());
    let retired = latchkey(&app, &["keys", "retire", &old_kid], None);
    assert!(retired.status.success(), "{}", text(&retired.stderr));

    // The running server re-reads keys every second.
    let mut gone = false;
    for _ in 0..50 {
        let jwks: Value = app.jwks().await;
        if jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kid"] != old_kid.as_str())
        {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the retired key is still published");
    let refused = app.get("/api/me", &old.access).await;
    assert!(assert_invalid_token(&refused).contains("unknown key"));
    let listed = text(&latchkey(&app, &["keys", "list"], None).stdout);
    assert!(listed.contains(&old_kid));
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    username: String,
}

#[tokio::test]
async fn backup_writes_a_consistent_copy_while_the_server_runs() {
    let app = spawn_app().await;
    app.signed_in("alice").await;
    let path = app.dir.path().join("backup.db");
    let path_text = path.display().to_string();

    let backup = latchkey(&app, &["backup", &path_text], None);
    if app.dir.is_postgres() {
        assert!(!backup.status.success());
        assert!(
            text(&backup.stderr).contains("pg_dump"),
            "{}",
            text(&backup.stderr)
        );
        return;
    }
    assert!(backup.status.success(), "{}", text(&backup.stderr));

    let mut conn = SqliteConnection::establish(&path_text).unwrap();
    let names: Vec<Name> = diesel::sql_query("SELECT username FROM users")
        .load(&mut conn)
        .unwrap();
    assert_eq!(names.len(), 1);
    assert_eq!(names[0].username, "alice");
    let again = latchkey(&app, &["backup", &path_text], None);
    assert!(!again.status.success(), "a backup never overwrites a file");
    assert!(text(&again.stderr).contains("already there"));
}

#[tokio::test]
async fn migrate_applies_pending_migrations_and_openapi_prints_the_document() {
    let app = spawn_app().await;
    let current = latchkey(&app, &["migrate"], None);
    assert!(current.status.success(), "{}", text(&current.stderr));
    assert!(text(&current.stdout).contains("applied 0 migrations"));

    let fresh = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("migrate")
        .env("LATCHKEY_DATABASE_URL", app.dir.path().join("fresh.db"))
        .env("LATCHKEY_SECRET", crate::helpers::TEST_SECRET)
        .output()
        .unwrap();
    assert!(fresh.status.success(), "{}", text(&fresh.stderr));
    assert!(
        !text(&fresh.stdout).contains("applied 0"),
        "{}",
        text(&fresh.stdout)
    );

    let printed = latchkey(&app, &["openapi"], None);
    let doc: Value = serde_json::from_slice(&printed.stdout).unwrap();
    let served: Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc, served);
}

#[tokio::test]
async fn health_exits_0_when_the_server_is_ready_and_1_when_nothing_answers() {
    let app = spawn_app().await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    let ask = |addr: String| {
        std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .arg("health")
            .env("LATCHKEY_ADDR", addr)
            .output()
            .unwrap()
    };
    let up = tokio::task::spawn_blocking(move || ask(format!("0.0.0.0:{port}")))
        .await
        .unwrap();
    assert!(up.status.success(), "{}", text(&up.stderr));
    assert!(text(&up.stdout).contains("ready"));

    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = free.local_addr().unwrap().to_string();
    drop(free);
    let down = tokio::task::spawn_blocking(move || ask(nobody))
        .await
        .unwrap();
    assert_eq!(down.status.code(), Some(1));
    assert!(text(&down.stderr).contains("not ready"));
}
