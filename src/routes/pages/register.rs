//! Creating an account; success signs the person in.

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::guard::current_layout;
use super::{Csrf, Layout, PageError, refused_form, render, see_other};
use crate::auth::sessions::ClientInfo;
use crate::auth::{AuthError, AuthService};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::cookies::CookiePolicy;
use crate::routes::limits::{Limit, RateLimits};
use crate::routes::page;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page("/register").get(form).post(submit));
}

#[derive(Template, Default)]
#[template(path = "auth/register.html")]
struct RegisterPage {
    layout: Layout,
    error: Option<String>,
    username: String,
    username_error: Option<String>,
    email: String,
    email_error: Option<String>,
    /// `LATCHKEY_REQUIRE_EMAIL`.
    email_required: bool,
    password_error: Option<String>,
    confirm_error: Option<String>,
    /// After a failed submit, the passwords come back only where they were not at fault, so
    /// only what was wrong has to be typed again.
    kept_password: String,
    kept_confirm: String,
    min_password: usize,
    /// Set when registration is closed: the page says so instead of showing the form.
    closed: Option<String>,
}

#[derive(Deserialize)]
struct RegisterForm {
    username: String,
    #[serde(default)]
    email: String,
    password: String,
    password_confirm: String,
}

/// The form; someone already signed in goes to their account page instead (registering here
/// would switch accounts and leave the old session behind), and where registration is closed
/// the page says so before anyone fills anything in.
async fn form(request: HttpRequest, auth: web::Data<AuthService>) -> HttpResponse {
    let layout = current_layout(&request).await;
    if layout.user.is_some() {
        return see_other("/");
    }
    let mut page = RegisterPage {
        layout,
        min_password: auth.config().password_min_chars,
        email_required: auth.config().mail.require_email,
        ..RegisterPage::default()
    };
    if !auth.config().registration_open {
        let closed = ApiError::from(AuthError::RegistrationClosed);
        page.closed = Some(closed.description().message);
        return refused_form(&closed, &page);
    }
    render(StatusCode::OK, &page)
}

async fn submit(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    cookies: web::Data<CookiePolicy>,
    limits: web::Data<RateLimits>,
    Csrf(form): Csrf<RegisterForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let session = request.get_session();
    limits.check(Limit::Register, client.ip.as_deref())?;
    let RegisterForm {
        username,
        email,
        password,
        password_confirm,
    } = form;
    let mut page = RegisterPage {
        username: username.clone(),
        email: email.clone(),
        email_required: auth.config().mail.require_email,
        min_password: auth.config().password_min_chars,
        ..RegisterPage::default()
    };
    if password != password_confirm {
        page.confirm_error = Some("The two passwords differ; type the same password twice.".into());
    }
    let confirmed = page.confirm_error.is_none();
    let typed = (password.clone(), password_confirm);
    let outcome = blocking(move || {
        if !confirmed {
            // Still report username and password problems together with the mismatch.
            return Err(match auth.check_registration(&username, &password) {
                Err(error) => error,
                Ok(()) => AuthError::Invalid(Vec::new()),
            });
        }
        let user = auth.register(&username, &password, Some(&email), &client)?;
        auth.open_session(&user, &client)
    })
    .await;
    match outcome {
        Ok(tokens) => Ok(super::login::signed_in(&session, &cookies, tokens, "/")),
        Err(ApiError::Auth(AuthError::Invalid(errors))) => {
            for error in errors {
                match error.field {
                    "username" => page.username_error = Some(error.message),
                    "email" => page.email_error = Some(error.message),
                    _ => page.password_error = Some(error.message),
                }
            }
            if page.password_error.is_none() {
                page.kept_password = typed.0;
                if page.confirm_error.is_none() {
                    page.kept_confirm = typed.1;
                }
            }
            page.layout = Layout::signed_out(&request);
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(refused @ ApiError::Auth(AuthError::UsernameTaken)) => {
            page.username_error = Some(refused.description().message);
            (page.kept_password, page.kept_confirm) = typed;
            page.layout = Layout::signed_out(&request);
            Ok(refused_form(&refused, &page))
        }
        Err(refused @ ApiError::Auth(AuthError::RegistrationClosed)) => {
            page.closed = Some(refused.description().message);
            page.layout = Layout::signed_out(&request);
            Ok(refused_form(&refused, &page))
        }
        Err(other) => Err(other.into()),
    }
}
