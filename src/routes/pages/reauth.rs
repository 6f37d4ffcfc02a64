//! "Confirm it's you": what a page that changes second factors asks when the sign-in is not
//! recent. An account with a second factor confirms with a code, one without with its password;
//! then the person goes back to the page they came from.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::guard::PageUser;
use super::{Csrf, Layout, PageError, local_next, refused_form, render, see_other};
use crate::auth::factors::{Proof, Reauthentication};
use crate::auth::sessions::ClientInfo;
use crate::auth::{AuthError, AuthService};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::cookies::CookiePolicy;
use crate::routes::limits::{Limit, RateLimits};
use crate::routes::page;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page("/account/confirm-identity").get(form).post(submit));
}

#[derive(Template)]
#[template(path = "account/confirm_identity.html")]
struct ConfirmPage {
    layout: Layout,
    next: String,
    /// Ask for a code (the account has a second factor), not the password.
    with_code: bool,
    recovery: bool,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    /// `totp`, `recovery_code`, or empty for the password.
    #[serde(default)]
    method: String,
    #[serde(default)]
    next: String,
}

async fn form(
    user: PageUser,
    auth: web::Data<AuthService>,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    let caller = user.caller.clone();
    let with_code = blocking(move || auth.reauthentication_needs_second_factor(&caller)).await?;
    let page = ConfirmPage {
        layout: user.layout(),
        next: local_next(query.next.as_deref()),
        with_code,
        recovery: false,
        error: None,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn submit(
    request: HttpRequest,
    user: PageUser,
    auth: web::Data<AuthService>,
    cookies: web::Data<CookiePolicy>,
    limits: web::Data<RateLimits>,
    Csrf(form): Csrf<ConfirmForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    limits.check(Limit::Login, client.ip.as_deref())?;
    let next = local_next(Some(&form.next));
    let recovery = form.method == "recovery_code";
    let with_code = !form.method.is_empty();
    let caller = user.caller.clone();
    let device = cookies.read_device(&request);
    let service = auth.clone();
    let outcome = blocking(move || {
        let proof = match form.method.as_str() {
            "recovery_code" => Reauthentication::SecondFactor(Proof::RecoveryCode(&form.code)),
            "totp" => Reauthentication::SecondFactor(Proof::Totp(&form.code)),
            _ => Reauthentication::Password {
                password: &form.password,
                device_token: device.as_deref(),
            },
        };
        service.reauthenticate(&caller, proof, &client)
    })
    .await;
    let refused = match outcome {
        Ok(()) => return Ok(see_other(&next)),
        Err(
            refused @ ApiError::Auth(
                AuthError::WrongSecondFactor
                | AuthError::Throttled { .. }
                | AuthError::Invalid(_)
                | AuthError::NoSecondFactor,
            ),
        ) => refused,
        Err(other) => return Err(other.into()),
    };
    let caller = user.caller.clone();
    let needs_code = blocking(move || auth.reauthentication_needs_second_factor(&caller)).await?;
    let page = ConfirmPage {
        layout: user.layout(),
        next,
        with_code: needs_code,
        recovery: recovery && with_code,
        error: Some(refused.description().message),
    };
    Ok(refused_form(&refused, &page))
}
