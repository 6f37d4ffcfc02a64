//! Second factors and administrators: the admin's reset of a user who lost them (page, API,
//! command line), `LATCHKEY_REQUIRE_MFA=admins`, and the two-step sign-in and step-up on the
//! pages as a browser without JavaScript uses them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::authenticator::code_at;
use crate::browser::location;
use crate::cli::{latchkey, text};
use crate::helpers::TestApp;
use crate::helpers::{PASSWORD, assert_problem, spawn_app, spawn_app_with};
use crate::second_factors::{enrol, post};
use crate::step_up::confirm_with_code;

/// The admin's user list's row for `username`.
async fn listed_user(app: &TestApp, admin_access: &str, username: &str) -> Value {
    let users: Value = app
        .get("/api/admin/users", admin_access)
        .await
        .json()
        .await
        .unwrap();
    users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn an_admin_reset_removes_every_factor_ends_the_sessions_and_names_the_admin() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("helpdesk").await;
    let tokens = app.signed_in("lostphone").await;
    enrol(&app, &tokens).await;
    let row = listed_user(&app, &admin.access, "lostphone").await;
    assert_eq!(row["totp"], true);
    let id = row["id"].as_str().unwrap().to_owned();
    let reset = post(
        &app,
        &format!("/api/admin/users/{id}/reset-factors"),
        &admin.access,
        &json!({}),
    )
    .await;
    assert_eq!(reset.status(), StatusCode::OK);
    let body: Value = reset.json().await.unwrap();
    assert_eq!(body["had_totp"], true);
    assert_eq!(body["revoked"], 1);
    assert_eq!(
        app.get("/api/me/factors", &tokens.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("lostphone", PASSWORD).await.status(),
        StatusCode::OK
    );
    let events: Value = app
        .get(
            &format!("/api/admin/events?event=second_factors_reset&user={id}"),
            &admin.access,
        )
        .await
        .json()
        .await
        .unwrap();
    let event = &events["items"][0];
    assert_eq!(event["event"], "second_factors_reset");
    assert!(event["actor_id"].is_string(), "{event}");
    let user = app
        .get("/api/me", &admin.access)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(event["actor_id"], user["id"]);
}

#[tokio::test]
async fn the_command_line_resets_a_users_factors() {
    let app = spawn_app().await;
    let tokens = app.signed_in("clireset").await;
    enrol(&app, &tokens).await;
    let output = latchkey(&app, &["user", "reset-factors", "clireset"], None);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout)
            .contains("removed the authenticator app, 0 passkeys and the recovery codes"),
        "{}",
        text(&output.stdout)
    );
    assert_eq!(
        app.login("clireset", PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn with_mfa_required_for_admins_an_admin_sets_up_a_second_factor_before_admin_work() {
    let app = spawn_app_with(|s| s.require_mfa = latchkey::config::RequireMfa::Admins).await;
    let admin = app.admin_signed_in("boss").await;
    let refused = app.get("/api/admin/users", &admin.access).await;
    assert_eq!(
        assert_problem(refused, StatusCode::FORBIDDEN).await["code"],
        "mfa_enrolment_required"
    );
    let browser = app.browser();
    browser.sign_in("boss").await;
    let page = browser.get("/admin/users").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&page), "/account/two-factor");
    // Everyone else's account is theirs to decide.
    let user = app.signed_in("someone").await;
    assert_eq!(
        app.get("/api/me/factors", &user.access).await.status(),
        StatusCode::OK
    );

    enrol(&app, &admin).await;
    assert_eq!(
        app.get("/api/admin/users", &admin.access).await.status(),
        StatusCode::OK
    );
    assert_eq!(browser.get("/admin/users").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_pages_ask_for_the_code_on_a_second_page_and_for_a_recent_sign_in_before_changes() {
    let app = spawn_app().await;
    let tokens = app.signed_in("pagesteps").await;
    let (secret, _) = enrol(&app, &tokens).await;
    let browser = app.browser();
    let answer = browser
        .submit(
            "/login",
            "/login",
            &[("username", "pagesteps"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&answer), "/login/second-factor");
    assert!(
        browser
            .page("/login/second-factor")
            .await
            .contains("One more step")
    );
    // Not signed in yet.
    assert_eq!(browser.get("/").await.status(), StatusCode::SEE_OTHER);
    let wrong = browser
        .submit(
            "/login/second-factor",
            "/login/second-factor",
            &[("code", "000000"), ("method", "totp")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.unwrap().contains("not right"));
    let code = code_at(&secret, app.clock.now());
    let right = browser
        .submit(
            "/login/second-factor",
            "/login/second-factor",
            &[("code", &code), ("method", "totp")],
        )
        .await;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&right), "/");
    assert!(
        browser
            .page("/sessions")
            .await
            .contains("password and a one-time code")
    );
    // The finished step is gone from the page session.
    assert_eq!(
        browser.get("/login/second-factor").await.status(),
        StatusCode::SEE_OTHER
    );

    app.clock.advance(11 * 60);
    let stale = browser
        .submit(
            "/account/two-factor",
            "/account/two-factor/recovery-codes",
            &[("confirmed", "yes")],
        )
        .await;
    assert_eq!(stale.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&stale),
        "/account/confirm-identity?next=%2Faccount%2Ftwo-factor"
    );
    let page = browser.page(&location(&stale)).await;
    assert!(page.contains("Confirm it"), "{page}");
    let code = code_at(&secret, app.clock.now());
    confirm_with_code(&browser, &code, "/account/two-factor").await;
    let renewed = browser
        .submit(
            "/account/two-factor",
            "/account/two-factor/recovery-codes",
            &[("confirmed", "yes")],
        )
        .await;
    assert_eq!(renewed.status(), StatusCode::OK);
    assert_eq!(
        renewed.text().await.unwrap().matches("<li><code>").count(),
        10
    );
}

#[tokio::test]
async fn an_admins_changes_need_a_recent_sign_in_while_reading_does_not() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("oncall").await;
    app.signed_in("target").await;
    let id = listed_user(&app, &admin.access, "target").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let browser = app.browser();
    browser.sign_in("oncall").await;
    app.clock.advance(11 * 60);
    let disable = format!("/api/admin/users/{id}/disable");
    let stale = post(&app, &disable, &admin.access, &json!({})).await;
    assert_eq!(
        assert_problem(stale, StatusCode::FORBIDDEN).await["code"],
        "reauthentication_required"
    );
    assert_eq!(
        app.get("/api/admin/users", &admin.access).await.status(),
        StatusCode::OK
    );
    let page = browser
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/disable"),
            &[("confirmed", "yes")],
        )
        .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&page),
        "/account/confirm-identity?next=%2Fadmin%2Fusers"
    );
    let confirmed = post(
        &app,
        "/api/me/reauthenticate",
        &admin.access,
        &json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(confirmed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        post(&app, &disable, &admin.access, &json!({}))
            .await
            .status(),
        StatusCode::OK
    );
}
