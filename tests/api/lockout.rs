//! Throttles that cannot lock the owner out: a device that signed in before has a counter of its
//! own (OWASP's device cookies; review item 19).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app_with};

/// An attacker who knows the username fails again each time the lock runs out (the longest is
/// 15 minutes, so four well-timed failures an hour): without trusted devices the account stays
/// locked for good. Returns with the account freshly locked for 15 minutes.
async fn attacker_keeps_the_account_locked(app: &TestApp, failures: usize) {
    for _ in 0..failures {
        app.clock.advance(15 * 60);
        let status = app.login("alice", "guessing again").await.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

async fn without_rate_limits() -> TestApp {
    spawn_app_with(|s| s.rate_limit = false).await
}

#[tokio::test]
async fn an_attackers_slow_failures_never_make_the_owners_trusted_browser_wait() {
    let app = without_rate_limits().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    browser.sign_in("alice").await; // this browser is now trusted for alice
    browser.submit("/", "/logout", &[]).await;

    // Ramp up to the 15-minute lock, then keep it on through the day.
    attacker_keeps_the_account_locked(&app, 15).await;
    for round in 0..12 {
        attacker_keeps_the_account_locked(&app, 1).await;
        app.clock.advance(5 * 60); // the owner comes by, 10 minutes before the lock runs out
        let signed_in = browser
            .submit(
                "/login",
                "/login",
                &[("username", "alice"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER, "round {round}");
        browser.submit("/", "/logout", &[]).await;
    }
    // Meanwhile attempts from elsewhere are throttled as before.
    assert_problem(
        app.login("alice", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
}

async fn login_with_device(
    app: &TestApp,
    password: &str,
    device: Option<&str>,
) -> (StatusCode, Value) {
    let response = app
        .post_json(
            "/api/auth/login",
            &json!({ "username": "alice", "password": password, "device_token": device }),
        )
        .await;
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn an_api_client_that_sends_back_its_device_token_is_not_locked_out() {
    let app = without_rate_limits().await;
    app.register("alice", PASSWORD).await;
    let (status, first) = login_with_device(&app, PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK);
    let device = first["device_token"].as_str().unwrap().to_owned();

    attacker_keeps_the_account_locked(&app, 15).await;
    for _ in 0..6 {
        attacker_keeps_the_account_locked(&app, 1).await;
        app.clock.advance(5 * 60);
        let (status, body) = login_with_device(&app, PASSWORD, Some(&device)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["device_token"].is_string());
    }
    // The token of one account says nothing for another.
    app.register("bob", PASSWORD).await;
    let for_bob = app
        .post_json(
            "/api/auth/login",
            &json!({ "username": "bob", "password": "wrong", "device_token": device }),
        )
        .await;
    assert_eq!(for_bob.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_trusted_device_that_keeps_failing_is_throttled_on_its_own_counter() {
    let app = without_rate_limits().await;
    app.register("alice", PASSWORD).await;
    let (_, first) = login_with_device(&app, PASSWORD, None).await;
    let device = first["device_token"].as_str().unwrap().to_owned();

    for _ in 0..5 {
        let (status, _) = login_with_device(&app, "wrong", Some(&device)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = login_with_device(&app, PASSWORD, Some(&device)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // Its failures did not lock anyone else out.
    app.login_ok("alice").await;
}

#[tokio::test]
async fn a_forged_or_foreign_device_token_counts_as_untrusted() {
    let app = without_rate_limits().await;
    app.register("alice", PASSWORD).await;
    for _ in 0..5 {
        app.login("alice", "wrong").await;
    }
    for forged in ["", "not.a.token", &"A".repeat(300)] {
        let (status, _) = login_with_device(&app, PASSWORD, Some(forged)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{forged:?}");
    }
}
