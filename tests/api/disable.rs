//! Disabling a user: sessions end, sign-ins get the generic refusal, enabling restores access.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::location;
use crate::helpers::{PASSWORD, TestApp, Tokens, assert_problem, spawn_app};

async fn admin_post(app: &TestApp, admin: &Tokens, path: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(&admin.access)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_disabled_user_is_signed_out_everywhere_and_refused_like_a_wrong_password() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    let first = app.signed_in("alice").await;
    let second = app.login_ok("alice").await;
    let alice_id = app.me(&first.access).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = admin_post(
        &app,
        &admin,
        &format!("/api/admin/users/{alice_id}/disable"),
    )
    .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "id": alice_id, "disabled": true, "changed": true, "revoked_sessions": 2 })
    );
    assert_problem(app.refresh(&first.refresh).await, StatusCode::UNAUTHORIZED).await;
    assert_problem(app.refresh(&second.refresh).await, StatusCode::UNAUTHORIZED).await;
    let disabled =
        assert_problem(app.login("alice", PASSWORD).await, StatusCode::UNAUTHORIZED).await;
    let unknown = assert_problem(
        app.login("nobody", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(disabled, unknown);
    let users: Value = app
        .get("/api/admin/users", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    let listed = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == alice_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(listed["disabled"], true);

    let enabled = admin_post(&app, &admin, &format!("/api/admin/users/{alice_id}/enable")).await;
    assert_eq!(enabled.status(), StatusCode::OK);
    app.login_ok("alice").await;
}

#[tokio::test]
async fn disabling_needs_an_admin_and_an_existing_other_user() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    let user = app.signed_in("alice").await;
    let admin_id = app.me(&admin.access).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let alice_id = app.me(&user.access).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let by_user = admin_post(&app, &user, &format!("/api/admin/users/{alice_id}/disable")).await;
    assert_problem(by_user, StatusCode::FORBIDDEN).await;
    let myself = admin_post(
        &app,
        &admin,
        &format!("/api/admin/users/{admin_id}/disable"),
    )
    .await;
    assert_problem(myself, StatusCode::CONFLICT).await;
    let unknown = admin_post(&app, &admin, "/api/admin/users/no-such-user/disable").await;
    assert_problem(unknown, StatusCode::NOT_FOUND).await;
    app.refresh_ok(&user.refresh).await;
}

#[tokio::test]
async fn an_admin_disables_and_enables_from_the_users_page() {
    let app = spawn_app().await;
    app.admin_signed_in("root").await;
    app.register("alice", PASSWORD).await;
    let alice = app.browser();
    alice.sign_in("alice").await;
    let admin = app.browser();
    admin.sign_in("root").await;
    let alice_id = app.auth().user_id_by_name("alice").unwrap();

    // Without JavaScript the first post asks, on a page whose button sends it again.
    let disable = format!("/admin/users/{alice_id}/disable");
    let asked = admin
        .submit("/admin/users", &disable, &[("back", "/admin/users")])
        .await;
    assert_eq!(asked.status(), StatusCode::OK);
    let question = asked.text().await.unwrap();
    assert!(question.contains("Disable this account?"), "{question}");
    assert!(question.contains(r#"name="confirmed" value="yes""#));
    assert!(question.contains(r#"name="back" value="/admin/users""#));
    assert!(question.contains(r#"href="/admin/users">Cancel"#));
    assert_eq!(
        alice.get("/").await.status(),
        StatusCode::OK,
        "asking changed nothing"
    );
    let response = admin
        .submit(
            "/admin/users",
            &disable,
            &[("back", "/admin/users"), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(location(&response), "/admin/users");
    let html = admin.page("/admin/users").await;
    assert!(html.contains("User disabled") && html.contains("disabled</span>"));
    assert_eq!(alice.get("/").await.status(), StatusCode::SEE_OTHER);
    let refused = alice
        .submit(
            "/login",
            "/login",
            &[("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{alice_id}/enable"),
            &[("back", "/admin/users")],
        )
        .await;
    assert!(admin.page("/admin/users").await.contains("User enabled"));
    alice.sign_in("alice").await;
}
