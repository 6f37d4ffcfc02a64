//! The cookie flow behind the JavaScript helper: /auth/refresh, /auth/logout, login with set_cookie.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::{cookie_value, set_cookie};
use crate::helpers::{PASSWORD, assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn cookie_refresh_rotates_the_cookie_and_returns_only_an_access_token() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    let signed_in = browser.sign_in("alice").await;
    let first = set_cookie(&signed_in, "latchkey_refresh").unwrap();

    let response = browser.cookie_refresh().await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let rotated = set_cookie(&response, "latchkey_refresh").expect("successor cookie");
    assert_ne!(rotated.split(';').next(), first.split(';').next());
    assert!(
        rotated.contains("HttpOnly")
            && rotated.contains("SameSite=Strict")
            && rotated.contains("Path=/")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(
        body.get("refresh_token").is_none(),
        "the refresh token never reaches JavaScript"
    );
    app.me(body["access_token"].as_str().unwrap()).await;
}

#[tokio::test]
async fn cookie_refresh_needs_the_custom_header_and_a_same_origin() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    browser.sign_in("alice").await;

    let bare = browser.fetch_post("/auth/refresh", false, None).await;
    assert_problem(bare, StatusCode::FORBIDDEN).await;

    let foreign = browser
        .fetch_post("/auth/refresh", true, Some("https://evil.example"))
        .await;
    assert_problem(foreign, StatusCode::FORBIDDEN).await;

    let same_origin = browser
        .fetch_post("/auth/refresh", true, Some(&app.address))
        .await;
    assert_eq!(same_origin.status(), StatusCode::OK);
}

#[tokio::test]
async fn cookie_refresh_failures_get_401_and_clear_the_cookie() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;

    let nobody = app.browser().cookie_refresh().await;
    assert!(
        set_cookie(&nobody, "latchkey_refresh")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_problem(nobody, StatusCode::UNAUTHORIZED).await;

    // A replayed (stolen) cookie after the grace window gets the same successor the victim's
    // browser holds; when both use that successor, the second use ends the session, for the
    // thief and the victim.
    let browser = app.browser();
    let signed_in = browser.sign_in("alice").await;
    let original = cookie_value(&signed_in, "latchkey_refresh").unwrap();
    assert_eq!(browser.cookie_refresh().await.status(), StatusCode::OK);
    app.clock.advance(11);
    let stolen_successor = app.refresh_ok(&original).await.refresh;
    app.clock.advance(1);
    assert_eq!(browser.cookie_refresh().await.status(), StatusCode::OK);
    app.clock.advance(11);
    let replay = assert_problem(
        app.refresh(&stolen_successor).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(replay["code"], "refresh_token_reused");
    let victim = browser.cookie_refresh().await;
    assert!(
        set_cookie(&victim, "latchkey_refresh")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_problem(victim, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn api_login_can_put_the_refresh_token_in_the_cookie() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();

    let response = browser
        .client
        .post(browser.url("/api/auth/login"))
        .json(&json!({ "username": "alice", "password": PASSWORD, "set_cookie": true }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert!(set_cookie(&response, "latchkey_refresh").is_some());
    let body: Value = response.json().await.unwrap();
    assert!(body.get("refresh_token").is_none());
    assert!(body["access_token"].is_string());
    assert_eq!(browser.cookie_refresh().await.status(), StatusCode::OK);
}

#[tokio::test]
async fn cookie_logout_revokes_and_clears() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    browser.sign_in("alice").await;

    let bare = browser.fetch_post("/auth/logout", false, None).await;
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    let response = browser.fetch_post("/auth/logout", true, None).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(
        set_cookie(&response, "latchkey_refresh")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        browser.cookie_refresh().await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(browser.get("/").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn over_https_cookies_are_secure_with_the_host_prefix() {
    let app = spawn_app_with(|s| s.cookie_secure = true).await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    let login_page = browser.get("/login").await;
    assert_eq!(
        login_page.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let page_cookie =
        set_cookie(&login_page, "__Host-latchkey_session").expect("prefixed page cookie");
    assert!(page_cookie.contains("Secure"));

    let response = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({ "username": "alice", "password": PASSWORD, "set_cookie": true }))
        .send()
        .await
        .unwrap();
    let refresh =
        set_cookie(&response, "__Host-latchkey_refresh").expect("prefixed refresh cookie");
    assert!(
        refresh.contains("Secure") && refresh.contains("Path=/") && !refresh.contains("Domain")
    );
}
