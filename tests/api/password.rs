//! Changing a password: needs the current one, and signs out every other session at once.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::location;
use crate::helpers::{PASSWORD, assert_invalid_token, assert_problem, spawn_app};

const NEW_PASSWORD: &str = "a brand new passphrase";

#[tokio::test]
async fn changing_the_password_revokes_every_other_session() {
    let app = spawn_app().await;
    let here = app.signed_in("alice").await;
    let laptop = app.login_ok("alice").await;
    let phone = app.login_ok("alice").await;

    let response = app
        .client
        .post(app.url("/api/me/password"))
        .bearer_auth(&here.access)
        .json(&json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "revoked_sessions": 2 })
    );
    assert_problem(app.refresh(&laptop.refresh).await, StatusCode::UNAUTHORIZED).await;
    assert_problem(app.refresh(&phone.refresh).await, StatusCode::UNAUTHORIZED).await;
    app.refresh_ok(&here.refresh).await;
    assert_eq!(
        app.login("alice", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("alice", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_wrong_current_password_or_a_weak_new_one_is_refused() {
    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;
    let change = |current: &str, new: &str| {
        app.client
            .post(app.url("/api/me/password"))
            .bearer_auth(&tokens.access)
            .json(&json!({ "current_password": current, "new_password": new }))
            .send()
    };

    let wrong = assert_problem(
        change("not my password", NEW_PASSWORD).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(wrong["errors"][0]["field"], "current_password");
    let weak = assert_problem(
        change(PASSWORD, "short").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(weak["errors"][0]["field"], "new_password");
    // Nothing changed.
    assert_eq!(app.login("alice", PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn changing_the_password_needs_a_live_session() {
    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;
    let body = json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD });

    let anonymous = app.post_json("/api/me/password", &body).await;
    assert_invalid_token(&anonymous);

    app.logout(&tokens.access).await;
    let revoked = app
        .client
        .post(app.url("/api/me/password"))
        .bearer_auth(&tokens.access)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_invalid_token(&revoked);
}

#[tokio::test]
async fn the_change_password_page_works_without_javascript() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    browser.sign_in("alice").await;
    let other = app.browser();
    other.sign_in("alice").await;

    let differ = browser
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", "something else"),
            ],
        )
        .await;
    assert_eq!(differ.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(differ.text().await.unwrap().contains("differ"));

    let response = browser
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&response), "/");
    assert!(
        browser
            .page("/")
            .await
            .contains("Password changed. Signed out 1 other device.")
    );
    assert_eq!(other.get("/").await.status(), StatusCode::SEE_OTHER);
}
