//! The current-password check is a sign-in attempt: throttled per account and per address,
//! bounded in bcrypt work; a password cannot be "changed" to itself; old cheap hashes are
//! upgraded (review items 3, 4 and 5).

use diesel::prelude::*;
use diesel::sql_types::Text;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::helpers::{PASSWORD, TestApp, Tokens, assert_problem, spawn_app, spawn_app_with};

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn change(app: &TestApp, tokens: &Tokens, current: &str, new: &str) -> Response {
    app.client
        .post(app.url("/api/me/password"))
        .bearer_auth(&tokens.access)
        .json(&json!({ "current_password": current, "new_password": new }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn wrong_current_passwords_are_throttled_like_failed_sign_ins() {
    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;
    for _ in 0..5 {
        let wrong = change(&app, &tokens, "not my password", NEW_PASSWORD).await;
        assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY).await;
    }

    // Now even the right password waits, as a sixth failed sign-in would.
    let right = change(&app, &tokens, PASSWORD, NEW_PASSWORD).await;
    assert!(right.headers().contains_key("retry-after"));
    let throttled = assert_problem(right, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(throttled["code"], "too_many_attempts");
    // It is the account's counter: sign-ins from elsewhere wait too.
    assert_problem(
        app.login("alice", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;

    app.clock.advance(2);
    assert_eq!(
        change(&app, &tokens, PASSWORD, NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_change_password_page_is_throttled_too() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    browser.sign_in("alice").await;
    let attempt = |current: &'static str| {
        let browser = &browser;
        async move {
            browser
                .submit(
                    "/account/password",
                    "/account/password",
                    &[
                        ("current_password", current),
                        ("new_password", NEW_PASSWORD),
                        ("new_password_confirm", NEW_PASSWORD),
                    ],
                )
                .await
        }
    };
    for _ in 0..5 {
        assert_eq!(
            attempt("not my password").await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let throttled = attempt(PASSWORD).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().contains_key("retry-after"));
    assert!(throttled.text().await.unwrap().contains("try again in"));
}

#[tokio::test]
async fn the_current_password_check_counts_against_the_per_address_sign_in_limit() {
    let app = spawn_app_with(|s| s.rate_limit_login = 3).await;
    let tokens = app.signed_in("alice").await; // one sign-in: 2 left
    for _ in 0..2 {
        let wrong = change(&app, &tokens, "not my password", NEW_PASSWORD).await;
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let limited = assert_problem(
        change(&app, &tokens, PASSWORD, NEW_PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    assert_eq!(limited["code"], "rate_limited");
}

#[tokio::test]
async fn one_account_cannot_run_more_than_two_password_checks_at_once() {
    // Cost 12: each check takes long enough for all sixteen requests to overlap.
    let app = spawn_app_with(|s| {
        s.bcrypt_cost = 12;
        s.rate_limit = false;
    })
    .await;
    let tokens = app.signed_in("alice").await;
    let mut tasks = JoinSet::new();
    for _ in 0..16 {
        let client = app.client.clone();
        let url = app.url("/api/me/password");
        let access = tokens.access.clone();
        tasks.spawn(async move {
            let body = json!({ "current_password": "guess", "new_password": NEW_PASSWORD });
            let response = client
                .post(url)
                .bearer_auth(access)
                .json(&body)
                .send()
                .await;
            response.unwrap().status()
        });
    }
    let mut checked = 0;
    let mut waited = 0;
    while let Some(status) = tasks.join_next().await {
        match status.unwrap() {
            StatusCode::UNPROCESSABLE_ENTITY => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => waited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(checked + waited, 16);
    assert!(
        checked <= 6,
        "{checked} of 16 concurrent guesses ran bcrypt; at most two at a time may"
    );
}

#[tokio::test]
async fn a_new_password_equal_to_the_current_one_is_refused_with_a_reason() {
    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;

    let same = assert_problem(
        change(&app, &tokens, PASSWORD, PASSWORD).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    assert_eq!(same["errors"][0]["field"], "new_password");
    assert!(
        same["detail"]
            .as_str()
            .unwrap()
            .contains("same as your current"),
        "{same}"
    );
}

#[derive(QueryableByName)]
struct StoredHash {
    #[diesel(sql_type = Text)]
    password_hash: String,
}

/// The bcrypt cost of alice's stored hash (`lk-...-bcrypt$$2b$05$...`).
async fn stored_cost(app: &TestApp) -> String {
    let auth = app.auth();
    tokio::task::spawn_blocking(move || {
        let mut conn = auth.db().conn().unwrap();
        let row: StoredHash =
            diesel::sql_query("SELECT password_hash FROM users WHERE username = 'alice'")
                .get_result(&mut *conn)
                .unwrap();
        row.password_hash.split('$').nth(3).unwrap().to_owned()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_hash_made_at_an_older_cost_is_upgraded_at_the_next_sign_in() {
    let app = spawn_app().await; // cost 4
    app.register("alice", PASSWORD).await;
    assert_eq!(stored_cost(&app).await, "04");

    let mut settings = app.settings.clone();
    settings.bcrypt_cost = 5;
    let dir = app.dir.clone();
    let clock = app.clock.clone();
    app.stop().await;
    let app = crate::helpers::start(settings, dir, clock).await;
    app.login_ok("alice").await;

    assert_eq!(stored_cost(&app).await, "05");
    let tokens: Value = app.login("alice", PASSWORD).await.json().await.unwrap();
    assert!(
        tokens["access_token"].is_string(),
        "the upgraded hash verifies"
    );
}
