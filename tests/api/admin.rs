//! Admin routes: a `user` gets 403, no token gets 401, admins see and revoke everyone's sessions.

use latchkey::auth::sessions::ClientInfo;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_invalid_token, assert_problem, spawn_app};

const ADMIN_READS: [&str; 2] = ["/api/admin/users", "/api/admin/sessions"];

#[tokio::test]
async fn a_user_gets_403_and_no_token_gets_401_on_every_admin_route() {
    let app = spawn_app().await;
    let user = app.signed_in("alice").await;
    let user_id = app.me(&user.access).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let session_id = app.me(&user.access).await["session_id"]
        .as_str()
        .unwrap()
        .to_owned();

    for path in ADMIN_READS {
        assert_problem(app.get(path, &user.access).await, StatusCode::FORBIDDEN).await;
        let anonymous = app.client.get(app.url(path)).send().await.unwrap();
        assert_invalid_token(&anonymous);
    }
    for path in [
        format!("/api/admin/sessions/{session_id}"),
        format!("/api/admin/users/{user_id}/sessions"),
    ] {
        assert_problem(app.delete(&path, &user.access).await, StatusCode::FORBIDDEN).await;
        let anonymous = app.client.delete(app.url(&path)).send().await.unwrap();
        assert_invalid_token(&anonymous);
    }
    app.refresh_ok(&user.refresh).await;
}

#[tokio::test]
async fn an_admin_lists_users_with_live_session_counts() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    app.signed_in("alice").await;
    app.login_ok("alice").await;

    let response = app.get("/api/admin/users", &admin.access).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["total"], 2);
    let alice = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "alice")
        .unwrap();
    assert_eq!(alice["role"], "user");
    assert_eq!(alice["live_sessions"], 2);
    assert!(alice["created_at"].is_string());
    assert!(alice.get("password_hash").is_none());
}

#[tokio::test]
async fn an_admin_lists_live_sessions_filtered_and_paged() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    let alice = app.signed_in("alice").await;
    for _ in 0..4 {
        app.login_ok("alice").await;
    }
    let bob = app.signed_in("bob").await;
    // A revoked session is not live and is not listed.
    app.logout(&bob.access).await;
    let alice_id = app.me(&alice.access).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let all: Value = app
        .get("/api/admin/sessions", &admin.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 6, "root + 5 alice: {all}");

    let page: Value = app
        .get(
            &format!("/api/admin/sessions?user_id={alice_id}&page=2&per_page=2"),
            &admin.access,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 5);
    assert_eq!(page["page"], 2);
    assert_eq!(page["per_page"], 2);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items
            .iter()
            .all(|s| s["username"] == "alice" && s["user_id"] == alice_id.as_str())
    );

    let bad = app
        .get("/api/admin/sessions?page=minus-one", &admin.access)
        .await;
    assert_problem(bad, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn an_admin_revokes_one_session_or_all_of_a_users() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    let first = app.signed_in("alice").await;
    let second = app.login_ok("alice").await;
    let third = app.login_ok("alice").await;
    let me = app.me(&first.access).await;

    let one = app
        .delete(
            &format!("/api/admin/sessions/{}", me["session_id"].as_str().unwrap()),
            &admin.access,
        )
        .await;
    assert_eq!(one.status(), StatusCode::NO_CONTENT);
    assert_problem(app.refresh(&first.refresh).await, StatusCode::UNAUTHORIZED).await;
    app.refresh_ok(&second.refresh).await;

    let all = app
        .delete(
            &format!("/api/admin/users/{}/sessions", me["id"].as_str().unwrap()),
            &admin.access,
        )
        .await;
    assert_eq!(all.status(), StatusCode::OK);
    assert_eq!(all.json::<Value>().await.unwrap(), json!({ "revoked": 2 }));
    assert_problem(app.refresh(&third.refresh).await, StatusCode::UNAUTHORIZED).await;

    let missing = app
        .delete("/api/admin/sessions/no-such-session", &admin.access)
        .await;
    assert_problem(missing, StatusCode::NOT_FOUND).await;
    let no_user = app
        .delete("/api/admin/users/no-such-user/sessions", &admin.access)
        .await;
    assert_problem(no_user, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_demoted_admin_loses_admin_routes_at_once() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    let auth = app.auth();
    let cli = ClientInfo::command_line();
    // The only admin: demoting it needs `force`, as `latchkey user set-role --force` does.
    tokio::task::spawn_blocking(move || auth.set_role("root", "user", None, true, &cli))
        .await
        .unwrap()
        .unwrap();

    // The token still says "admin", but the role is read from the database.
    assert_problem(
        app.get("/api/admin/users", &admin.access).await,
        StatusCode::FORBIDDEN,
    )
    .await;
}
