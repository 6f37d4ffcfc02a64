//! The user is never signed out by a lost answer, and nothing outlives a password change, a
//! disable or "sign out everywhere" (review items 1 and 2).

use std::time::Duration;

use latchkey::auth::refresh::RefreshRetry;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::browser::cookie_value;
use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app, spawn_app_with};

/// An hour: far past the 10 s grace window, well inside the 7-day idle lifetime.
const MUCH_LATER: i64 = 3600;

#[tokio::test]
async fn a_refresh_whose_answer_was_lost_gets_the_same_successor_an_hour_later() {
    let app = spawn_app().await;
    let first = app.signed_in("alice").await;
    // The server rotated, but the client never saw this answer.
    let lost = app.refresh_ok(&first.refresh).await;

    app.clock.advance(MUCH_LATER);
    let retried = app.refresh_ok(&first.refresh).await;

    assert_eq!(
        retried.refresh, lost.refresh,
        "the same successor, no new branch"
    );
    let next = app.refresh_ok(&retried.refresh).await;
    app.me(&next.access).await;
}

#[tokio::test]
async fn a_late_retry_shares_the_successor_and_its_second_use_ends_the_session() {
    let app = spawn_app().await;
    let first = app.signed_in("alice").await;
    let victim = app.refresh_ok(&first.refresh).await;
    // A thief replays the old token while the victim is idle: it gets the victim's successor.
    app.clock.advance(MUCH_LATER);
    let thief = app.refresh_ok(&first.refresh).await;
    assert_eq!(thief.refresh, victim.refresh);

    // Both use it: the first use rotates, the second (outside the grace window) is reuse.
    let victim_next = app.refresh_ok(&victim.refresh).await;
    app.clock.advance(11);
    let reuse = assert_problem(app.refresh(&thief.refresh).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(reuse["code"], "refresh_token_reused");
    assert_problem(
        app.refresh(&victim_next.refresh).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn a_token_whose_successor_was_used_is_still_reuse_after_the_grace_window() {
    let app = spawn_app().await;
    let first = app.signed_in("alice").await;
    let second = app.refresh_ok(&first.refresh).await;
    let third = app.refresh_ok(&second.refresh).await;

    app.clock.advance(MUCH_LATER);
    let replay = assert_problem(app.refresh(&first.refresh).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(replay["code"], "refresh_token_reused");
    assert_problem(app.refresh(&third.refresh).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn strict_refresh_retry_treats_a_late_retry_as_reuse() {
    let app = spawn_app_with(|s| s.refresh_retry = RefreshRetry::Strict).await;
    let first = app.signed_in("alice").await;
    app.refresh_ok(&first.refresh).await;

    app.clock.advance(9);
    app.refresh_ok(&first.refresh).await;
    app.clock.advance(MUCH_LATER);
    let replay = assert_problem(app.refresh(&first.refresh).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(replay["code"], "refresh_token_reused");
}

#[tokio::test]
async fn a_cookie_refresh_whose_answer_never_reached_the_browser_does_not_sign_it_out() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    let signed_in = browser.sign_in("alice").await;
    let cookie = cookie_value(&signed_in, "latchkey_refresh").unwrap();
    // The request reached the server and rotated the token; the browser never stored the
    // answer's cookie (a closed tab). Sent here from a client without the browser's jar.
    let lost = app
        .client
        .post(app.url("/auth/refresh"))
        .header("X-Latchkey-Refresh", "1")
        .header("Cookie", format!("latchkey_refresh={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(lost.status(), StatusCode::OK);

    app.clock.advance(MUCH_LATER);
    let retried = browser.cookie_refresh().await;
    assert_eq!(retried.status(), StatusCode::OK);
    assert_eq!(
        cookie_value(&retried, "latchkey_refresh"),
        cookie_value(&lost, "latchkey_refresh"),
        "the browser gets the successor it missed"
    );
    assert_eq!(browser.cookie_refresh().await.status(), StatusCode::OK);
    assert_eq!(
        browser.get("/").await.status(),
        StatusCode::OK,
        "still signed in"
    );
}

/// Sign-ins with the old password, started every `spacing` while something else happens.
fn sign_ins_in_flight(
    app: &TestApp,
    count: usize,
    spacing: Duration,
) -> JoinSet<(StatusCode, Value)> {
    let mut tasks = JoinSet::new();
    for index in 0..count {
        let client = app.client.clone();
        let url = app.url("/api/auth/login");
        tasks.spawn(async move {
            tokio::time::sleep(spacing * index as u32).await;
            let body = json!({ "username": "alice", "password": PASSWORD });
            let response = client.post(url).json(&body).send().await.unwrap();
            let status = response.status();
            (status, response.json().await.unwrap_or(Value::Null))
        });
    }
    tasks
}

/// Every sign-in that answered 200 must have a dead session now; the others were refused (401),
/// or asked to wait (429: at most two password checks of one account run at once).
async fn assert_no_session_survives(
    app: &TestApp,
    mut tasks: JoinSet<(StatusCode, Value)>,
) -> usize {
    let mut succeeded = 0;
    while let Some(result) = tasks.join_next().await {
        let (status, body) = result.unwrap();
        if status == StatusCode::OK {
            succeeded += 1;
            let refresh = body["refresh_token"].as_str().unwrap();
            assert_problem(app.refresh(refresh).await, StatusCode::UNAUTHORIZED).await;
        } else {
            assert!(
                status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
                "{status}: {body}"
            );
        }
    }
    succeeded
}

/// Cost 12, as in production (each check takes a few hundred milliseconds), no per-IP limits;
/// an admin's tokens and alice's id.
async fn cost_12_app_with_an_admin_and_alice() -> (TestApp, crate::helpers::Tokens, String) {
    let app = spawn_app_with(|s| {
        s.bcrypt_cost = 12;
        s.rate_limit = false;
    })
    .await;
    let admin = app.admin_signed_in("root").await;
    let alice = app.signed_in("alice").await;
    let alice_id = app.me(&alice.access).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (app, admin, alice_id)
}

#[tokio::test]
async fn no_sign_in_still_checking_the_old_password_survives_a_password_change() {
    // Cost 12, as in production: each check takes a few hundred milliseconds.
    let app = spawn_app_with(|s| {
        s.bcrypt_cost = 12;
        s.rate_limit = false;
    })
    .await;
    app.register("alice", PASSWORD).await;
    let signed_in: Value = app.login("alice", PASSWORD).await.json().await.unwrap();
    let owner = crate::helpers::Tokens::from_body(&signed_in);
    // The owner's trusted device: its check is not held up by the sign-ins below.
    let device = signed_in["device_token"].as_str().unwrap().to_owned();

    let change = {
        let client = app.client.clone();
        let url = app.url("/api/me/password");
        let access = owner.access.clone();
        tokio::spawn(async move {
            let body = json!({
                "current_password": PASSWORD,
                "new_password": "a completely new passphrase for winter",
                "device_token": device,
            });
            client
                .post(url)
                .bearer_auth(access)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    let sign_ins = sign_ins_in_flight(&app, 12, Duration::from_millis(60));

    assert_eq!(change.await.unwrap(), StatusCode::OK);
    assert_no_session_survives(&app, sign_ins).await;
    // The changer's own session goes on.
    app.me(&owner.access).await;
}

#[tokio::test]
async fn no_sign_in_in_flight_during_a_disable_comes_back_when_the_account_is_enabled() {
    let (app, admin, alice_id) = cost_12_app_with_an_admin_and_alice().await;

    // All started before the disable, most still checking the password when it happens.
    let sign_ins = sign_ins_in_flight(&app, 8, Duration::from_millis(30));
    tokio::time::sleep(Duration::from_millis(250)).await;
    let admin_post = |action: &str| {
        app.client
            .post(app.url(&format!("/api/admin/users/{alice_id}/{action}")))
            .bearer_auth(&admin.access)
            .send()
    };
    assert_eq!(
        admin_post("disable").await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(admin_post("enable").await.unwrap().status(), StatusCode::OK);

    assert_no_session_survives(&app, sign_ins).await;
    // Signing in after the enable works as ever.
    app.login_ok("alice").await;
}

#[tokio::test]
async fn no_sign_in_in_flight_survives_signing_the_user_out_everywhere() {
    let (app, admin, alice_id) = cost_12_app_with_an_admin_and_alice().await;

    let sign_ins = sign_ins_in_flight(&app, 8, Duration::from_millis(30));
    tokio::time::sleep(Duration::from_millis(250)).await;
    let revoked = app
        .delete(
            &format!("/api/admin/users/{alice_id}/sessions"),
            &admin.access,
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);

    assert_no_session_survives(&app, sign_ins).await;
}
