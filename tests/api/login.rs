use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{PASSWORD, assert_problem, spawn_app};

#[tokio::test]
async fn login_returns_an_access_token_and_a_refresh_token() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;

    let response = app.login("alice", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["refresh_expires_in"], 7 * 24 * 3600);
    assert_eq!(body["refresh_token"].as_str().unwrap().len(), 43);
    assert_eq!(body["access_token"].as_str().unwrap().split('.').count(), 3);
}

#[tokio::test]
async fn login_is_case_insensitive_and_normalises_the_username() {
    let app = spawn_app().await;
    app.register("Alice", PASSWORD).await;
    for spelling in ["alice", "ALICE", " Alice ", "ａｌｉｃｅ"] {
        assert_eq!(
            app.login(spelling, PASSWORD).await.status(),
            StatusCode::OK,
            "{spelling}"
        );
    }
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_401() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;

    let wrong_password = assert_problem(
        app.login("alice", "not the password at all").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let unknown_user = assert_problem(
        app.login("nobody-here", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    assert_eq!(wrong_password, unknown_user);
    assert_eq!(wrong_password["detail"], "Invalid username or password.");
}

#[tokio::test]
async fn a_password_is_never_truncated_at_72_bytes() {
    let app = spawn_app().await;
    let long = "a-very-long-passphrase-".repeat(4); // 92 bytes
    app.register("alice", &long).await;

    assert_eq!(
        app.login("alice", &long[..72]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.login("alice", &long).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn passwords_are_nfkc_normalised_at_register_and_login_alike() {
    let app = spawn_app().await;
    // "ﬁ" (U+FB01) is compatibility-equal to "fi"; "Å" composed and decomposed are equal.
    app.register("alice", "\u{FB01}ne passphrase A\u{030A}")
        .await;
    assert_eq!(
        app.login("alice", "fine passphrase \u{00C5}")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn each_login_is_a_separate_session() {
    let app = spawn_app().await;
    let first = app.signed_in("alice").await;
    let second = app.login_ok("alice").await;
    assert_ne!(
        app.me(&first.access).await["session_id"],
        app.me(&second.access).await["session_id"]
    );
}
