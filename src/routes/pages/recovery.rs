//! "Forgot your password?", the reset link's page, and address verification. Links from mails
//! open a page that only shows a form (GET uses nothing up: mail scanners open links); the
//! token is spent by the form's POST.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Csrf, Layout, PageError, page_session, render, see_other};
use crate::auth::sessions::ClientInfo;
use crate::auth::{AuthError, AuthService};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::limits::{Limit, RateLimits};
use crate::routes::page;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page("/forgot").get(forgot_form).post(forgot_submit))
        .service(page("/reset").get(reset_form).post(reset_submit))
        .service(page("/verify").get(verify_form).post(verify_submit))
        .service(page("/verify/resend").get(resend_form).post(resend_submit));
}

#[derive(Template, Default)]
#[template(path = "auth/forgot.html")]
struct ForgotPage {
    layout: Layout,
    /// Production without SMTP: the page says whom to ask instead of showing the form.
    unavailable: Option<String>,
    /// After a request: what happens next (the same words whoever asked).
    sent: Option<String>,
    error: Option<String>,
    identifier: String,
    /// For the verification variant (`/verify/resend`).
    resend: bool,
}

#[derive(Deserialize)]
struct ForgotForm {
    identifier: String,
}

fn forgot_page(request: &HttpRequest, auth: &AuthService, resend: bool) -> ForgotPage {
    let unavailable = (!resend && !auth.email_recovery_available()).then(|| {
        ApiError::from(AuthError::EmailRecoveryOff)
            .description()
            .message
    });
    ForgotPage {
        layout: Layout::signed_out(request),
        unavailable,
        resend,
        ..ForgotPage::default()
    }
}

async fn forgot_form(request: HttpRequest, auth: web::Data<AuthService>) -> HttpResponse {
    render(StatusCode::OK, &forgot_page(&request, &auth, false))
}

async fn resend_form(request: HttpRequest, auth: web::Data<AuthService>) -> HttpResponse {
    render(StatusCode::OK, &forgot_page(&request, &auth, true))
}

async fn forgot_submit(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    Csrf(form): Csrf<ForgotForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    ask_for_link(request, auth, limits, form, client, false).await
}

async fn resend_submit(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    Csrf(form): Csrf<ForgotForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    ask_for_link(request, auth, limits, form, client, true).await
}

