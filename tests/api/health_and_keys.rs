//! Health, the JWKS, key rotation and restarts.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with};

async fn jwks(app: &crate::helpers::TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    response.json().await.unwrap()
}

fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn healthz_answers_200_when_the_database_answers() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_jwks_publishes_the_signing_key_as_an_ed25519_jwk() {
    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;

    let set = jwks(&app).await;

    let keys = set["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert_eq!(keys[0]["kid"], kid_of(&tokens.access));
    assert!(
        keys[0].get("d").is_none(),
        "the private key must never be published"
    );
}

#[tokio::test]
async fn restarting_keeps_users_sessions_and_keys() {
    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;
    let keys_before = jwks(&app).await;

    let app = app.restart().await;

    assert_eq!(jwks(&app).await, keys_before);
    // The old access token still verifies, the session still refreshes, the password works.
    app.me(&tokens.access).await;
    app.refresh_ok(&tokens.refresh).await;
    app.login_ok("alice").await;
}

#[tokio::test]
async fn a_rotated_key_signs_new_tokens_while_old_tokens_stay_valid() {
    let app = spawn_app_with(|s| {
        s.key_reload_interval = Duration::from_secs(1);
        s.jwks_max_age = Duration::from_secs(1);
    })
    .await;
    let before = app.signed_in("alice").await;
    let old_kid = kid_of(&before.access);
    // The first key has been out for a while (a brand-new database signs with its newest key).
    app.clock.advance(3);

    // Rotate (as `latchkey keys rotate` does) three times within one second: the newest key
    // must sign even though the creation timestamps tie.
    let mut new_kid = String::new();
    for _ in 0..3 {
        let auth = app.auth();
        new_kid = tokio::task::spawn_blocking(move || auth.rotate_keys())
            .await
            .unwrap()
            .unwrap();
    }
    assert_ne!(new_kid, old_kid);

    // Published first: in the JWKS at once, while the old key goes on signing for
    // max(reload interval, JWKS max-age) + the key watch's second + one for whole-second
    // timestamps (3 s here), so every instance and every verifier's cached JWKS has the new
    // key before any token names it.
    let kids: Vec<String> = jwks(&app).await["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        kids.contains(&old_kid) && kids.contains(&new_kid),
        "{kids:?}"
    );
    assert_eq!(kid_of(&app.login_ok("alice").await.access), old_kid);
    app.clock.advance(2);
    let auth = app.auth();
    tokio::task::spawn_blocking(move || auth.reload_keys())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kid_of(&app.login_ok("alice").await.access), old_kid);

    app.clock.advance(1);
    let auth = app.auth();
    tokio::task::spawn_blocking(move || auth.reload_keys())
        .await
        .unwrap()
        .unwrap();
    let after = app.login_ok("alice").await;
    assert_eq!(kid_of(&after.access), new_kid);
    app.me(&before.access).await;
    app.me(&after.access).await;
}

#[tokio::test]
async fn the_database_alone_cannot_open_the_signing_keys() {
    let app = spawn_app().await;
    app.signed_in("alice").await;
    let mut stolen = app.settings.clone();
    stolen.secret = Some(latchkey::config::Secret::new(
        "a-different-secret-of-the-same-length-000000",
    ));
    stolen.addr = "127.0.0.1:0".into();

    let error = latchkey::startup::Application::build(stolen)
        .err()
        .expect("must refuse to start");
    assert!(error.to_string().contains("server secret"), "{error}");
}

#[tokio::test]
async fn readyz_answers_200_when_the_database_answers_and_migrations_are_applied() {
    let app = spawn_app().await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ok");
}

#[tokio::test]
async fn the_jwks_has_an_etag_and_answers_304_when_unchanged() {
    let app = spawn_app().await;
    let first = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.headers()["cache-control"], "public, max-age=300");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    let again = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.unwrap().is_empty());

    let auth = app.auth();
    tokio::task::spawn_blocking(move || auth.rotate_keys())
        .await
        .unwrap()
        .unwrap();
    let rotated = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), StatusCode::OK);
    assert_ne!(rotated.headers()["etag"].to_str().unwrap(), etag);
}
