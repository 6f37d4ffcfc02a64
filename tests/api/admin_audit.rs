//! Audit and admin: role changes recorded, the last admin protected, no double events, the
//! admin check before anything else, and 405 answers that say what is allowed (review items 24
//! to 26).

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::cli::{latchkey, text};
use crate::docs::openapi;
use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app};

async fn events(app: &TestApp, admin: &str, filter: &str) -> Vec<Value> {
    let response = app.get(&format!("/api/admin/events?{filter}"), admin).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_role_change_from_the_command_line_is_in_the_audit_trail() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    app.register("alice", PASSWORD).await;

    let promoted = latchkey(&app, &["user", "set-role", "alice", "admin"], None);
    assert!(promoted.status.success(), "{}", text(&promoted.stderr));
    let again = latchkey(&app, &["user", "set-role", "alice", "admin"], None);
    assert!(
        text(&again.stdout).contains("already"),
        "{}",
        text(&again.stdout)
    );

    let changes = events(&app, &admin.access, "event=role_changed").await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["username"], "alice");
    assert_eq!(changes[0]["detail"], "to admin");
    assert_eq!(changes[0]["user_agent"], "latchkey command line");
}

#[tokio::test]
async fn the_last_enabled_admin_is_not_disabled_deleted_or_demoted_without_force() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    for command in [
        vec!["user", "disable", "root"],
        vec!["user", "delete", "root", "--yes"],
        vec!["user", "set-role", "root", "user"],
    ] {
        let refused = latchkey(&app, &command, None);
        assert!(!refused.status.success(), "{command:?}");
        assert!(
            text(&refused.stderr).contains("--force"),
            "{}",
            text(&refused.stderr)
        );
    }
    app.me(&admin.access).await;
    assert_eq!(
        app.get("/api/admin/users", &admin.access).await.status(),
        StatusCode::OK
    );

    // With another enabled admin, no force is needed.
    latchkey(
        &app,
        &["user", "add", "second", "--admin", "--password-stdin"],
        Some(PASSWORD),
    );
    let disabled = latchkey(&app, &["user", "disable", "root"], None);
    assert!(disabled.status.success(), "{}", text(&disabled.stderr));
    let forced = latchkey(
        &app,
        &["user", "delete", "second", "--yes", "--force"],
        None,
    );
    assert!(forced.status.success(), "{}", text(&forced.stderr));
}

#[tokio::test]
async fn disabling_a_disabled_user_says_so_and_records_nothing_more() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    app.register("alice", PASSWORD).await;

    let first = latchkey(&app, &["user", "disable", "alice"], None);
    assert!(first.status.success());
    let second = latchkey(&app, &["user", "disable", "alice"], None);
    assert!(second.status.success());
    assert!(
        text(&second.stdout).contains("already disabled"),
        "{}",
        text(&second.stdout)
    );
    let enabled = latchkey(&app, &["user", "enable", "alice"], None);
    assert!(enabled.status.success());
    let again = latchkey(&app, &["user", "enable", "alice"], None);
    assert!(text(&again.stdout).contains("already enabled"));

    assert_eq!(
        events(&app, &admin.access, "event=user_disabled")
            .await
            .len(),
        1
    );
    assert_eq!(
        events(&app, &admin.access, "event=user_enabled")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_non_admin_gets_403_on_admin_routes_whatever_the_query_says() {
    let app = spawn_app().await;
    let user = app.signed_in("alice").await;
    for query in [
        "/api/admin/users?page=abc",
        "/api/admin/users?per_page=99999999999",
        "/api/admin/sessions?page=-x&user_id=1",
        "/api/admin/events?since=yesterday",
        "/api/admin/events?event=no_such_event",
        "/api/admin/events?page=1.5",
    ] {
        assert_problem(app.get(query, &user.access).await, StatusCode::FORBIDDEN).await;
    }
}

#[tokio::test]
async fn a_405_names_the_methods_the_path_serves_as_the_document_does() {
    let app = spawn_app().await;
    let document = openapi(&app).await;
    let mut checked = 0;
    for (path, operations) in document["paths"].as_object().unwrap() {
        let mut documented: Vec<String> = operations
            .as_object()
            .unwrap()
            .keys()
            .filter(|key| ["get", "post", "delete", "put", "patch"].contains(&key.as_str()))
            .map(|method| method.to_uppercase())
            .collect();
        documented.sort();
        let concrete = path.replace("{id}", "x").replace("{username}", "x");
        let response = app
            .client
            .request(Method::PATCH, app.url(&concrete))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        let mut allowed: Vec<String> = response.headers()["allow"]
            .to_str()
            .unwrap()
            .split(", ")
            .map(str::to_owned)
            .collect();
        allowed.sort();
        assert_eq!(allowed, documented, "{path}");
        checked += 1;
    }
    assert!(checked > 20);
}

#[tokio::test]
async fn two_admins_disabling_each_other_at_once_leave_one_admin() {
    let app = spawn_app().await;
    let mut root = app.admin_signed_in("root").await;
    let mut second = app.admin_signed_in("second").await;
    let id_of = |tokens: &crate::helpers::Tokens| {
        let app = &app;
        let access = tokens.access.clone();
        async move { app.me(&access).await["id"].as_str().unwrap().to_owned() }
    };
    let (root_id, second_id) = (id_of(&root).await, id_of(&second).await);
    let admin_post = |access: &str, user_id: &str, action: &str| {
        app.client
            .post(app.url(&format!("/api/admin/users/{user_id}/{action}")))
            .bearer_auth(access)
            .send()
    };
    // The window is a few statements wide: many rounds give the race its chances.
    for _ in 0..15 {
        let (by_root, by_second) = tokio::join!(
            admin_post(&root.access, &second_id, "disable"),
            admin_post(&second.access, &root_id, "disable"),
        );
        let by_root = by_root.unwrap().status();
        let by_second = by_second.unwrap().status();
        let refused = [by_root, by_second]
            .iter()
            .filter(|status| **status != StatusCode::OK)
            .count();
        assert_eq!(refused, 1, "root: {by_root}, second: {by_second}");
        // The one left enables the other, who signs in again.
        if by_root == StatusCode::OK {
            let enabled = admin_post(&root.access, &second_id, "enable").await;
            assert_eq!(enabled.unwrap().status(), StatusCode::OK);
            second = app.login_ok("second").await;
        } else {
            let enabled = admin_post(&second.access, &root_id, "enable").await;
            assert_eq!(enabled.unwrap().status(), StatusCode::OK);
            root = app.login_ok("root").await;
        }
    }
}
