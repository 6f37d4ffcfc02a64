//! The reset and verification pages, used as a browser without JavaScript uses them, with the
//! links from real mails.

use reqwest::StatusCode;

use crate::browser::location;
use crate::helpers::{PASSWORD, spawn_app_with};
use crate::mailbox::{SmtpServer, unique_address};
use crate::recovery::{NEW_PASSWORD, app_mailing_to, verified_user};

#[tokio::test]
async fn forgot_password_on_the_pages_from_the_sign_in_link_to_signing_in_again() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let email = verified_user(&app, &smtp, "pageforget").await;
    let browser = app.browser();
    assert!(browser.page("/login").await.contains("href=\"/forgot\""));

    let sent = browser
        .submit("/forgot", "/forgot", &[("identifier", &email)])
        .await;
    assert_eq!(sent.status(), StatusCode::OK);
    let said = sent.text().await.unwrap();
    assert!(said.contains("If an account has that username"), "{said}");
    // The same words for nobody.
    let nobody = browser
        .submit("/forgot", "/forgot", &[("identifier", "nobody-like-this")])
        .await;
    assert!(
        nobody
            .text()
            .await
            .unwrap()
            .contains("If an account has that username")
    );

    let mail = smtp.nth(&email, 2).await;
    let link = mail.link("/reset");
    let path = &link[app.address.len()..];
    let form = browser.page(path).await;
    assert!(form.contains("pageforget") && form.contains("autocomplete=\"new-password\""));
    let differ = browser
        .submit(
            path,
            "/reset",
            &[
                ("token", &mail.token("/reset")),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(differ.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let done = browser
        .submit(
            path,
            "/reset",
            &[
                ("token", &mail.token("/reset")),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/login");
    assert!(
        browser
            .page("/login")
            .await
            .contains("Your password is set")
    );
    assert_eq!(
        app.login("pageforget", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );

    // The used link's page says so and offers a new one.
    let used = browser.get(path).await;
    assert_eq!(used.status(), StatusCode::BAD_REQUEST);
    let html = used.text().await.unwrap();
    assert!(
        html.contains("Ask for a new link") && !html.contains("new_password\""),
        "{html}"
    );
}

#[tokio::test]
async fn the_verification_page_confirms_only_when_its_button_is_pressed() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let browser = app.browser();
    let email = unique_address("pageverify");
    let registered = browser
        .submit(
            "/register",
            "/register",
            &[
                ("username", "pageverify"),
                ("email", &email),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(registered.status(), StatusCode::SEE_OTHER);
    let mail = smtp.nth(&email, 1).await;
    let path = mail.link("/verify")[app.address.len()..].to_owned();
    let button = browser.page(&path).await;
    assert!(button.contains("Confirm my address"));
    let confirmed = browser
        .submit(&path, "/verify", &[("token", &mail.token("/verify"))])
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert!(confirmed.text().await.unwrap().contains("is confirmed"));
}

#[tokio::test]
async fn in_production_without_smtp_the_pages_and_the_api_say_to_ask_an_administrator() {
    let app = spawn_app_with(|s| {
        s.env = latchkey::config::Mode::Production;
        s.cookie_secure = true;
        s.bcrypt_cost = 10;
        s.secret = Some(latchkey::config::Secret::new("p".repeat(64)));
        s.public_url = Some("https://auth.example.com".into());
    })
    .await;
    let page = app.client.get(app.url("/forgot")).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("ask an administrator"));
    let api = crate::recovery::request_reset(&app, "anyone").await;
    let problem = crate::helpers::assert_problem(api, StatusCode::FORBIDDEN).await;
    assert_eq!(problem["code"], "email_recovery_off");
}
