//! The audit trail: what is recorded, who sees it, filters, and retention.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::FIREFOX;
use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app};

async fn user_id(app: &TestApp, access: &str) -> String {
    app.me(access).await["id"].as_str().unwrap().to_owned()
}

async fn admin_events(app: &TestApp, admin: &str, query: &str) -> Value {
    let response = app.get(&format!("/api/admin/events?{query}"), admin).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Event names of a listing, oldest first.
fn names(listing: &Value) -> Vec<String> {
    let mut names: Vec<String> = listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect();
    names.reverse();
    names
}

#[tokio::test]
async fn every_step_of_a_session_is_recorded_in_order_with_client_and_session() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    app.register("alice", PASSWORD).await;
    app.login("alice", "not the password at all").await;
    let first = app.login_ok("alice").await;
    let second = app.refresh_ok(&first.refresh).await;
    app.refresh_ok(&second.refresh).await;
    // The second token again, inside the grace window: its successor is served once more.
    let replay = app.refresh(&second.refresh).await;
    assert_eq!(replay.status(), StatusCode::OK, "inside the grace window");
    let fresh = app.login_ok("alice").await;
    app.logout(&fresh.access).await;

    let listing = admin_events(&app, &admin.access, "user=alice").await;

    assert_eq!(
        names(&listing),
        [
            "registered",
            "login_failed",
            "login_succeeded",
            "refreshed",
            "refreshed",
            "refreshed",
            "login_succeeded",
            "logged_out",
        ]
    );
    let items = listing["items"].as_array().unwrap();
    let failed = items.iter().find(|e| e["event"] == "login_failed").unwrap();
    assert_eq!(failed["outcome"], "failure");
    assert_eq!(failed["detail"], "wrong password");
    assert_eq!(failed["username"], "alice");
    assert!(failed["session_id"].is_null());
    let signed_in = &items[items.len() - 3];
    assert_eq!(signed_in["event"], "login_succeeded");
    assert_eq!(signed_in["ip"], "127.0.0.1");
    assert_eq!(signed_in["user_agent"], "latchkey-tests/1.0");
    assert!(signed_in["session_id"].is_string());
    assert!(signed_in["at"].as_str().unwrap().ends_with('Z'));
    let reissued = &items[items.len() - 6];
    assert_eq!(reissued["detail"], "same successor, grace window");
}

