//! Pages know who is looking: the menu of whoever is signed in, registration offered only where
//! it is open, and no way to register over a live sign-in.

use reqwest::StatusCode;

use crate::browser::location;
use crate::helpers::{PASSWORD, spawn_app, spawn_app_with};

#[tokio::test]
async fn with_registration_closed_no_page_offers_an_account_and_register_says_why() {
    let app = spawn_app_with(|s| s.registration = latchkey::config::Registration::Closed).await;
    let browser = app.browser();
    for path in ["/login", "/no-such-page"] {
        let html = browser.get(path).await.text().await.unwrap();
        assert!(
            !html.contains("href=\"/register\""),
            "{path} offers registration"
        );
    }
    let register = browser.get("/register").await;
    assert_eq!(register.status(), StatusCode::FORBIDDEN);
    let html = register.text().await.unwrap();
    assert!(html.contains("Registration is closed"), "{html}");
    assert!(
        !html.contains("action=\"/register\""),
        "the form is still served"
    );
}

#[tokio::test]
async fn with_registration_open_the_sign_in_page_and_the_menu_offer_it() {
    let app = spawn_app().await;
    let html = app.browser().get("/login").await.text().await.unwrap();
    assert_eq!(html.matches("href=\"/register\"").count(), 2, "{html}");
}

#[tokio::test]
async fn the_404_page_shows_the_signed_in_menu() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    browser.sign_in("alice").await;

    let missing = browser.get("/no-such-page").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let html = missing.text().await.unwrap();
    assert!(html.contains("Sign out"), "{html}");
    assert!(!html.contains("href=\"/login\""), "{html}");
}

#[tokio::test]
async fn opening_register_while_signed_in_goes_to_the_account_page() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    browser.sign_in("alice").await;

    let register = browser.get("/register").await;
    assert_eq!(register.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&register), "/");
    // Still alice, on the same session.
    let account = browser.page("/").await;
    assert!(account.contains("alice"));
}

#[tokio::test]
async fn the_change_password_form_names_the_account_for_password_managers() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    browser.sign_in("alice").await;

    let html = browser.page("/account/password").await;
    assert!(
        html.contains(r#"name="username" value="alice" autocomplete="username" hidden"#),
        "{html}"
    );
}

#[tokio::test]
async fn a_form_sent_after_the_session_ended_leads_to_sign_in_and_back_to_the_form() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    browser.sign_in("alice").await;
    let token = browser.csrf("/account/password").await;
    // Signed out elsewhere while the form is open.
    let api = app.login_ok("alice").await;
    app.delete("/api/sessions", &api.access).await;

    let new = "an entirely new passphrase 2027";
    let fields = [
        ("csrf_token", token.as_str()),
        ("current_password", PASSWORD),
        ("new_password", new),
        ("new_password_confirm", new),
    ];
    let sent = browser.post_form("/account/password", &fields).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let to = location(&sent);
    assert_eq!(to, "/login?next=%2Faccount%2Fpassword&reason=ended_form");
    let html = browser.page(&to).await;
    assert!(html.contains("nothing was changed"), "{html}");

    // Signing in from there (the page carries `next` in its form) returns to the form.
    assert!(
        html.contains(r#"name="next" value="/account/password""#),
        "{html}"
    );
    let back = browser
        .submit(
            &to,
            "/login",
            &[
                ("username", "alice"),
                ("password", PASSWORD),
                ("next", "/account/password"),
            ],
        )
        .await;
    assert_eq!(location(&back), "/account/password");

    // A button's form (revoking a session) returns to the page it sits on.
    let token = browser.csrf("/sessions").await;
    let api = app.login_ok("alice").await;
    app.delete("/api/sessions", &api.access).await;
    let revoke = browser
        .post_form("/sessions/revoke-others", &[("csrf_token", token.as_str())])
        .await;
    assert_eq!(
        location(&revoke),
        "/login?next=%2Fsessions&reason=ended_form"
    );
}
