//! Per-IP token buckets on sign-in, registration and refresh; X-Forwarded-For only from
//! trusted proxies.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app_with};

async fn login_from(
    app: &TestApp,
    forwarded_for: Option<&str>,
    username: &str,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({ "username": username, "password": PASSWORD }));
    if let Some(ip) = forwarded_for {
        request = request.header("X-Forwarded-For", ip);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn an_address_that_exceeds_the_login_limit_gets_429_with_retry_after() {
    let app = spawn_app_with(|s| s.rate_limit_login = 3).await;
    app.register("alice", PASSWORD).await;
    for username in ["alice", "bob", "carol"] {
        assert_ne!(
            login_from(&app, None, username).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    let response = login_from(&app, None, "alice").await;

    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    let body = assert_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(body["code"], "rate_limited");
}

#[tokio::test]
async fn register_and_refresh_have_their_own_limits() {
    let app = spawn_app_with(|s| {
        s.rate_limit_register = 1;
        s.rate_limit_refresh = 2;
    })
    .await;
    assert_eq!(
        app.register("alice", PASSWORD).await.status(),
        StatusCode::CREATED
    );
    assert_problem(
        app.register("bob", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;

    let tokens = app.login_ok("alice").await;
    let next = app.refresh_ok(&tokens.refresh).await;
    let next = app.refresh_ok(&next.refresh).await;
    assert_problem(
        app.refresh(&next.refresh).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
}

#[tokio::test]
async fn rate_limit_off_switches_the_per_ip_limits_off() {
    let app = spawn_app_with(|s| {
        s.rate_limit = false;
        s.rate_limit_login = 1;
    })
    .await;
    app.register("alice", PASSWORD).await;
    for _ in 0..5 {
        assert_eq!(
            login_from(&app, None, "alice").await.status(),
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
    let trusting = spawn_app_with(|s| {
        s.rate_limit_login = 2;
        s.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    trusting.register("alice", PASSWORD).await;
    for _ in 0..2 {
        assert_eq!(
            login_from(&trusting, Some("203.0.113.5"), "alice")
                .await
                .status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        login_from(&trusting, Some("203.0.113.5"), "alice")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy has its own bucket; a spoofed left-most entry is ignored.
    let other = login_from(&trusting, Some("198.51.100.7, 203.0.113.9"), "alice").await;
    assert_eq!(other.status(), StatusCode::OK);
    let tokens: Value = other.json().await.unwrap();
    let sessions: Vec<Value> = trusting
        .get("/api/sessions", tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert!(
        sessions.iter().any(|s| s["ip"] == "203.0.113.9"),
        "{sessions:?}"
    );

    // Without trusted proxies the header is ignored: every "client" is the peer.
    let direct = spawn_app_with(|s| s.rate_limit_login = 2).await;
    direct.register("alice", PASSWORD).await;
    login_from(&direct, Some("203.0.113.1"), "alice").await;
    login_from(&direct, Some("203.0.113.2"), "alice").await;
    assert_eq!(
        login_from(&direct, Some("203.0.113.3"), "alice")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn the_login_page_is_limited_too() {
    let app = spawn_app_with(|s| s.rate_limit_login = 1).await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    browser.sign_in("alice").await;
    let again = app.browser();
    let response = again
        .submit(
            "/login",
            "/login",
            &[("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    let status = response.status();
    let retry = response.headers().contains_key("retry-after");
    let html = response.text().await.unwrap();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
    assert!(retry);
    assert!(html.contains("Too many attempts"));
}
