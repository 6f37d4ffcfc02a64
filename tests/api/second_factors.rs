//! TOTP, recovery codes, the two-step sign-in, re-authentication and the admin's reset, over
//! HTTP. Codes are computed by `authenticator.rs` from the secret the enrolment showed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::authenticator::code_at;
use crate::helpers::{PASSWORD, TestApp, Tokens, assert_problem, spawn_app};

pub async fn post(app: &TestApp, path: &str, token: &str, body: &Value) -> Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn claims(access: &str) -> Value {
    let part = access.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Sets up an authenticator app for a signed-in user; returns the secret and the recovery
/// codes. The confirming code uses the current step, so the clock moves on one step after.
pub async fn enrol(app: &TestApp, tokens: &Tokens) -> (String, Vec<String>) {
    let begun = post(app, "/api/me/totp", &tokens.access, &json!({})).await;
    assert_eq!(begun.status(), StatusCode::OK);
    let setup: Value = begun.json().await.unwrap();
    let secret = setup["secret"].as_str().unwrap().to_owned();
    assert!(
        setup["otpauth_uri"]
            .as_str()
            .unwrap()
            .contains(&format!("secret={secret}"))
    );
    let code = code_at(&secret, app.clock.now());
    let confirmed = post(
        app,
        "/api/me/totp/confirm",
        &tokens.access,
        &json!({"code": code}),
    )
    .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let body: Value = confirmed.json().await.unwrap();
    let codes = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    app.clock.advance(30);
    (secret, codes)
}

/// The password step of a user with a second factor: its `mfa_token`.
pub async fn password_step(app: &TestApp, username: &str) -> String {
    let answer = app.login(username, PASSWORD).await;
    let problem = assert_problem(answer, StatusCode::UNAUTHORIZED).await;
    assert_eq!(problem["code"], "mfa_required");
    problem["mfa_token"].as_str().unwrap().to_owned()
}

pub async fn second_step(app: &TestApp, mfa_token: &str, field: &str, code: &str) -> Response {
    app.post_json(
        "/api/auth/mfa",
        &json!({"mfa_token": mfa_token, field: code}),
    )
    .await
}

#[tokio::test]
async fn an_authenticator_app_counts_only_after_its_first_code_and_then_sign_in_needs_it() {
    let app = spawn_app().await;
    let tokens = app.signed_in("twostep").await;
    let begun = post(&app, "/api/me/totp", &tokens.access, &json!({})).await;
    let secret = begun.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    // Waiting for its first code, it changes nothing.
    assert_eq!(
        app.login("twostep", PASSWORD).await.status(),
        StatusCode::OK
    );
    let wrong = post(
        &app,
        "/api/me/totp/confirm",
        &tokens.access,
        &json!({"code": "000000"}),
    )
    .await;
    assert_eq!(
        assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["field"],
        "code"
    );
    let code = code_at(&secret, app.clock.now());
    let confirmed = post(
        &app,
        "/api/me/totp/confirm",
        &tokens.access,
        &json!({"code": code}),
    )
    .await;
    let codes: Value = confirmed.json().await.unwrap();
    assert_eq!(codes["recovery_codes"].as_array().unwrap().len(), 10);

    let answer = app.login("twostep", PASSWORD).await;
    let problem = assert_problem(answer, StatusCode::UNAUTHORIZED).await;
    assert_eq!(problem["code"], "mfa_required");
    assert_eq!(problem["methods"], json!(["totp", "recovery_code"]));
    assert!(problem.get("access_token").is_none());
    let mfa_token = problem["mfa_token"].as_str().unwrap();
    // The code that confirmed the set-up is spent: its step never works again.
    let replay = second_step(&app, mfa_token, "totp", &code).await;
    assert_eq!(
        assert_problem(replay, StatusCode::UNAUTHORIZED).await["code"],
        "invalid_second_factor"
    );
    app.clock.advance(30);
    let next = code_at(&secret, app.clock.now());
    let signed_in = second_step(&app, mfa_token, "totp", &next).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let body: Value = signed_in.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims(access)["acr"], "aal2");
    assert_eq!(claims(&tokens.access)["acr"], "aal1");
    let sessions: Value = app.get("/api/sessions", access).await.json().await.unwrap();
    let current = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap();
    assert_eq!(current["amr"], json!(["pwd", "otp", "mfa"]));
    // A refreshed token says the same.
    let refreshed = app
        .refresh_ok(body["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(
        claims(&refreshed.access)["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    // The token finished its sign-in: it does not start another.
    let again = second_step(&app, mfa_token, "totp", &next).await;
    assert_eq!(
        assert_problem(again, StatusCode::UNAUTHORIZED).await["code"],
        "mfa_token_invalid"
    );
}

#[tokio::test]
async fn one_step_of_drift_is_accepted_and_an_older_step_than_one_used_never_is() {
    let app = spawn_app().await;
    let tokens = app.signed_in("drifter").await;
    let (secret, _) = enrol(&app, &tokens).await;
    let now = app.clock.now();
    let token = password_step(&app, "drifter").await;
    // A phone 30 s ahead.
    let ahead = second_step(&app, &token, "totp", &code_at(&secret, now + 30)).await;
    assert_eq!(ahead.status(), StatusCode::OK);
    // The current code is older than the one just used.
    let token = password_step(&app, "drifter").await;
    let older = second_step(&app, &token, "totp", &code_at(&secret, now)).await;
    assert_eq!(older.status(), StatusCode::UNAUTHORIZED);
    // Two steps away is too far.
    app.clock.advance(60);
    let token = password_step(&app, "drifter").await;
    let far = second_step(
        &app,
        &token,
        "totp",
        &code_at(&secret, app.clock.now() + 60),
    )
    .await;
    assert_eq!(far.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn each_recovery_code_signs_in_once_and_the_count_goes_down() {
    let app = spawn_app().await;
    let tokens = app.signed_in("coder").await;
    let (_, codes) = enrol(&app, &tokens).await;
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 14 && c.matches('-').count() == 2)
    );
    let token = password_step(&app, "coder").await;
    // Typed in capitals without dashes: still the code.
    let typed = codes[0].replace('-', " ").to_uppercase();
    let used = second_step(&app, &token, "recovery_code", &typed).await;
    assert_eq!(used.status(), StatusCode::OK);
    let token = password_step(&app, "coder").await;
    let again = second_step(&app, &token, "recovery_code", &codes[0]).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    let factors: Value = app
        .get("/api/me/factors", &tokens.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        factors,
        json!({"totp": true, "totp_pending": false, "recovery_codes_left": 9, "passkeys": 0})
    );
    let neither = app
        .post_json("/api/auth/mfa", &json!({"mfa_token": token}))
        .await;
    assert_eq!(neither.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_second_step_expires_and_a_password_change_voids_it() {
    let app = spawn_app().await;
    let tokens = app.signed_in("expiring").await;
    let (secret, _) = enrol(&app, &tokens).await;
    let token = password_step(&app, "expiring").await;
    app.clock.advance(5 * 60 + 1);
    let late = second_step(&app, &token, "totp", &code_at(&secret, app.clock.now())).await;
    assert_eq!(
        assert_problem(late, StatusCode::UNAUTHORIZED).await["code"],
        "mfa_token_invalid"
    );

    let token = password_step(&app, "expiring").await;
    let changed = post(
        &app,
        "/api/me/password",
        &tokens.access,
        &json!({"current_password": PASSWORD, "new_password": "a different long passphrase 77"}),
    )
    .await;
    assert!(changed.status().is_success(), "{}", changed.status());
    let stale = second_step(&app, &token, "totp", &code_at(&secret, app.clock.now())).await;
    assert_eq!(
        assert_problem(stale, StatusCode::UNAUTHORIZED).await["code"],
        "mfa_token_invalid"
    );
}

#[tokio::test]
async fn wrong_codes_are_throttled_per_account_while_the_password_step_answers_as_before() {
    let app = spawn_app().await;
    let tokens = app.signed_in("guessed").await;
    let (secret, _) = enrol(&app, &tokens).await;
    let token = password_step(&app, "guessed").await;
    for _ in 0..5 {
        let wrong = second_step(&app, &token, "totp", "000000").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    // Five wrong codes used the token up.
    let right = code_at(&secret, app.clock.now());
    let used_up = second_step(&app, &token, "totp", &right).await;
    assert_eq!(used_up.status(), StatusCode::UNAUTHORIZED);
    // The password step is not told about the second step's throttle...
    let token = password_step(&app, "guessed").await;
    // ...the second step is: even the right code waits.
    let throttled = second_step(&app, &token, "totp", &right).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().get("retry-after").is_some());
    app.clock.advance(2);
    let after = second_step(&app, &token, "totp", &right).await;
    assert_eq!(after.status(), StatusCode::OK);
}

#[tokio::test]
async fn changing_factors_needs_a_recent_sign_in_or_a_fresh_code() {
    let app = spawn_app().await;
    let tokens = app.signed_in("stepup").await;
    let (secret, codes) = enrol(&app, &tokens).await;
    app.clock.advance(11 * 60);
    let stale = post(&app, "/api/me/recovery-codes", &tokens.access, &json!({})).await;
    assert_eq!(
        assert_problem(stale, StatusCode::FORBIDDEN).await["code"],
        "reauthentication_required"
    );
    let removal = app.delete("/api/me/totp", &tokens.access).await;
    assert_eq!(removal.status(), StatusCode::FORBIDDEN);
    // With a second factor, the password alone does not confirm.
    let password = post(
        &app,
        "/api/me/reauthenticate",
        &tokens.access,
        &json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(password.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let code = code_at(&secret, app.clock.now());
    let confirmed = post(
        &app,
        "/api/me/reauthenticate",
        &tokens.access,
        &json!({"totp": code}),
    )
    .await;
    assert_eq!(confirmed.status(), StatusCode::NO_CONTENT);
    let renewed = post(&app, "/api/me/recovery-codes", &tokens.access, &json!({})).await;
    assert_eq!(renewed.status(), StatusCode::OK);
    let new_codes: Value = renewed.json().await.unwrap();
    assert_eq!(new_codes["recovery_codes"].as_array().unwrap().len(), 10);
    let token = password_step(&app, "stepup").await;
    let old = second_step(&app, &token, "recovery_code", &codes[1]).await;
    assert_eq!(
        old.status(),
        StatusCode::UNAUTHORIZED,
        "the old set is dead"
    );
    assert_eq!(
        app.delete("/api/me/totp", &tokens.access).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.login("stepup", PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_a_second_factor_the_password_confirms_and_a_new_set_up_starts_over() {
    let app = spawn_app().await;
    let tokens = app.signed_in("plain").await;
    app.clock.advance(11 * 60);
    let stale = post(&app, "/api/me/totp", &tokens.access, &json!({})).await;
    assert_eq!(stale.status(), StatusCode::FORBIDDEN);
    let wrong = post(
        &app,
        "/api/me/reauthenticate",
        &tokens.access,
        &json!({"password": "not it at all, sorry"}),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let right = post(
        &app,
        "/api/me/reauthenticate",
        &tokens.access,
        &json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(right.status(), StatusCode::NO_CONTENT);
    let first: Value = post(&app, "/api/me/totp", &tokens.access, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let second: Value = post(&app, "/api/me/totp", &tokens.access, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(first["secret"], second["secret"]);
    // Only the newest set-up can be confirmed.
    let old = code_at(first["secret"].as_str().unwrap(), app.clock.now());
    let refused = post(
        &app,
        "/api/me/totp/confirm",
        &tokens.access,
        &json!({"code": old}),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let codes = post(&app, "/api/me/recovery-codes", &tokens.access, &json!({})).await;
    assert_eq!(
        assert_problem(codes, StatusCode::CONFLICT).await["code"],
        "no_second_factor"
    );
}
