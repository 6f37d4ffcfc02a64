//! Per-account sign-in throttle: 5 free failures, then waits that double; never permanent.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app};

const WRONG: &str = "definitely not the password";

async fn fail_times(app: &TestApp, username: &str, times: usize) {
    for _ in 0..times {
        assert_eq!(
            app.login(username, WRONG).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

fn retry_after(response: &reqwest::Response) -> i64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn after_five_failures_even_the_right_password_gets_429_with_retry_after() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    fail_times(&app, "alice", 5).await;

    let response = app.login("alice", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&response), 1);
    let body = assert_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(body["code"], "too_many_attempts");
}

#[tokio::test]
async fn unknown_usernames_are_throttled_exactly_like_real_ones() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    fail_times(&app, "alice", 5).await;
    fail_times(&app, "nobody-by-this-name", 5).await;

    let known = app.login("alice", WRONG).await;
    let unknown = app.login("nobody-by-this-name", WRONG).await;

    assert_eq!(known.status(), unknown.status());
    assert_eq!(retry_after(&known), retry_after(&unknown));
    let known: Value = known.json().await.unwrap();
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(known, unknown);
}

#[tokio::test]
async fn waits_double_and_a_successful_sign_in_resets_the_count() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    fail_times(&app, "alice", 5).await;
    app.clock.advance(1);
    fail_times(&app, "alice", 1).await; // the 6th failure: wait 2 s
    assert_eq!(retry_after(&app.login("alice", PASSWORD).await), 2);
    app.clock.advance(2);
    fail_times(&app, "alice", 1).await; // the 7th: wait 4 s
    assert_eq!(retry_after(&app.login("alice", PASSWORD).await), 4);

    app.clock.advance(4);
    app.login_ok("alice").await;
    // Reset: five more failures are free again.
    fail_times(&app, "alice", 5).await;
}

#[tokio::test]
async fn the_throttle_survives_a_restart() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    fail_times(&app, "alice", 5).await;
    for wait in [1, 2, 4] {
        app.clock.advance(wait);
        fail_times(&app, "alice", 1).await;
    }
    // Eight failures in a row: locked for 8 s, across a restart.
    let app = app.restart().await;
    assert_eq!(
        app.login("alice", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn an_admin_sees_and_clears_a_throttle() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    app.register("Alice", PASSWORD).await;
    fail_times(&app, "alice", 5).await;

    let listed: Value = app
        .get("/api/admin/throttles", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    let row = &listed["items"][0];
    // The account's name as registered (a throttle stores no typed name).
    assert_eq!(row["username"], "Alice");
    assert_eq!(row["scope"], "untrusted");
    assert_eq!(row["failures"], 5);
    assert_eq!(row["locked"], true);

    let cleared = app
        .delete("/api/admin/throttles/ALICE", &admin.access)
        .await;
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    app.login_ok("alice").await;
    let again = app
        .delete("/api/admin/throttles/alice", &admin.access)
        .await;
    assert_problem(again, StatusCode::NOT_FOUND).await;

    let user = app.login_ok("alice").await;
    assert_problem(
        app.get("/api/admin/throttles", &user.access).await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn the_login_page_says_when_to_try_again() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    fail_times(&app, "alice", 5).await;
    let browser = app.browser();

    let response = browser
        .submit(
            "/login",
            "/login",
            &[("username", "alice"), ("password", PASSWORD)],
        )
        .await;

    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Too many failed sign-ins")
    );
}