#[tokio::test]
async fn reuse_throttling_and_unknown_usernames_are_recorded_without_the_typed_name() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    let alice = app.signed_in("alice").await;
    let next = app.refresh_ok(&alice.refresh).await;
    app.refresh_ok(&next.refresh).await;
    assert_eq!(
        app.refresh(&alice.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let typed = "my-secret-password-in-the-name-field";
    app.login(typed, "whatever it is").await;
    // Five failures are free; the sixth or seventh lands inside the wait.
    for _ in 0..8 {
        app.login("alice", "wrong wrong wrong").await;
    }

    let reuse = admin_events(&app, &admin.access, "event=refresh_reuse_detected").await;
    assert_eq!(reuse["total"], 1);
    assert_eq!(reuse["items"][0]["username"], "alice");
    assert_eq!(reuse["items"][0]["outcome"], "denied");
    let throttled = admin_events(&app, &admin.access, "event=login_throttled").await;
    assert_eq!(throttled["items"][0]["username"], "alice");
    let everything = admin_events(&app, &admin.access, "per_page=200").await;
    let unknown = everything["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["detail"] == "unknown username")
        .unwrap();
    assert!(unknown["user_id"].is_null());
    assert!(!everything.to_string().contains(typed));
}

#[tokio::test]
async fn no_password_token_or_hash_ever_reaches_the_audit_trail() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    let alice = app.signed_in("alice").await;
    let next = app.refresh_ok(&alice.refresh).await;
    let changed = app
        .client
        .post(app.url("/api/me/password"))
        .bearer_auth(&next.access)
        .json(&json!({"current_password": PASSWORD, "new_password": "a brand new passphrase 2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);

    let everything = admin_events(&app, &admin.access, "per_page=200")
        .await
        .to_string();

    assert!(everything.contains("password_changed"));
    for secret in [
        PASSWORD,
        "a brand new passphrase 2026",
        &alice.access,
        &alice.refresh,
        &next.access,
        &next.refresh,
        "$2b$",
        "bcrypt",
    ] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
}

#[tokio::test]
async fn admins_filter_by_user_event_and_since_and_page_through_events() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    let alice = app.signed_in("alice").await;
    let alice_id = user_id(&app, &alice.access).await;
    app.signed_in("bob").await;
    for _ in 0..3 {
        app.login("alice", "wrong wrong wrong").await;
    }

    let by_name = admin_events(&app, &admin.access, "user=alice").await;
    let by_id = admin_events(&app, &admin.access, &format!("user={alice_id}")).await;
    assert_eq!(by_name["total"], 5);
    assert_eq!(by_name["items"], by_id["items"]);
    let failed = admin_events(&app, &admin.access, "user=alice&event=login_failed").await;
    assert_eq!(failed["total"], 3);
    let page = admin_events(&app, &admin.access, "event=login_failed&per_page=2&page=2").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        (page["page"].clone(), page["per_page"].clone()),
        (json!(2), json!(2))
    );
    let future = admin_events(&app, &admin.access, "since=2999-01-01T00:00:00Z").await;
    assert_eq!(future["total"], 0);
    let past = admin_events(&app, &admin.access, "since=2020-01-01").await;
    assert!(past["total"].as_i64().unwrap() >= 8);

    let unknown = app
        .get("/api/admin/events?event=login", &admin.access)
        .await;
    let problem = assert_problem(unknown, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(problem.to_string().contains("login_succeeded"));
    let bad_since = app
        .get("/api/admin/events?since=yesterday", &admin.access)
        .await;
    let problem = assert_problem(bad_since, StatusCode::BAD_REQUEST).await;
    assert!(problem["detail"].as_str().unwrap().contains("2026-11-01"));
}

#[tokio::test]
async fn people_see_only_their_own_events_and_a_user_asking_for_everyones_is_denied() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    let alice = app.signed_in("alice").await;
    let alice_id = user_id(&app, &alice.access).await;
    app.signed_in("bob").await;
    app.login("bob", "wrong wrong wrong").await;

    let response = app.get("/api/me/events", &alice.access).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mine: Value = response.json().await.unwrap();
    assert_eq!(names(&mine), ["registered", "login_succeeded"]);
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["user_id"] == alice_id.as_str())
    );

    let denied = app.get("/api/admin/events", &alice.access).await;
    assert_problem(denied, StatusCode::FORBIDDEN).await;
    let recorded = admin_events(&app, &admin.access, "event=access_denied").await;
    assert_eq!(recorded["total"], 1);
    assert_eq!(recorded["items"][0]["user_id"], alice_id.as_str());
    assert_eq!(recorded["items"][0]["detail"], "not an admin");
    let anonymous = app
        .client
        .get(app.url("/api/me/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn admin_actions_name_the_admin_and_every_session_they_end() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    let admin_id = user_id(&app, &admin.access).await;
    let alice = app.signed_in("alice").await;
    let alice_id = user_id(&app, &alice.access).await;
    app.login_ok("alice").await;

    let disabled = app
        .client
        .post(app.url(&format!("/api/admin/users/{alice_id}/disable")))
        .bearer_auth(&admin.access)
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), StatusCode::OK);
    let enabled = app
        .client
        .post(app.url(&format!("/api/admin/users/{alice_id}/enable")))
        .bearer_auth(&admin.access)
        .send()
        .await
        .unwrap();
    assert_eq!(enabled.status(), StatusCode::OK);

    let listing = admin_events(&app, &admin.access, "user=alice").await;
    let items = listing["items"].as_array().unwrap();
    let revoked: Vec<&Value> = items
        .iter()
        .filter(|e| e["event"] == "session_revoked")
        .collect();
    assert_eq!(revoked.len(), 2);
    let by_admin = ["session_revoked", "user_disabled", "user_enabled"];
    for event in items
        .iter()
        .filter(|e| by_admin.iter().any(|name| e["event"] == *name))
    {
        assert_eq!(event["actor_id"], admin_id.as_str(), "{event}");
    }
    assert_eq!(revoked[0]["detail"], "user disabled");
    assert!(revoked.iter().all(|e| e["session_id"].is_string()));
}

#[tokio::test]
async fn prune_trims_events_older_than_the_retention() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    app.signed_in("alice").await;
    let before = admin_events(&app, &admin.access, "").await["total"]
        .as_i64()
        .unwrap();
    assert!(before >= 3);

    app.clock.advance(89 * 24 * 3600);
    let auth = app.auth();
    let kept = tokio::task::spawn_blocking(move || auth.prune())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.events, 0);
    app.clock.advance(2 * 24 * 3600);
    let auth = app.auth();
    let pruned = tokio::task::spawn_blocking(move || auth.prune())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pruned.events as i64, before);
}

#[tokio::test]
async fn the_account_page_shows_recent_activity_and_admins_get_an_event_log() {
    let app = spawn_app().await;
    app.admin_signed_in("root").await;
    app.signed_in("alice").await;
    app.login("alice", "wrong wrong wrong").await;
    let browser = app.browser_as(FIREFOX);
    browser.sign_in("alice").await;

    let account = browser.page("/").await;
    assert!(account.contains("Recent activity"));
    assert!(account.contains("Failed sign-in (wrong password)"));
    assert!(account.contains("Firefox on Linux"));
    assert_eq!(
        browser.get("/admin/events").await.status(),
        StatusCode::FORBIDDEN
    );

    let admin = app.browser();
    admin.sign_in("root").await;
    let log = admin.page("/admin/events?event=access_denied").await;
    assert!(log.contains("Access refused (not an admin)"), "{log}");
    assert!(log.contains(">alice<"));
    let bad = admin.get("/admin/events?since=whenever").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    // The same refusal as the API's (422, the list of known events), as a page.
    let unknown = admin.get("/admin/events?event=nope").await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("use one of: login_succeeded")
    );
}
