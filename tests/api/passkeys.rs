//! Passkeys over the API, up to what needs an authenticator (the whole ceremony, with
//! Chromium's virtual authenticator, is in tests/browser/passkeys.test.mjs): the options asked
//! for, ceremonies used once and only by their own kind, answers that do not verify, and a
//! server without a host name.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};
use crate::second_factors::post;

/// A credential with the right shape that no authenticator made.
fn forged_assertion() -> Value {
    json!({
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": {"authenticatorData": "AAAA", "clientDataJSON": "AAAA", "signature": "AAAA", "userHandle": "AAAA"},
        "extensions": {}
    })
}

#[tokio::test]
async fn registration_asks_for_a_discoverable_passkey_with_user_verification_for_this_site() {
    let app = spawn_app().await;
    let tokens = app.signed_in("keyasker").await;
    let begun = post(&app, "/api/me/passkeys/begin", &tokens.access, &json!({})).await;
    assert_eq!(begun.status(), StatusCode::OK);
    let options: Value = begun.json().await.unwrap();
    let public_key = &options["publicKey"];
    assert_eq!(public_key["rp"]["id"], "localhost", "{options}");
    assert_eq!(public_key["user"]["name"], "keyasker");
    assert_eq!(
        public_key["authenticatorSelection"]["residentKey"],
        "required"
    );
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert!(public_key["challenge"].as_str().unwrap().len() >= 43);
    let signed_in: Value = app
        .post_json("/api/auth/passkey/begin", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(signed_in["publicKey"]["rpId"], "localhost");
    assert_eq!(signed_in["publicKey"]["userVerification"], "required");
    assert!(signed_in["challenge_id"].is_string());
}

#[tokio::test]
async fn a_forged_or_unknown_answer_is_refused_and_nothing_is_registered() {
    let app = spawn_app().await;
    let tokens = app.signed_in("forger").await;
    let unknown = app
        .post_json(
            "/api/auth/passkey/finish",
            &json!({"challenge_id": "no-such-ceremony", "credential": forged_assertion()}),
        )
        .await;
    assert_eq!(
        assert_problem(unknown, StatusCode::BAD_REQUEST).await["code"],
        "passkey_request_invalid"
    );
    let begun: Value = app
        .post_json("/api/auth/passkey/begin", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let forged = app
        .post_json(
            "/api/auth/passkey/finish",
            &json!({"challenge_id": begun["challenge_id"], "credential": forged_assertion()}),
        )
        .await;
    assert_eq!(
        assert_problem(forged, StatusCode::UNAUTHORIZED).await["code"],
        "passkey_refused"
    );
    // A registration cannot be finished without one under way, and a shape that is not a
    // credential is refused as invalid input.
    let finish = post(
        &app,
        "/api/me/passkeys/finish",
        &tokens.access,
        &json!({"name": "Fake", "credential": {"id": "AAAA", "rawId": "AAAA", "type": "public-key",
            "response": {"attestationObject": "AAAA", "clientDataJSON": "AAAA"}, "extensions": {}}}),
    )
    .await;
    assert_eq!(
        assert_problem(finish, StatusCode::BAD_REQUEST).await["code"],
        "passkey_request_invalid"
    );
    let shapeless = post(
        &app,
        "/api/me/passkeys/finish",
        &tokens.access,
        &json!({"name": "x", "credential": {}}),
    )
    .await;
    assert_eq!(shapeless.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let list: Value = app
        .get("/api/me/passkeys", &tokens.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));
    let gone = app
        .delete("/api/me/passkeys/not-a-passkey", &tokens.access)
        .await;
    assert_eq!(
        assert_problem(gone, StatusCode::NOT_FOUND).await["code"],
        "passkey_not_found"
    );
}

#[tokio::test]
async fn registering_a_passkey_needs_a_recent_sign_in() {
    let app = spawn_app().await;
    let tokens = app.signed_in("latecomer").await;
    app.clock.advance(11 * 60);
    let stale = post(&app, "/api/me/passkeys/begin", &tokens.access, &json!({})).await;
    assert_eq!(
        assert_problem(stale, StatusCode::FORBIDDEN).await["code"],
        "reauthentication_required"
    );
}

#[tokio::test]
async fn a_server_reached_by_an_ip_address_says_passkeys_are_unavailable() {
    let app = spawn_app_with(|s| s.public_url = Some("https://192.0.2.10".into())).await;
    let begun = app.post_json("/api/auth/passkey/begin", &json!({})).await;
    assert_eq!(
        assert_problem(begun, StatusCode::FORBIDDEN).await["code"],
        "passkeys_unavailable"
    );
    let login = app.client.get(app.url("/login")).send().await.unwrap();
    assert!(
        !login
            .text()
            .await
            .unwrap()
            .contains("Sign in with a passkey")
    );
}
