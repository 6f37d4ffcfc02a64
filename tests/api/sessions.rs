//! The caller's own sessions, logout and revocation.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_invalid_token, assert_problem, spawn_app};

async fn session_id(app: &crate::helpers::TestApp, access: &str) -> String {
    app.me(access).await["session_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_user_lists_their_live_sessions_with_the_current_one_marked() {
    let app = spawn_app().await;
    let laptop = app.signed_in("alice").await;
    let phone = app.login_ok("alice").await;
    app.signed_in("bob").await;

    let response = app.get("/api/sessions", &laptop.access).await;

    assert_eq!(response.status(), StatusCode::OK);
    let sessions: Vec<Value> = response.json().await.unwrap();
    assert_eq!(sessions.len(), 2, "only alice's sessions: {sessions:?}");
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], session_id(&app, &laptop.access).await);
    let other = sessions.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(other["id"], session_id(&app, &phone.access).await);
    for field in ["created_at", "last_used_at", "expires_at"] {
        assert!(
            other[field].as_str().unwrap().ends_with('Z'),
            "{field}: {other}"
        );
    }
    assert_eq!(other["user_agent"], "latchkey-tests/1.0");
    assert_eq!(other["ip"], "127.0.0.1");
}

#[tokio::test]
async fn revoking_one_of_my_sessions_kills_its_refresh_token() {
    let app = spawn_app().await;
    let laptop = app.signed_in("alice").await;
    let phone = app.login_ok("alice").await;
    let phone_id = session_id(&app, &phone.access).await;

    let response = app
        .delete(&format!("/api/sessions/{phone_id}"), &laptop.access)
        .await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_problem(app.refresh(&phone.refresh).await, StatusCode::UNAUTHORIZED).await;
    app.refresh_ok(&laptop.refresh).await;
    // Gone from the list, and revoking it again is "not found".
    let sessions: Vec<Value> = app
        .get("/api/sessions", &laptop.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sessions.len(), 1);
    let again = app
        .delete(&format!("/api/sessions/{phone_id}"), &laptop.access)
        .await;
    assert_problem(again, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn nobody_can_list_or_revoke_another_users_session() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let mallory = app.signed_in("mallory").await;
    let alice_session = session_id(&app, &alice.access).await;

    let response = app
        .delete(&format!("/api/sessions/{alice_session}"), &mallory.access)
        .await;
    let body = assert_problem(response, StatusCode::NOT_FOUND).await;
    // The same answer as for a session id that does not exist at all.
    let unknown = app
        .delete(
            "/api/sessions/00000000-0000-0000-0000-000000000000",
            &mallory.access,
        )
        .await;
    assert_eq!(assert_problem(unknown, StatusCode::NOT_FOUND).await, body);

    let listed: Vec<Value> = app
        .get("/api/sessions", &mallory.access)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed.iter().all(|s| s["id"] != alice_session.as_str()));
    app.refresh_ok(&alice.refresh).await;
}

#[tokio::test]
async fn signing_out_all_other_devices_keeps_the_current_one() {
    let app = spawn_app().await;
    let current = app.signed_in("alice").await;
    let other_a = app.login_ok("alice").await;
    let other_b = app.login_ok("alice").await;
    let bob = app.signed_in("bob").await;

    let response = app.delete("/api/sessions", &current.access).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "revoked": 2 })
    );
    assert_problem(
        app.refresh(&other_a.refresh).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_problem(
        app.refresh(&other_b.refresh).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    app.refresh_ok(&current.refresh).await;
    app.refresh_ok(&bob.refresh).await;
}

#[tokio::test]
async fn session_endpoints_refuse_the_access_token_of_a_revoked_session() {
    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;
    let response = app.logout(&tokens.access).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    // /api/me trusts the token until it expires (documented trade-off)...
    app.me(&tokens.access).await;
    // ...but managing sessions checks that the session is still live.
    for response in [
        app.get("/api/sessions", &tokens.access).await,
        app.delete("/api/sessions", &tokens.access).await,
    ] {
        assert_invalid_token(&response);
        let body = assert_problem(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(body["code"], "session_ended");
    }
}

#[tokio::test]
async fn logout_with_a_bearer_token_ends_its_session() {
    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;

    let response = app.logout(&tokens.access).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_problem(app.refresh(&tokens.refresh).await, StatusCode::UNAUTHORIZED).await;
    // Logging out twice is fine.
    let again = app.logout(&tokens.access).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn logout_with_a_refresh_token_ends_its_session() {
    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;

    let response = app
        .post_json(
            "/api/auth/logout",
            &json!({ "refresh_token": tokens.refresh }),
        )
        .await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_problem(app.refresh(&tokens.refresh).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn logout_without_credentials_gets_401_and_an_unknown_token_signs_out_like_the_cookie_logout()
{
    let app = spawn_app().await;
    let bare = app
        .client
        .post(app.url("/api/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_invalid_token(&bare);
    let unknown = app
        .post_json(
            "/api/auth/logout",
            &json!({ "refresh_token": "A".repeat(43) }),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NO_CONTENT);
    // The browser's logout answers an unknown cookie the same way.
    let by_cookie = app
        .client
        .post(app.url("/auth/logout"))
        .header("X-Latchkey-Refresh", "1")
        .header("Cookie", format!("latchkey_refresh={}", "A".repeat(43)))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), StatusCode::NO_CONTENT);
    let bad_body = app
        .client
        .post(app.url("/api/auth/logout"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_problem(bad_body, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn revoke_answers_200_for_unknown_tokens_and_revokes_known_ones() {
    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;

    for unknown in ["A".repeat(43), "garbage".into()] {
        let response = app
            .post_json("/api/auth/revoke", &json!({ "refresh_token": unknown }))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    app.refresh_ok(&tokens.refresh).await;

    let fresh = app.login_ok("alice").await;
    let response = app
        .post_json(
            "/api/auth/revoke",
            &json!({ "refresh_token": fresh.refresh }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_problem(app.refresh(&fresh.refresh).await, StatusCode::UNAUTHORIZED).await;
}
