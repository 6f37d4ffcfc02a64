//! Admin routes: a `user` gets 403, no token gets 401, admins see and revoke everyone's sessions.

use latchkey::auth::sessions::ClientInfo;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, assert_invalid_token, assert_problem, spawn_app};

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The registered paths under `prefix`, with `{...}` parameters filled in.
fn registered_under(paths: Vec<&'static str>, prefix: &str) -> Vec<String> {
    paths
        .into_iter()
        .filter(|path| path.starts_with(prefix))
        .map(|path| {
            path.split('/')
                .map(|part| if part.starts_with('{') { "x" } else { part })
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}

/// Iterates every route the server registered, so an admin route added without its guard
/// fails here: a user gets 403 on each method a path serves, and no token gets 401.
#[tokio::test]
async fn a_user_gets_403_and_no_token_gets_401_on_every_admin_route() {
    let app = spawn_app().await;
    let user = app.signed_in("alice").await;
    let paths = registered_under(latchkey::routes::registered_paths(), "/api/admin/");
    assert!(paths.len() >= 9, "{paths:?}");
    let mut checked = 0;
    for path in &paths {
        for method in METHODS {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let request = |token: Option<&str>| {
                let request = app.client.request(method.clone(), app.url(path));
                match token {
                    Some(token) => request.bearer_auth(token),
                    None => request,
                }
            };
            let anonymous = request(None).send().await.unwrap();
            if anonymous.status() == StatusCode::METHOD_NOT_ALLOWED {
                continue;
            }
            assert_invalid_token(&anonymous);
            let as_user = request(Some(&user.access)).send().await.unwrap();
            assert_eq!(as_user.status(), StatusCode::FORBIDDEN, "{method} {path}");
            assert_problem(as_user, StatusCode::FORBIDDEN).await;
            checked += 1;
        }
    }
    assert!(checked >= 9, "only {checked} admin operations answered");
    app.refresh_ok(&user.refresh).await;
}

/// The same for the admin pages: a signed-in user gets the 403 page on every one, forms
/// included (sent with a valid CSRF token, so only the admin check can refuse them).
#[tokio::test]
async fn a_user_gets_the_403_page_on_every_admin_page() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    browser.sign_in("alice").await;
    let token = browser.csrf("/sessions").await;
    let paths = registered_under(latchkey::routes::registered_page_paths(), "/admin/");
    assert!(paths.len() >= 8, "{paths:?}");
    for path in &paths {
        let page = browser.get(path).await;
        // A form-only path sends a GET to its list page, which is an admin page too.
        if page.status() != StatusCode::SEE_OTHER {
            assert_eq!(page.status(), StatusCode::FORBIDDEN, "GET {path}");
            continue;
        }
        let form = browser
            .post_form(path, &[("csrf_token", &token), ("key", "x")])
            .await;
        assert_eq!(form.status(), StatusCode::FORBIDDEN, "POST {path}");
        assert!(form.text().await.unwrap().contains("for administrators"));
    }
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
    tokio::task::spawn_blocking(move || {
        auth.set_role(
            &auth.operator_at_command_line(),
            "root",
            latchkey::auth::types::Role::User,
            true,
            &cli,
        )
    })
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
