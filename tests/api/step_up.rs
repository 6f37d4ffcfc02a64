//! Step-up for a new password or address: the current password is enough for an account
//! without second factors; one with a second factor also needs a recent sign-in or a fresh
//! code, on the API and on the pages (which send the person to confirm and back).

use reqwest::StatusCode;
use serde_json::json;

use crate::authenticator::code_at;
use crate::browser::{Browser, location};
use crate::helpers::{PASSWORD, assert_problem, spawn_app};
use crate::second_factors::{enrol, post};

const NEW_PASSWORD: &str = "an entirely new passphrase 2027";

/// "Confirm it's you" with an authenticator code, as the page's form sends it; it must lead
/// back to `next`.
pub async fn confirm_with_code(browser: &Browser, code: &str, next: &str) {
    let confirmed = browser
        .submit(
            "/account/confirm-identity",
            "/account/confirm-identity",
            &[("code", code), ("method", "totp"), ("next", next)],
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&confirmed), next);
}

#[tokio::test]
async fn with_a_second_factor_a_stale_session_and_the_right_password_cannot_change_credentials() {
    let app = spawn_app().await;
    let tokens = app.signed_in("stalecreds").await;
    let (secret, _) = enrol(&app, &tokens).await;
    app.clock.advance(11 * 60);
    let change = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
    let password = post(&app, "/api/me/password", &tokens.access, &change).await;
    assert_eq!(
        assert_problem(password, StatusCode::FORBIDDEN).await["code"],
        "reauthentication_required"
    );
    let address = json!({"email": "stale@new.example", "current_password": PASSWORD});
    let email = post(&app, "/api/me/email", &tokens.access, &address).await;
    assert_eq!(
        assert_problem(email, StatusCode::FORBIDDEN).await["code"],
        "reauthentication_required"
    );
    // Nothing changed: the old password still signs in (to the second step).
    let login = app.login("stalecreds", PASSWORD).await;
    assert_eq!(
        assert_problem(login, StatusCode::UNAUTHORIZED).await["code"],
        "mfa_required"
    );

    let code = code_at(&secret, app.clock.now());
    let fresh = post(
        &app,
        "/api/me/reauthenticate",
        &tokens.access,
        &json!({"totp": code}),
    )
    .await;
    assert_eq!(fresh.status(), StatusCode::NO_CONTENT);
    let email = post(&app, "/api/me/email", &tokens.access, &address).await;
    assert_eq!(email.status(), StatusCode::ACCEPTED);
    let password = post(&app, "/api/me/password", &tokens.access, &change).await;
    assert_eq!(password.status(), StatusCode::OK);
    let login = app.login("stalecreds", NEW_PASSWORD).await;
    assert_eq!(
        assert_problem(login, StatusCode::UNAUTHORIZED).await["code"],
        "mfa_required"
    );
}

#[tokio::test]
async fn without_a_second_factor_the_current_password_is_the_confirmation_however_old_the_sign_in()
{
    let app = spawn_app().await;
    let tokens = app.signed_in("plaincreds").await;
    app.clock.advance(11 * 60);
    let change = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
    let password = post(&app, "/api/me/password", &tokens.access, &change).await;
    assert_eq!(password.status(), StatusCode::OK);
    assert_eq!(
        app.login("plaincreds", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_password_and_address_pages_send_a_stale_session_to_confirm_and_back() {
    let app = spawn_app().await;
    let tokens = app.signed_in("pagecreds").await;
    let (secret, _) = enrol(&app, &tokens).await;
    let browser = app.browser();
    browser.sign_in("pagecreds").await;
    let code = code_at(&secret, app.clock.now());
    let second = browser
        .submit(
            "/login/second-factor",
            "/login/second-factor",
            &[("code", &code), ("method", "totp")],
        )
        .await;
    assert_eq!(location(&second), "/");
    // The form opened while the sign-in was recent...
    let csrf = browser.csrf("/account/password").await;
    app.clock.advance(11 * 60);
    for page in ["/account/password", "/account/email"] {
        let asked = browser.get(page).await;
        assert_eq!(asked.status(), StatusCode::SEE_OTHER);
        let back = format!("/account/confirm-identity?next=%2Faccount%2F{}", &page[9..]);
        assert_eq!(location(&asked), back);
    }
    // ...is not applied once the window has closed, even with the right password.
    let late = browser
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", NEW_PASSWORD),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(late.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&late),
        "/account/confirm-identity?next=%2Faccount%2Fpassword"
    );
    let code = code_at(&secret, app.clock.now());
    confirm_with_code(&browser, &code, "/account/password").await;
    let changed = browser
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&changed), "/");
}
