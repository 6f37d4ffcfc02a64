//! "Change password": needs the current password (and, with a second factor, a recent sign-in:
//! `CredentialPageUser`); signs out every other device.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::guard::CredentialPageUser;
use super::{Csrf, Layout, PageError, page_session, refused_form, render, see_other};
use crate::auth::sessions::ClientInfo;
use crate::auth::{AuthError, AuthService};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::cookies::CookiePolicy;
use crate::routes::limits::{Limit, RateLimits};
use crate::routes::page;
use crate::wording::count;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page("/account/password").get(form).post(submit));
}

#[derive(Template, Default)]
#[template(path = "account/password.html")]
struct PasswordPage {
    layout: Layout,
    current_error: Option<String>,
    new_error: Option<String>,
    confirm_error: Option<String>,
    /// After a failed submit, what was typed comes back where it was not at fault.
    kept_current: String,
    kept_new: String,
    min_password: usize,
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    new_password_confirm: String,
}

async fn form(
    CredentialPageUser(user): CredentialPageUser,
    auth: web::Data<AuthService>,
) -> HttpResponse {
    let page = PasswordPage {
        layout: user.layout(),
        min_password: auth.config().password_min_chars,
        ..PasswordPage::default()
    };
    render(StatusCode::OK, &page)
}

async fn submit(
    request: HttpRequest,
    CredentialPageUser(user): CredentialPageUser,
    auth: web::Data<AuthService>,
    cookies: web::Data<CookiePolicy>,
    limits: web::Data<RateLimits>,
    Csrf(form): Csrf<PasswordForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    // Checking the current password is a sign-in attempt: the same per-address limit.
    limits.check(Limit::Login, client.ip.as_deref())?;
    let PasswordForm {
        current_password,
        new_password,
        new_password_confirm,
    } = form;
    let mut page = PasswordPage {
        min_password: auth.config().password_min_chars,
        ..PasswordPage::default()
    };
    if new_password != new_password_confirm {
        page.confirm_error =
            Some("The two new passwords differ; type the same password twice.".into());
        (page.kept_current, page.kept_new) = (current_password, new_password);
        page.layout = user.layout();
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let caller = user.caller.clone();
    let device = cookies.read_device(&request);
    let typed = (current_password.clone(), new_password.clone());
    let outcome = blocking(move || {
        auth.change_password(
            &caller,
            &current_password,
            &new_password,
            device.as_deref(),
            &client,
        )
    })
    .await;
    match outcome {
        Ok(revoked) => {
            let text = match revoked {
                0 => "Password changed.".to_owned(),
                n => format!(
                    "Password changed. Signed out {}.",
                    count(n as u64, "other device")
                ),
            };
            page_session::flash(&user.page, "success", text);
            Ok(see_other("/"))
        }
        Err(ApiError::Auth(AuthError::Invalid(errors))) => {
            for error in errors {
                match error.field {
                    "current_password" => page.current_error = Some(error.message),
                    _ => page.new_error = Some(error.message),
                }
            }
            if page.current_error.is_none() {
                page.kept_current = typed.0;
            }
            if page.new_error.is_none() {
                page.kept_new = typed.1;
            }
            page.layout = user.layout();
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(refused @ ApiError::Auth(AuthError::Throttled { .. })) => {
            page.current_error = Some(refused.description().message);
            page.layout = user.layout();
            Ok(refused_form(&refused, &page))
        }
        Err(other) => Err(other.into()),
    }
}
