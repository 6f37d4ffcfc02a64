//! "Change password": needs the current password; signs out every other device.

use actix_web::http::StatusCode;
use actix_web::http::header::RETRY_AFTER;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::guard::PageUser;
use super::{Layout, PageError, page_session, render, see_other};
use crate::auth::sessions::ClientInfo;
use crate::auth::{AuthError, AuthService};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::cookies::CookiePolicy;
use crate::routes::limits::{Limit, RateLimits};
use crate::routes::page;

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
    min_password: usize,
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    new_password_confirm: String,
    csrf_token: String,
}

async fn form(user: PageUser, auth: web::Data<AuthService>) -> HttpResponse {
    let page = PasswordPage {
        layout: user.layout(),
        min_password: auth.config().password_min_chars,
        ..PasswordPage::default()
    };
    render(StatusCode::OK, &page)
}

async fn submit(
    request: HttpRequest,
    user: PageUser,
    auth: web::Data<AuthService>,
    cookies: web::Data<CookiePolicy>,
    limits: web::Data<RateLimits>,
    form: web::Form<PasswordForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf_token)?;
    // Checking the current password is a sign-in attempt: the same per-address limit.
    limits.check(Limit::Login, client.ip.as_deref())?;
    let PasswordForm {
        current_password,
        new_password,
        new_password_confirm,
        ..
    } = form.into_inner();
    let mut page = PasswordPage {
        min_password: auth.config().password_min_chars,
        ..PasswordPage::default()
    };
    if new_password != new_password_confirm {
        page.confirm_error =
            Some("The two new passwords differ; type the same password twice.".into());
        page.layout = user.layout();
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let (user_id, session_id) = (user.user.id.clone(), user.session.id.clone());
    let device = cookies.read_device(&request);
    let outcome = blocking(move || {
        auth.change_password(
            &user_id,
            &session_id,
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
                1 => "Password changed. Signed out 1 other device.".to_owned(),
                n => format!("Password changed. Signed out {n} other devices."),
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
            page.layout = user.layout();
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(ApiError::Auth(AuthError::Throttled { retry_after })) => {
            page.current_error = Some(format!(
                "Too many wrong passwords for this account. Try again in {retry_after} seconds."
            ));
            page.layout = user.layout();
            let mut response = render(StatusCode::TOO_MANY_REQUESTS, &page);
            if let Ok(value) = retry_after.to_string().parse() {
                response.headers_mut().insert(RETRY_AFTER, value);
            }
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}