/// The same answer whoever asked; the work happens after it (see the API's `password-reset`).
async fn ask_for_link(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    form: ForgotForm,
    client: ClientInfo,
    resend: bool,
) -> Result<HttpResponse, PageError> {
    let mut page = forgot_page(&request, &auth, resend);
    if page.unavailable.is_some() {
        return Ok(render(StatusCode::FORBIDDEN, &page));
    }
    let identifier = form.identifier.trim().to_owned();
    if identifier.is_empty() || identifier.chars().count() > 254 {
        page.error = Some("Enter your username or email address.".into());
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    limits.check(Limit::Recovery, client.ip.as_deref())?;
    limits.check_identifier(if resend { "verify" } else { "reset" }, &identifier)?;
    let minutes = auth.config().mail.reset_ttl_seconds / 60;
    actix_web::rt::spawn(async move {
        let outcome = blocking(move || {
            if resend {
                auth.resend_verification(&identifier, &client)
            } else {
                auth.request_password_reset(&identifier, &client)
            }
        })
        .await;
        if let Err(error) = outcome {
            tracing::warn!(%error, "could not finish a reset or verification request");
        }
    });
    page.sent = Some(if resend {
        "If that account has an address waiting to be confirmed, a new link is on its way. \
         It works for 24 hours."
            .into()
    } else {
        format!(
            "If an account has that username or a confirmed address, we have sent it a link. \
             Check your mail (and the spam folder); the link works once, for {minutes} minutes."
        )
    });
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template, Default)]
#[template(path = "auth/reset.html")]
struct ResetPage {
    layout: Layout,
    /// The link does not work: this says why, and the form is not shown.
    broken: Option<String>,
    token: String,
    username: String,
    password_error: Option<String>,
    confirm_error: Option<String>,
    min_password: usize,
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
struct ResetForm {
    token: String,
    new_password: String,
    new_password_confirm: String,
}

fn broken_link(layout: Layout, error: &ApiError) -> HttpResponse {
    let page = ResetPage {
        layout,
        broken: Some(error.description().message),
        ..ResetPage::default()
    };
    render(error.description().status, &page)
}

async fn reset_form(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    let token = query.into_inner().token;
    let min_password = auth.config().password_min_chars;
    let checked = token.clone();
    match blocking(move || auth.reset_target(&checked)).await {
        Ok(target) => Ok(render(
            StatusCode::OK,
            &ResetPage {
                layout: Layout::signed_out(&request),
                token,
                username: target.username,
                min_password,
                ..ResetPage::default()
            },
        )),
        Err(error @ ApiError::Auth(AuthError::LinkInvalid)) => {
            Ok(broken_link(Layout::signed_out(&request), &error))
        }
        Err(other) => Err(other.into()),
    }
}

async fn reset_submit(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    Csrf(form): Csrf<ResetForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    limits.check(Limit::Recovery, client.ip.as_deref())?;
    limits.check_token(&form.token)?;
    let mut page = ResetPage {
        layout: Layout::signed_out(&request),
        token: form.token.clone(),
        min_password: auth.config().password_min_chars,
        ..ResetPage::default()
    };
    if form.new_password != form.new_password_confirm {
        page.confirm_error = Some("The two passwords differ; type the same password twice.".into());
        let checked = form.token.clone();
        let target = blocking(move || auth.reset_target(&checked)).await;
        return match target {
            Ok(target) => {
                page.username = target.username;
                Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
            }
            Err(error) => Ok(broken_link(page.layout, &error)),
        };
    }
    let (token, password) = (form.token, form.new_password);
    let lookup = auth.clone();
    match blocking(move || auth.confirm_password_reset(&token, &password, &client)).await {
        Ok(_) => {
            page_session::flash(
                &actix_session::SessionExt::get_session(&request),
                "success",
                "Your password is set, and every device was signed out. Sign in with the new \
                 password.",
            );
            Ok(see_other("/login"))
        }
        Err(ApiError::Auth(AuthError::Invalid(errors))) => {
            page.password_error = errors.into_iter().next().map(|e| e.message);
            let checked = page.token.clone();
            if let Ok(target) = blocking(move || lookup.reset_target(&checked)).await {
                page.username = target.username;
            }
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(error @ ApiError::Auth(AuthError::LinkInvalid)) => Ok(broken_link(page.layout, &error)),
        Err(other) => Err(other.into()),
    }
}

#[derive(Template, Default)]
#[template(path = "auth/verify.html")]
struct VerifyPage {
    layout: Layout,
    token: String,
    broken: Option<String>,
    /// After the POST: the confirmed address.
    confirmed: Option<String>,
}

async fn verify_form(request: HttpRequest, query: web::Query<TokenQuery>) -> HttpResponse {
    let page = VerifyPage {
        layout: Layout::signed_out(&request),
        token: query.into_inner().token,
        ..VerifyPage::default()
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
struct VerifyForm {
    token: String,
}

async fn verify_submit(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    Csrf(form): Csrf<VerifyForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    limits.check(Limit::Recovery, client.ip.as_deref())?;
    limits.check_token(&form.token)?;
    let mut page = VerifyPage {
        layout: Layout::signed_out(&request),
        ..VerifyPage::default()
    };
    let token = form.token;
    match blocking(move || auth.verify_email(&token, &client)).await {
        Ok(account) => {
            page.confirmed = account.email;
            Ok(render(StatusCode::OK, &page))
        }
        Err(error @ ApiError::Auth(AuthError::LinkInvalid | AuthError::Invalid(_))) => {
            page.broken = Some(error.description().message);
            Ok(render(error.description().status, &page))
        }
        Err(other) => Err(other.into()),
    }
}
