//! Rotation, grace window, reuse detection and session lifetimes. Server time moves through the
//! injectable clock, which issues and checks access tokens alike.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn every_refresh_rotates_along_a_chain_of_50() {
    let app = spawn_app().await;
    let first = app.signed_in("alice").await;
    let session_id = app.me(&first.access).await["session_id"].clone();

    let mut seen = HashSet::from([first.refresh.clone()]);
    let mut current = first;
    for _ in 0..50 {
        let next = app.refresh_ok(&current.refresh).await;
        assert!(
            seen.insert(next.refresh.clone()),
            "a refresh token came back twice"
        );
        assert_eq!(app.me(&next.access).await["session_id"], session_id);
        current = next;
    }
    assert_eq!(
        app.unused_refresh_tokens(session_id.as_str().unwrap())
            .await,
        1
    );
}

#[tokio::test]
async fn refresh_answers_with_the_login_shape() {
    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;

    let response = app.refresh(&tokens.refresh).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_expires_in"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn reuse_after_the_grace_window_revokes_the_session_and_its_newest_token() {
    let app = spawn_app().await;
    let first = app.signed_in("alice").await;
    let second = app.refresh_ok(&first.refresh).await;
    let third = app.refresh_ok(&second.refresh).await;

    app.clock.advance(11); // past the 10 s grace window
    let replay = assert_problem(app.refresh(&first.refresh).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(replay["code"], "refresh_token_reused");

    // The newest token of the family is dead too.
    assert_problem(app.refresh(&third.refresh).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn inside_the_grace_window_the_same_successor_is_returned() {
    let app = spawn_app().await;
    let first = app.signed_in("alice").await;
    let second = app.refresh_ok(&first.refresh).await;

    app.clock.advance(9);
    let again = app.refresh_ok(&first.refresh).await;

    assert_eq!(again.refresh, second.refresh);
    // And that successor still works exactly once more.
    app.refresh_ok(&second.refresh).await;
}

#[tokio::test]
async fn a_token_two_generations_old_is_reuse_even_inside_the_grace_window() {
    let app = spawn_app().await;
    let first = app.signed_in("alice").await;
    let second = app.refresh_ok(&first.refresh).await;
    let third = app.refresh_ok(&second.refresh).await;

    let replay = assert_problem(app.refresh(&first.refresh).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(replay["code"], "refresh_token_reused");
    assert_problem(app.refresh(&third.refresh).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn twenty_concurrent_refreshes_with_one_token_all_get_the_same_successor() {
    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;
    let session_id = app.me(&tokens.access).await["session_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let client = app.client.clone();
        let url = app.url("/api/auth/refresh");
        let body = json!({ "refresh_token": tokens.refresh });
        tasks.spawn(async move {
            let response = client.post(url).json(&body).send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        });
    }
    let mut successors = HashSet::new();
    while let Some(result) = tasks.join_next().await {
        let (status, body) = result.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        successors.insert(body["refresh_token"].as_str().unwrap().to_owned());
    }

    assert_eq!(successors.len(), 1, "the family branched");
    assert_eq!(app.unused_refresh_tokens(&session_id).await, 1);
    let successor = successors.into_iter().next().unwrap();
    app.refresh_ok(&successor).await;
}

#[tokio::test]
async fn unknown_and_malformed_refresh_tokens_get_401() {
    let app = spawn_app().await;
    for token in ["", "nope", &"A".repeat(43), &"A".repeat(10_000)] {
        let body = assert_problem(app.refresh(token).await, StatusCode::UNAUTHORIZED).await;
        assert_eq!(body["code"], "invalid_refresh_token");
    }
}

#[tokio::test]
async fn an_idle_session_ends_and_refreshing_renews_the_idle_lifetime() {
    let app = spawn_app_with(|s| {
        s.idle_ttl = std::time::Duration::from_secs(3600);
        s.absolute_ttl = std::time::Duration::from_secs(3 * 3600);
    })
    .await;
    let mut tokens = app.signed_in("alice").await;

    // Refreshing every (idle - 1 s) keeps the session alive...
    app.clock.advance(3599);
    tokens = app.refresh_ok(&tokens.refresh).await;
    app.clock.advance(3599);
    tokens = app.refresh_ok(&tokens.refresh).await;

    // ...but a full idle lifetime without use ends it.
    app.clock.advance(3600);
    assert_problem(app.refresh(&tokens.refresh).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_however_active() {
    let app = spawn_app_with(|s| {
        s.idle_ttl = std::time::Duration::from_secs(3600);
        s.absolute_ttl = std::time::Duration::from_secs(3 * 3600);
    })
    .await;
    let mut tokens = app.signed_in("alice").await;
    let mut elapsed = 0;
    loop {
        app.clock.advance(3599);
        elapsed += 3599;
        let response = app.refresh(&tokens.refresh).await;
        if elapsed < 3 * 3600 {
            assert_eq!(
                response.status(),
                StatusCode::OK,
                "refused after {elapsed} s"
            );
            let body: Value = response.json().await.unwrap();
            // What is left never exceeds the absolute end.
            assert!(body["refresh_expires_in"].as_i64().unwrap() <= 3 * 3600 - elapsed);
            tokens = crate::helpers::Tokens::from_body(&body);
        } else {
            assert_problem(response, StatusCode::UNAUTHORIZED).await;
            break;
        }
    }
}
