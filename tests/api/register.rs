use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{PASSWORD, assert_problem, spawn_app};

#[tokio::test]
async fn register_creates_a_user_with_the_user_role() {
    let app = spawn_app().await;

    let response = app.register("Alice", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["username"], "Alice");
    assert_eq!(body["role"], "user");
    assert_eq!(body["id"].as_str().unwrap().len(), 36);
}

#[tokio::test]
async fn usernames_are_taken_case_insensitively_and_after_nfkc() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("Alice", PASSWORD).await.status(),
        StatusCode::CREATED
    );

    for clash in ["alice", "ALICE", "  Alice  ", "ａｌｉｃｅ"] {
        let body = assert_problem(app.register(clash, PASSWORD).await, StatusCode::CONFLICT).await;
        assert_eq!(body["code"], "username_taken");
    }
}

#[tokio::test]
async fn invalid_usernames_and_passwords_get_422_with_field_errors() {
    let app = spawn_app().await;
    let cases = [
        ("ab", PASSWORD, "username"),
        (&*"x".repeat(65), PASSWORD, "username"),
        ("tab\there", PASSWORD, "username"),
        ("bob", "short pass", "password"),
        ("bob", &*"p".repeat(257), "password"),
    ];
    for (username, password, field) in cases {
        let body = assert_problem(
            app.register(username, password).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    }

    // Both problems are reported at once.
    let body = assert_problem(
        app.register("x", "short").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn passwords_of_any_unicode_up_to_256_characters_are_accepted() {
    let app = spawn_app().await;
    let password = "пароль🔑".repeat(32); // 256 characters, far more than 72 bytes
    assert_eq!(
        app.register("unicode", &password).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.login("unicode", &password).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn registration_can_be_closed() {
    let app =
        crate::helpers::spawn_app_with(|s| s.registration = latchkey::config::Registration::Closed)
            .await;
    let body = assert_problem(app.register("alice", PASSWORD).await, StatusCode::FORBIDDEN).await;
    assert_eq!(body["code"], "registration_closed");
}

#[tokio::test]
async fn common_and_guessable_passwords_are_refused_saying_why() {
    let app = spawn_app().await;
    for weak in ["password1234", "qwertyuiop123", "bobbybobby2024"] {
        let body = assert_problem(
            app.register("bobby", weak).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "password");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("too easy to guess"),
            "{weak}: {body}"
        );
    }
}
