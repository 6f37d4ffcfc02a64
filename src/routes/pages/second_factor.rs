//! The second page of a sign-in for an account with a second factor: the code from the
//! authenticator app, or a recovery code. The password page left the challenge's token in the
//! page session; nothing about it is in the URL.

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::login::signed_in;
use super::{Csrf, Layout, PageError, page_session, refused_form, render, see_other};
use crate::auth::factors::Proof;
use crate::auth::sessions::ClientInfo;
use crate::auth::{AuthError, AuthService};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::cookies::CookiePolicy;
use crate::routes::limits::{Limit, RateLimits};
use crate::routes::page;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page("/login/second-factor").get(form).post(submit));
}

#[derive(Template)]
#[template(path = "auth/second_factor.html")]
struct SecondFactorPage {
    layout: Layout,
    error: Option<String>,
    /// The recovery-code form is open (it was the one used).
    recovery: bool,
    recovery_codes: bool,
    totp: bool,
    passkey: bool,
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    /// `recovery_code` for a recovery code; anything else is the app's code.
    #[serde(default)]
    method: String,
}

fn expired(page: &actix_session::Session) -> HttpResponse {
    page_session::clear_pending_sign_in(page);
    page_session::flash(
        page,
        "info",
        ApiError::from(AuthError::SignInStepInvalid)
            .description()
            .message,
    );
    see_other("/login")
}

async fn form(request: HttpRequest) -> HttpResponse {
    let page = request.get_session();
    let Some(pending) = page_session::pending_sign_in(&page) else {
        return see_other("/login");
    };
    render(
        StatusCode::OK,
        &SecondFactorPage {
            layout: Layout::signed_out(&request),
            error: None,
            recovery: false,
            recovery_codes: pending.recovery_codes,
            totp: pending.totp,
            passkey: pending.passkey,
        },
    )
}

async fn submit(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    cookies: web::Data<CookiePolicy>,
    limits: web::Data<RateLimits>,
    Csrf(form): Csrf<CodeForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let page = request.get_session();
    limits.check(Limit::Login, client.ip.as_deref())?;
    let Some(pending) = page_session::pending_sign_in(&page) else {
        return Ok(see_other("/login"));
    };
    let recovery = form.method == "recovery_code";
    let replaced = page_session::signed_in(&page).map(|(_, session_id)| session_id);
    let token = pending.mfa_token.clone();
    let outcome = blocking(move || {
        let proof = match recovery {
            true => Proof::RecoveryCode(&form.code),
            false => Proof::Totp(&form.code),
        };
        let tokens = auth.complete_sign_in(&token, proof, &client)?;
        if let Some(old) = replaced {
            auth.logout(&old, &client)?;
        }
        Ok(tokens)
    })
    .await;
    match outcome {
        Ok(tokens) => Ok(signed_in(&page, &cookies, tokens, &pending.next)),
        Err(ApiError::Auth(AuthError::SignInStepInvalid)) => Ok(expired(&page)),
        Err(
            refused @ ApiError::Auth(AuthError::WrongSecondFactor | AuthError::Throttled { .. }),
        ) => Ok(refused_form(
            &refused,
            &SecondFactorPage {
                layout: Layout::signed_out(&request),
                error: Some(refused.description().message),
                recovery,
                recovery_codes: pending.recovery_codes,
                totp: pending.totp,
                passkey: pending.passkey,
            },
        )),
        Err(other) => Err(other.into()),
    }
}
