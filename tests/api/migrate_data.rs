//! `latchkey migrate-data`: moving from SQLite to PostgreSQL signs nobody out. Runs when
//! LATCHKEY_TEST_POSTGRES_URL names a server.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;

use crate::cli::text;
use crate::helpers::{PASSWORD, TEST_SECRET, TestDir, start, test_settings};
use crate::test_db::{POSTGRES_URL_VAR, postgres_admin_url, postgres_database};

fn migrate_data(from: &str, to: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["migrate-data", "--from", from, "--to", to])
        .env("LATCHKEY_SECRET", TEST_SECRET)
        .env("LATCHKEY_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_session_started_on_sqlite_refreshes_on_postgres_after_migrate_data() {
    let Some(admin_url) = postgres_admin_url() else {
        eprintln!("skipped: {POSTGRES_URL_VAR} is not set");
        return;
    };
    // Before: a SQLite server with a live session, a rotated token, an admin, a throttle and
    // audit events.
    let dir = Arc::new(TestDir::sqlite());
    let sqlite = start(
        test_settings(&dir),
        dir.clone(),
        latchkey::auth::Clock::frozen(),
    )
    .await;
    let tokens = sqlite.signed_in("alice").await;
    let tokens = sqlite.refresh_ok(&tokens.refresh).await;
    let admin = sqlite.admin_signed_in("root").await;
    sqlite.login("alice", "not the password").await;
    let sqlite_url = sqlite.settings.database_url.clone();
    let events_before = sqlite.get("/api/admin/events", &admin.access).await;
    let events_before: Value = events_before.json().await.unwrap();
    sqlite.stop().await;

    let postgres = postgres_database(&admin_url);
    let moved = migrate_data(&sqlite_url, &postgres.url);
    assert!(moved.status.success(), "{}", text(&moved.stderr));
    let report = text(&moved.stdout);
    assert!(
        report
            .contains("copied 2 users, 2 sessions, 3 refresh tokens, 1 signing keys, 1 throttles"),
        "{report}"
    );
    assert!(!report.contains(TEST_SECRET));

    // After: the same secret on PostgreSQL. Nobody signs in again.
    let mut settings = test_settings(&dir);
    settings.database_url = postgres.url.clone();
    let moved_app = start(settings, dir.clone(), latchkey::auth::Clock::frozen()).await;
    assert_eq!(moved_app.me(&tokens.access).await["username"], "alice");
    let next = moved_app.refresh_ok(&tokens.refresh).await;
    moved_app.refresh_ok(&next.refresh).await;
    let events_after: Value = moved_app
        .get("/api/admin/events", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    let total = |events: &Value| events["total"].as_i64().unwrap();
    assert!(
        total(&events_after) >= total(&events_before) + 2,
        "the audit trail came along: {} then {}",
        total(&events_before),
        total(&events_after)
    );
    assert_eq!(
        moved_app.login("alice", PASSWORD).await.status(),
        StatusCode::OK
    );

    // A second copy into a database that now holds data is refused, and changes nothing.
    let again = migrate_data(&sqlite_url, &postgres.url);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("empty database"),
        "{}",
        text(&again.stderr)
    );
    moved_app
        .refresh_ok(&moved_app.login_ok("alice").await.refresh)
        .await;
}
