//! Email addresses: registration, verification links from real mails, and what needs them.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, assert_problem, spawn_app_with};
use crate::mailbox::{SmtpServer, unique_address};
use crate::recovery::{app_mailing_to, verified_user};

#[tokio::test]
async fn a_verified_address_shows_in_the_account_and_in_new_access_tokens() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let email = unique_address("Verifier");
    let registered = app
        .post_json(
            "/api/auth/register",
            &json!({"username": "verifier", "password": PASSWORD, "email": email}),
        )
        .await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let body: serde_json::Value = registered.json().await.unwrap();
    assert_eq!(body["email_verified"], false);
    let tokens = app.signed_in("verifier").await;
    assert_eq!(app.me(&tokens.access).await["email_verified"], false);

    let mail = smtp.nth(&email, 1).await;
    // The page shows a button and spends nothing; the POST confirms.
    let page = app.client.get(mail.link("/verify")).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("Confirm my address"));
    let verified = app
        .post_json(
            "/api/auth/verify-email",
            &json!({"token": mail.token("/verify")}),
        )
        .await;
    assert_eq!(verified.status(), StatusCode::OK);
    let body: serde_json::Value = verified.json().await.unwrap();
    assert_eq!(body["email_verified"], true);
    let renewed = app.refresh_ok(&tokens.refresh).await;
    let me = app.me(&renewed.access).await;
    assert_eq!(me["email_verified"], true);
    assert_eq!(
        me["email"].as_str().unwrap().to_lowercase(),
        email.to_lowercase()
    );
    // Single use.
    let again = app
        .post_json(
            "/api/auth/verify-email",
            &json!({"token": mail.token("/verify")}),
        )
        .await;
    assert_eq!(
        assert_problem(again, StatusCode::BAD_REQUEST).await["code"],
        "invalid_link"
    );
}

#[tokio::test]
async fn an_address_verified_by_one_account_cannot_be_verified_by_another() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let email = verified_user(&app, &smtp, "firstowner").await;
    // Registering with it answers like any registration (nothing tells it is taken)...
    let second = app
        .post_json(
            "/api/auth/register",
            &json!({"username": "secondowner", "password": PASSWORD, "email": email.to_uppercase()}),
        )
        .await;
    assert_eq!(second.status(), StatusCode::CREATED);
    // ...and only the mailbox's owner, holding the link, learns that it is.
    let mail = smtp.nth(&email, 2).await;
    let refused = app
        .post_json(
            "/api/auth/verify-email",
            &json!({"token": mail.token("/verify")}),
        )
        .await;
    assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
}

#[tokio::test]
async fn with_verified_addresses_required_sign_in_waits_for_the_link_and_offers_a_new_one() {
    let smtp = SmtpServer::shared();
    let url = smtp.url();
    let app = spawn_app_with(move |s| {
        s.smtp_url = Some(latchkey::config::Secret::new(url));
        s.require_verified_email = true;
        s.require_email = true;
    })
    .await;
    let without = app.register("noemail", PASSWORD).await;
    let problem = assert_problem(without, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["errors"][0]["field"], "email");

    let email = unique_address("waiting");
    app.post_json(
        "/api/auth/register",
        &json!({"username": "waiting", "password": PASSWORD, "email": email}),
    )
    .await;
    let refused = assert_problem(app.login("waiting", PASSWORD).await, StatusCode::FORBIDDEN).await;
    assert_eq!(refused["code"], "email_not_verified");
    assert!(refused["detail"].as_str().unwrap().contains("resend"));
    // A wrong password still gets the usual answer: the refusal tells nothing to a guesser.
    let wrong = app.login("waiting", "wrong password entirely").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let resent = app
        .post_json(
            "/api/auth/verify-email/resend",
            &json!({"username": "waiting"}),
        )
        .await;
    assert_eq!(resent.status(), StatusCode::ACCEPTED);
    let mails = smtp.wait_for(&email, 2).await;
    // The newer link works; the older one was voided by it.
    let older = app
        .post_json(
            "/api/auth/verify-email",
            &json!({"token": mails[0].token("/verify")}),
        )
        .await;
    assert_problem(older, StatusCode::BAD_REQUEST).await;
    let newer = app
        .post_json(
            "/api/auth/verify-email",
            &json!({"token": mails[1].token("/verify")}),
        )
        .await;
    assert_eq!(newer.status(), StatusCode::OK);
    assert_eq!(
        app.login("waiting", PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn addresses_that_are_not_addresses_are_refused_at_registration_with_the_field_named() {
    let app = spawn_app_with(|_| {}).await;
    let response = app
        .post_json(
            "/api/auth/register",
            &json!({"username": "typo", "password": "short", "email": "typo@localhost"}),
        )
        .await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"email") && fields.contains(&"password"),
        "{fields:?}"
    );
}

#[tokio::test]
async fn a_new_address_takes_effect_only_once_confirmed_and_the_old_one_is_told() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let old = verified_user(&app, &smtp, "mover").await;
    let tokens = app.signed_in("mover").await;
    let new = unique_address("moved");
    let change = |password: &'static str| {
        app.client
            .post(app.url("/api/me/email"))
            .bearer_auth(&tokens.access)
            .json(&json!({"email": new, "current_password": password}))
            .send()
    };
    let wrong = assert_problem(
        change("not my password at all").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(wrong["errors"][0]["field"], "current_password");
    let asked = change(PASSWORD).await.unwrap();
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let link = smtp.nth(&new, 1).await;

    // Until the link is used the old address is still the account's.
    crate::recovery::request_reset(&app, &new).await;
    crate::recovery::request_reset(&app, &old).await;
    let reset_to_old = smtp.nth(&old, 2).await;
    assert!(reset_to_old.subject.contains("reset"));

    let verified = app
        .post_json(
            "/api/auth/verify-email",
            &json!({"token": link.token("/verify")}),
        )
        .await;
    assert_eq!(verified.status(), StatusCode::OK);
    let told = smtp.nth(&old, 3).await;
    assert!(told.subject.contains("email address was changed") && told.text.contains(&new));
    // From now on the new address is the one that resets.
    crate::recovery::request_reset(&app, &format!(" {} ", new.to_uppercase())).await;
    assert!(smtp.nth(&new, 2).await.subject.contains("reset"));
}

#[tokio::test]
async fn the_change_email_page_sends_the_link_and_says_where() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let browser = app.browser();
    browser.register("pagemover").await;
    assert!(browser.page("/").await.contains("Add an email address"));
    let new = unique_address("pagemoved");
    let sent = browser
        .submit(
            "/account/email",
            "/account/email",
            &[("email", &new), ("current_password", PASSWORD)],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let account = browser.page("/").await;
    assert!(
        account.contains(&format!("We sent a link to {new}")),
        "{account}"
    );
    assert!(account.contains("not confirmed"));
    smtp.nth(&new, 1).await;
}
