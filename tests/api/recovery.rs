//! Password reset and address verification against a real SMTP server: every link is read
//! from a mail the server received, and followed.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app_with};
use crate::mailbox::{SmtpServer, unique_address};

pub const NEW_PASSWORD: &str = "a brand new passphrase for later";

/// A server that mails through `smtp`.
pub async fn app_mailing_to(smtp: &SmtpServer) -> TestApp {
    let url = smtp.url();
    spawn_app_with(move |s| s.smtp_url = Some(latchkey::config::Secret::new(url))).await
}

/// Registers `name` with a fresh address and follows the verification link; returns the address.
pub async fn verified_user(app: &TestApp, smtp: &SmtpServer, name: &str) -> String {
    let email = unique_address(name);
    let response = app
        .post_json(
            "/api/auth/register",
            &json!({"username": name, "password": PASSWORD, "email": email}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let mail = smtp.nth(&email, 1).await;
    let verified = app
        .post_json(
            "/api/auth/verify-email",
            &json!({"token": mail.token("/verify")}),
        )
        .await;
    assert_eq!(verified.status(), StatusCode::OK);
    email
}

pub async fn request_reset(app: &TestApp, identifier: &str) -> reqwest::Response {
    app.post_json(
        "/api/auth/password-reset",
        &json!({"identifier": identifier}),
    )
    .await
}

pub async fn confirm(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/api/auth/password-reset/confirm",
        &json!({"token": token, "new_password": password}),
    )
    .await
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_the_link_from_a_real_mail() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let email = verified_user(&app, &smtp, "forgetful").await;
    let before = app.signed_in("forgetful").await;

    let asked_at = std::time::Instant::now();
    let asked = request_reset(&app, &email.to_uppercase()).await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let mail = smtp.nth(&email, 2).await;
    println!(
        "the reset mail arrived {:?} after the request",
        asked_at.elapsed()
    );
    assert!(
        mail.subject.contains("reset your password"),
        "{}",
        mail.subject
    );
    assert!(
        mail.html
            .contains(&mail.link("/reset").replace('&', "&amp;"))
    );
    let link = mail.link("/reset");
    assert!(
        link.starts_with(&app.address),
        "{link} is made from the public URL"
    );

    let done = confirm(&app, &mail.token("/reset"), NEW_PASSWORD).await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    // Every session ended; the new password works and the old one does not.
    assert_eq!(
        app.refresh(&before.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("forgetful", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let signed_in = app.login("forgetful", NEW_PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let after = crate::helpers::Tokens::from_body(&signed_in.json().await.unwrap());
    let events: Value = app
        .get("/api/me/events", &after.access)
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for kind in [
        "password_reset_requested",
        "password_reset_completed",
        "email_verified",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let told = smtp.nth(&email, 3).await;
    assert!(
        told.subject.contains("password was changed"),
        "{}",
        told.subject
    );
    // Used once: the same link does nothing more.
    let again = confirm(&app, &mail.token("/reset"), "yet another passphrase here").await;
    let problem = assert_problem(again, StatusCode::BAD_REQUEST).await;
    assert_eq!(problem["code"], "invalid_link");
}

/// The per-token limit lets 5 of 20 HTTP confirms through at once; the claim itself is raced
/// by 20 threads of the server's own domain service, each with its own connection.
#[tokio::test]
async fn twenty_racing_confirms_of_one_link_set_exactly_one_password() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let email = verified_user(&app, &smtp, "raced").await;
    request_reset(&app, "raced").await;
    let token = smtp.nth(&email, 2).await.token("/reset");
    let auth = app.auth();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(20));
    let threads: Vec<_> = (0..20)
        .map(|i| {
            let (auth, token, barrier) = (auth.clone(), token.clone(), barrier.clone());
            std::thread::spawn(move || {
                let client = latchkey::auth::sessions::ClientInfo::command_line();
                barrier.wait();
                auth.confirm_password_reset(
                    &token,
                    &format!("racing passphrase number {i}"),
                    &client,
                )
                .map_err(|e| e.to_string())
            })
        })
        .collect();
    let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let won = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(won, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| o.as_ref().is_ok_and(|_| true) || o.as_ref().unwrap_err().contains("link")),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn twenty_racing_confirms_over_http_set_one_password_and_the_rest_are_refused() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let email = verified_user(&app, &smtp, "racedhttp").await;
    request_reset(&app, "racedhttp").await;
    let token = smtp.nth(&email, 2).await.token("/reset");
    let attempts = (0..20).map(|i| {
        let (app, token) = (&app, token.clone());
        async move {
            confirm(app, &token, &format!("racing passphrase number {i}"))
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let won = statuses
        .iter()
        .filter(|s| **s == StatusCode::NO_CONTENT)
        .count();
    assert_eq!(won, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == StatusCode::NO_CONTENT
            || *s == StatusCode::BAD_REQUEST
            || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn one_token_gets_five_tries_at_once_then_waits() {
    let app = crate::helpers::spawn_app_with(|s| s.rate_limit = false).await;
    let made_up = "x".repeat(43);
    for _ in 0..5 {
        let tried = confirm(&app, &made_up, NEW_PASSWORD).await;
        assert_eq!(tried.status(), StatusCode::BAD_REQUEST);
    }
    let waits = confirm(&app, &made_up, NEW_PASSWORD).await;
    assert!(waits.headers().contains_key("retry-after"));
    assert_problem(waits, StatusCode::TOO_MANY_REQUESTS).await;
}

#[tokio::test]
async fn opening_the_link_uses_nothing_up_so_a_mail_scanner_cannot_spend_it() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let email = verified_user(&app, &smtp, "scanned").await;
    request_reset(&app, &email).await;
    let mail = smtp.nth(&email, 2).await;
    for _ in 0..3 {
        let page = app.client.get(mail.link("/reset")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("Choose a new password") && html.contains("scanned"));
    }
    let done = confirm(&app, &mail.token("/reset"), NEW_PASSWORD).await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_reset_link_stops_working_after_the_reset_ttl() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let email = verified_user(&app, &smtp, "late").await;
    request_reset(&app, "late").await;
    let token = smtp.nth(&email, 2).await.token("/reset");
    app.clock.advance(30 * 60);
    let problem = assert_problem(
        confirm(&app, &token, NEW_PASSWORD).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(problem["code"], "invalid_link");
    assert_eq!(app.login("late", PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_password_change_by_any_route_voids_an_unused_reset_link() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let email = verified_user(&app, &smtp, "changer").await;
    request_reset(&app, "changer").await;
    let token = smtp.nth(&email, 2).await.token("/reset");
    let tokens = app.signed_in("changer").await;
    let changed = app
        .client
        .post(app.url("/api/me/password"))
        .bearer_auth(&tokens.access)
        .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(changed.status().is_success(), "{}", changed.status());
    let problem = assert_problem(
        confirm(&app, &token, "a thief's chosen passphrase").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(problem["code"], "invalid_link");
}

#[tokio::test]
async fn a_newer_reset_link_voids_the_older_one() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let email = verified_user(&app, &smtp, "twice").await;
    request_reset(&app, "twice").await;
    let older = smtp.nth(&email, 2).await.token("/reset");
    request_reset(&app, "twice").await;
    let newer = smtp.nth(&email, 3).await.token("/reset");
    assert_ne!(older, newer);
    assert_problem(
        confirm(&app, &older, NEW_PASSWORD).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(
        confirm(&app, &newer, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_reset_clears_the_accounts_sign_in_throttle() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let email = verified_user(&app, &smtp, "lockedout").await;
    let mut throttled = false;
    for _ in 0..12 {
        if app
            .login("lockedout", "not the password at all")
            .await
            .status()
            == StatusCode::TOO_MANY_REQUESTS
        {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "the throttle locks the account");
    request_reset(&app, "lockedout").await;
    let token = smtp.nth(&email, 2).await.token("/reset");
    assert_eq!(
        confirm(&app, &token, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.login("lockedout", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_reset_request_answers_alike_for_accounts_with_and_without_an_address_and_for_nobody() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let email = verified_user(&app, &smtp, "known").await;
    app.register("noaddress", PASSWORD).await;
    let mut answers = Vec::new();
    for identifier in [
        email.as_str(),
        "known",
        "noaddress",
        "nobody-here",
        "nobody@example.org",
    ] {
        let response = request_reset(&app, identifier).await;
        let status = response.status();
        let mut headers: Vec<String> = response
            .headers()
            .iter()
            .filter(|(name, _)| {
                !["date", "x-request-id", "content-length"].contains(&name.as_str())
            })
            .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
            .collect();
        headers.sort();
        let body: Value = response.json().await.unwrap();
        answers.push((status, headers, body));
    }
    assert_eq!(answers[0].0, StatusCode::ACCEPTED);
    for answer in &answers[1..] {
        assert_eq!(*answer, answers[0]);
    }
    // Only the account with a verified address got mail (its verification, then two resets).
    smtp.wait_for(&email, 3).await;
}

#[tokio::test]
async fn reset_requests_are_limited_per_identifier_whether_or_not_it_exists() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    verified_user(&app, &smtp, "popular").await;
    for identifier in ["popular", "nobody-at-all"] {
        for _ in 0..3 {
            assert_eq!(
                request_reset(&app, identifier).await.status(),
                StatusCode::ACCEPTED
            );
        }
        let refused = request_reset(&app, &identifier.to_uppercase()).await;
        let problem = assert_problem(refused, StatusCode::TOO_MANY_REQUESTS).await;
        assert_eq!(problem["code"], "rate_limited");
    }
}

#[tokio::test]
async fn an_unverified_address_gets_no_reset_link() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let email = unique_address("unverified");
    app.post_json(
        "/api/auth/register",
        &json!({"username": "unverified", "password": PASSWORD, "email": email}),
    )
    .await;
    smtp.wait_for(&email, 1).await;
    assert_eq!(
        request_reset(&app, "unverified").await.status(),
        StatusCode::ACCEPTED
    );
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let mails = smtp.mails_to(&email);
    assert_eq!(mails.len(), 1, "only the verification mail: {mails:?}");
    assert!(mails[0].subject.contains("confirm your email"));
}
