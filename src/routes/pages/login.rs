//! Signing in and out.

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{
    Csrf, Layout, NoFields, PageError, local_next, page_session, refused_form, render, see_other,
};
use crate::auth::factors::Method;
use crate::auth::sessions::ClientInfo;
use crate::auth::{AuthError, AuthService, IssuedTokens};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::cookies::CookiePolicy;
use crate::routes::limits::{Limit, RateLimits};
use crate::routes::page;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page("/login").get(form).post(submit))
        .service(page("/logout").post(logout));
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    layout: Layout,
    error: Option<String>,
    username: String,
    next: String,
    /// Offer "Sign in with a passkey" (this server can do WebAuthn).
    passkeys: bool,
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    reason: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

async fn form(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    let page = request.get_session();
    let next = local_next(query.next.as_deref());
    let passkeys = auth.passkeys_available();
    // Already signed in on a live session: no need to sign in again.
    if let Some((_, session_id)) = page_session::signed_in(&page)
        && blocking(move || auth.live_session(&session_id))
            .await
            .is_ok()
    {
        return Ok(see_other(&next));
    }
    let mut layout = Layout::signed_out(&request);
    let notice = match query.reason.as_deref() {
        Some("ended") => Some("Your session has ended. Sign in again to continue."),
        Some("ended_form") => Some(
            "Your session ended before that form was sent, so nothing was changed. Sign in \
             again to go back to it.",
        ),
        Some("signed_out") => Some("You have been signed out."),
        _ => None,
    };
    if let Some(text) = notice {
        layout.flash.push(page_session::Flash {
            kind: "info".into(),
            text: text.into(),
        });
    }
    Ok(render(
        StatusCode::OK,
        &LoginPage {
            layout,
            error: None,
            username: String::new(),
            next,
            passkeys,
        },
    ))
}

async fn submit(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    cookies: web::Data<CookiePolicy>,
    limits: web::Data<RateLimits>,
    Csrf(form): Csrf<LoginForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let page = request.get_session();
    limits.check(Limit::Login, client.ip.as_deref())?;
    let LoginForm {
        username,
        password,
        next,
    } = form;
    let next = local_next(Some(&next));
    let name = username.clone();
    let passkeys_offered = auth.passkeys_available();
    // Signing in again in this browser replaces its previous session rather than orphaning it.
    let replaced = page_session::signed_in(&page).map(|(_, session_id)| session_id);
    let device = cookies.read_device(&request);
    match blocking(move || {
        let tokens = auth.login(&name, &password, device.as_deref(), &client)?;
        if let Some(old) = replaced {
            auth.logout(&old, &client)?;
        }
        Ok(tokens)
    })
    .await
    {
        Ok(tokens) => Ok(signed_in(&page, &cookies, tokens, &next)),
        Err(ApiError::Auth(AuthError::SecondFactorRequired(pending))) => {
            page_session::set_pending_sign_in(
                &page,
                &page_session::PendingSignIn {
                    recovery_codes: pending.methods.contains(&Method::RecoveryCode),
                    totp: pending.methods.contains(&Method::Totp),
                    passkey: pending.methods.contains(&Method::Passkey),
                    mfa_token: pending.mfa_token,
                    next,
                },
            );
            Ok(see_other("/login/second-factor"))
        }
        Err(
            refused @ ApiError::Auth(AuthError::InvalidCredentials | AuthError::Throttled { .. }),
        ) => Ok(refused_form(
            &refused,
            &LoginPage {
                layout: Layout::signed_out(&request),
                error: Some(refused.description().message),
                username,
                next,
                passkeys: passkeys_offered,
            },
        )),
        Err(other) => Err(other.into()),
    }
}

/// Starts the page session and sets the refresh cookie for a fresh sign-in, then redirects.
pub fn signed_in(
    page: &actix_session::Session,
    cookies: &CookiePolicy,
    tokens: IssuedTokens,
    next: &str,
) -> HttpResponse {
    page_session::sign_in(page, &tokens.user_id, &tokens.session_id);
    let mut response = HttpResponse::SeeOther();
    response.insert_header((LOCATION, next));
    cookies.set_refresh(
        &mut response,
        tokens.refresh_token,
        tokens.refresh_expires_in,
    );
    if let Some(device) = tokens.device_token {
        cookies.set_device(&mut response, device);
    }
    response.finish()
}

async fn logout(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    cookies: web::Data<CookiePolicy>,
    _: Csrf<NoFields>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let page = request.get_session();
    let Some((_, session_id)) = page_session::signed_in(&page) else {
        return Ok(see_other("/login"));
    };
    blocking(move || auth.logout(&session_id, &client)).await?;
    Ok(signed_out(&page, &cookies))
}

/// Drops the page session and the refresh cookie, and sends the browser to the login page.
pub fn signed_out(page: &actix_session::Session, cookies: &CookiePolicy) -> HttpResponse {
    page_session::sign_out(page);
    let mut response = HttpResponse::SeeOther();
    response.insert_header((LOCATION, "/login?reason=signed_out"));
    cookies.clear_refresh(&mut response);
    response.finish()
}
