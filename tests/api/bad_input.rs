//! Hostile and sloppy input gets a clear 4xx problem, never a 500.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, assert_problem, spawn_app};

#[tokio::test]
async fn a_body_over_16_kib_gets_413() {
    let app = spawn_app().await;
    let huge = json!({ "username": "alice", "password": "x".repeat(17 * 1024) });
    let body = assert_problem(
        app.post_json("/api/auth/register", &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("16 KiB"));
}

#[tokio::test]
async fn malformed_json_gets_400_and_the_wrong_shape_gets_422() {
    let app = spawn_app().await;
    for path in [
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/revoke",
    ] {
        let malformed = app
            .client
            .post(app.url(path))
            .header("content-type", "application/json")
            .body(r#"{"username": "#)
            .send()
            .await
            .unwrap();
        assert_problem(malformed, StatusCode::BAD_REQUEST).await;

        let wrong_shape = app
            .post_json(path, &json!({ "username": 5, "refresh_token": [] }))
            .await;
        assert_problem(wrong_shape, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_gets_415() {
    let app = spawn_app().await;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = app
            .client
            .post(app.url("/api/auth/login"))
            .body("username=alice&password=x");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let body = assert_problem(
            request.send().await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )
        .await;
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("application/json")
        );
    }
}

#[tokio::test]
async fn unknown_routes_get_a_404_problem_and_wrong_methods_a_405() {
    let app = spawn_app().await;
    let missing = app
        .client
        .get(app.url("/api/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_problem(missing, StatusCode::NOT_FOUND).await;
    let wrong_method = app
        .client
        .get(app.url("/api/auth/login"))
        .send()
        .await
        .unwrap();
    assert_problem(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test]
async fn odd_but_valid_json_never_causes_a_500() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let strange = [
        json!({ "username": "alice\u{0}", "password": PASSWORD }),
        json!({ "username": "", "password": "" }),
        json!({ "username": "a".repeat(10_000), "password": "p" }),
        json!({ "username": "🦀🦀🦀", "password": "\u{202E}\u{200B}".repeat(100) }),
        json!({ "username": "alice", "password": PASSWORD, "extra": { "nested": [1, 2, 3] } }),
    ];
    for body in strange {
        for path in ["/api/auth/register", "/api/auth/login"] {
            let status = app.post_json(path, &body).await.status();
            assert!(
                status.is_client_error() || status.is_success(),
                "{path} {body}: {status}"
            );
        }
    }
    let tokens = app.login_ok("alice").await;
    // NUL fits in no id (and PostgreSQL cannot even compare it): refused before any lookup.
    let nul = app.delete("/api/sessions/%00", &tokens.access).await;
    let body = assert_problem(nul, StatusCode::BAD_REQUEST).await;
    assert!(body["detail"].as_str().unwrap().contains("NUL"));
    for path in [
        "/api/sessions/..%2F..%2Fetc",
        &format!("/api/sessions/{}", "x".repeat(2000)),
    ] {
        let status = app.delete(path, &tokens.access).await.status();
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn stored_data_survives_bad_requests() {
    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;
    for _ in 0..3 {
        app.register("ALICE", "short").await;
        app.login("alice", "wrong wrong wrong").await;
        app.refresh("garbage").await;
    }
    app.refresh_ok(&tokens.refresh).await;
    assert_eq!(app.login("alice", PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_locked_database_gets_503_with_a_problem_and_recovers_by_itself() {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;

    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;
    // Another client holds a lock for longer than the server waits for one (5 s).
    let url = &app.settings.database_url;
    let mut other: Box<dyn SimpleConnection> = if app.dir.is_postgres() {
        let mut other = diesel::PgConnection::establish(url).unwrap();
        other
            .batch_execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            .unwrap();
        Box::new(other)
    } else {
        let mut other = diesel::SqliteConnection::establish(url).unwrap();
        other.batch_execute("BEGIN EXCLUSIVE").unwrap();
        Box::new(other)
    };

    let response = app.register("bob", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let body = assert_problem(response, StatusCode::SERVICE_UNAVAILABLE).await;
    let detail = body["detail"].as_str().unwrap();
    assert!(
        !detail.contains("lock") && !detail.contains("sqlite") && !detail.contains("statement"),
        "{detail}"
    );
    // Reads still work meanwhile (WAL): access tokens verify, health answers.
    app.me(&tokens.access).await;

    other.batch_execute("COMMIT").unwrap();
    assert_eq!(
        app.register("bob", PASSWORD).await.status(),
        StatusCode::CREATED
    );
    app.refresh_ok(&tokens.refresh).await;
}
