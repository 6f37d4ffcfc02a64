//! "Change email address": the current password (and, with a second factor, a recent sign-in:
//! `CredentialPageUser`), then a link to the new address.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::guard::{CredentialPageUser, PageUser};
use super::{Csrf, Layout, PageError, page_session, refused_form, render, see_other};
use crate::auth::sessions::ClientInfo;
use crate::auth::{AuthError, AuthService};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::cookies::CookiePolicy;
use crate::routes::limits::{Limit, RateLimits};
use crate::routes::page;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page("/account/email").get(form).post(submit));
}

#[derive(Template, Default)]
#[template(path = "account/email.html")]
struct EmailPage {
    layout: Layout,
    current: Option<String>,
    verified: bool,
    email: String,
    email_error: Option<String>,
    current_error: Option<String>,
}

#[derive(Deserialize)]
struct EmailForm {
    email: String,
    current_password: String,
}

fn page_for(user: &PageUser) -> EmailPage {
    EmailPage {
        layout: user.layout(),
        current: user.user().email.clone(),
        verified: user.user().email_verified,
        ..EmailPage::default()
    }
}

async fn form(CredentialPageUser(user): CredentialPageUser) -> HttpResponse {
    render(StatusCode::OK, &page_for(&user))
}

async fn submit(
    request: HttpRequest,
    CredentialPageUser(user): CredentialPageUser,
    auth: web::Data<AuthService>,
    cookies: web::Data<CookiePolicy>,
    limits: web::Data<RateLimits>,
    Csrf(form): Csrf<EmailForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    limits.check(Limit::Login, client.ip.as_deref())?;
    let mut page = page_for(&user);
    page.email = form.email.clone();
    let caller = user.caller.clone();
    let device = cookies.read_device(&request);
    let outcome = blocking(move || {
        auth.change_email(
            &caller,
            &form.email,
            &form.current_password,
            device.as_deref(),
            &client,
        )
    })
    .await;
    match outcome {
        Ok(pending) => {
            page_session::flash(
                &user.page,
                "success",
                format!(
                    "We sent a link to {pending}. Your address changes once you open it \
                     (within 24 hours)."
                ),
            );
            Ok(see_other("/"))
        }
        Err(ApiError::Auth(AuthError::Invalid(errors))) => {
            for error in errors {
                match error.field {
                    "current_password" => page.current_error = Some(error.message),
                    _ => page.email_error = Some(error.message),
                }
            }
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(refused @ ApiError::Auth(AuthError::Throttled { .. })) => {
            page.current_error = Some(refused.description().message);
            Ok(refused_form(&refused, &page))
        }
        Err(other) => Err(other.into()),
    }
}
