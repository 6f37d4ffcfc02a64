//! Server-rendered pages (Askama). Forms work without JavaScript; every form carries the CSRF
//! token of the page session.

mod account;
mod admin;
mod admin_mail;
mod admin_users;
mod confirm;
mod csrf;
mod email;
mod events;
mod format;
mod guard;
mod links;
mod login;
pub mod page_session;
mod pager;
mod passkeys;
mod password;
mod reauth;
mod recovery;
mod register;
mod second_factor;
mod sessions;
mod two_factor;

use actix_session::{Session, SessionExt};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, LOCATION};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;

use crate::auth::types::Account;
use crate::auth::{AuthError, AuthService};
use crate::error::ApiError;
pub use confirm::{Confirmation, Confirmed};
pub use csrf::{Csrf, NoFields};
use page_session::Flash;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::FormConfig::default()
            .limit(super::MAX_BODY_BYTES)
            .error_handler(|error, _request| match error {
                actix_web::error::UrlencodedError::Payload(error)
                    if crate::routes::body_timeout::timed_out(&error) =>
                {
                    ApiError::RequestTimeout.into()
                }
                error => {
                    PageError::bad_request(format!("The form could not be read: {error}.")).into()
                }
            }),
    )
    .configure(login::configure)
    .configure(second_factor::configure)
    .configure(register::configure)
    .configure(recovery::configure)
    .configure(account::configure)
    .configure(password::configure)
    .configure(email::configure)
    .configure(two_factor::configure)
    .configure(passkeys::configure)
    .configure(reauth::configure)
    .configure(sessions::configure)
    .configure(admin::configure)
    .configure(admin_mail::configure)
    .configure(admin_users::configure)
    .configure(events::configure);
}

/// What every page's frame needs: the nav, the CSRF token, flash messages.
#[derive(Default)]
pub struct Layout {
    pub user: Option<NavUser>,
    pub csrf: String,
    pub flash: Vec<Flash>,
    /// Whether the signed-out menu and the sign-in page offer "Create account".
    pub offers_registration: bool,
}

pub struct NavUser {
    pub username: String,
    pub is_admin: bool,
}

impl Layout {
    pub fn signed_in(session: &Session, user: &Account) -> Layout {
        Layout {
            user: Some(NavUser {
                username: user.username.clone(),
                is_admin: user.is_admin(),
            }),
            csrf: page_session::csrf_token(session),
            flash: page_session::take_flash(session),
            offers_registration: false,
        }
    }

    /// For someone not signed in; "Create account" only where registration is open.
    pub fn signed_out(request: &HttpRequest) -> Layout {
        let session = request.get_session();
        Layout {
            user: None,
            csrf: page_session::csrf_token(&session),
            flash: page_session::take_flash(&session),
            offers_registration: registration_open(request),
        }
    }
}

/// Whether this server lets people create their own accounts (`LATCHKEY_REGISTRATION`).
pub fn registration_open(request: &HttpRequest) -> bool {
    request
        .app_data::<web::Data<AuthService>>()
        .is_some_and(|auth| auth.config().registration_open)
}

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    title: String,
    message: String,
}

/// Renders a template with a status; a template that fails to render is our bug, logged.
pub fn render(status: StatusCode, template: &impl Template) -> HttpResponse {
    match template.render() {
        Ok(body) => HttpResponse::build(status)
            .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
            .body(body),
        Err(error) => {
            tracing::error!(%error, "a template failed to render");
            HttpResponse::InternalServerError().body("Internal error")
        }
    }
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location))
        .finish()
}

/// A page-flow failure, rendered as an HTML page (or a redirect).
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("redirect to {0}")]
    Redirect(String),
    /// A refusal of the domain or of the HTTP layer: the page shows the same description
    /// (status and message) the API's problem body has, and the same headers.
    #[error(transparent)]
    Refused(#[from] ApiError),
    #[error("the form's security token is missing or wrong")]
    CsrfRejected,
    #[error("not found")]
    NotFound,
    /// `allow`: the methods the path serves, for the `Allow` header.
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    /// An error page already rendered with the caller's layout.
    #[error("{cause}")]
    Rendered { body: String, cause: Box<PageError> },
    /// Not an error: a destructive form not confirmed yet, answered with the page that asks
    /// (see `Confirmed`).
    #[error("asked for confirmation")]
    Ask { body: String },
}

impl From<AuthError> for PageError {
    fn from(error: AuthError) -> PageError {
        PageError::Refused(error.into())
    }
}

impl PageError {
    /// A form or query that could not be read.
    pub fn bad_request(message: impl Into<String>) -> PageError {
        PageError::Refused(ApiError::BadRequest(message.into()))
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            PageError::Redirect(_) => (StatusCode::SEE_OTHER, "", String::new()),
            PageError::Refused(error) => {
                let description = error.description();
                (description.status, title(description.status), description.message)
            }
            PageError::CsrfRejected => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form's security token is missing or out of date. Go back, reload the page and try again.".into(),
            ),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing at this address. Check the link, or start from your account.".into(),
            ),
            PageError::MethodNotAllowed { .. } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "Not available this way",
                "This address is used by the buttons on Latchkey's pages; open the page they are on instead.".into(),
            ),
            PageError::Rendered { cause, .. } => cause.parts(),
            PageError::Ask { .. } => (StatusCode::OK, "", String::new()),
        }
    }

    /// Renders this error inside the full layout of the person who hit it.
    pub fn with_layout(self, layout: Layout) -> PageError {
        if matches!(
            self,
            PageError::Redirect(_) | PageError::Rendered { .. } | PageError::Ask { .. }
        ) {
            return self;
        }
        let (status, title, message) = self.parts();
        let page = ErrorPage {
            layout,
            status: status.as_u16(),
            title: title.into(),
            message,
        };
        match page.render() {
            Ok(body) => PageError::Rendered {
                body,
                cause: Box::new(self),
            },
            Err(_) => self,
        }
    }

    /// The headers a refusal carries (`Retry-After`, `Allow`), set by the API's own rule.
    fn add_headers(&self, response: &mut HttpResponse) {
        match self {
            PageError::Refused(error) => error.add_headers(response),
            PageError::MethodNotAllowed { allow } => ApiError::MethodNotAllowed {
                allow: allow.clone(),
            }
            .add_headers(response),
            PageError::Rendered { cause, .. } => cause.add_headers(response),
            _ => {}
        }
    }
}

/// The heading of an error page, by status.
fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 413 | 415 | 422 => "Please check what you sent",
        401 => "Sign in again",
        403 => "Not allowed",
        404 => "Not found",
        408 => "Too slow",
        409 => "Already in use",
        429 => "Slow down",
        503 => "Busy",
        _ => "Something went wrong",
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, title, message) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self, "page failed");
        }
        let mut response = match self {
            PageError::Redirect(location) => see_other(location),
            PageError::Rendered { body, .. } | PageError::Ask { body } => {
                HttpResponse::build(status)
                    .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
                    .body(body.clone())
            }
            _ => render(
                status,
                &ErrorPage {
                    layout: Layout::default(),
                    status: status.as_u16(),
                    title: title.into(),
                    message,
                },
            ),
        };
        self.add_headers(&mut response);
        response
    }
}

/// A form page answered with a domain refusal shown in the form: the refusal's status and
/// headers (`Retry-After` included) with the page the handler rendered.
pub fn refused_form(error: &ApiError, template: &impl Template) -> HttpResponse {
    let mut response = render(error.description().status, template);
    error.add_headers(&mut response);
    response
}

/// The 404 page for paths outside the API.
pub async fn not_found(request: HttpRequest) -> HttpResponse {
    // Whoever is signed in keeps their menu on the 404 page too.
    let layout = guard::current_layout(&request).await;
    PageError::NotFound.with_layout(layout).error_response()
}

/// A local path to go to after signing in; anything else (other hosts, schemes, `//evil`,
/// backslashes) becomes `/`, so `next` can never be an open redirect.
pub fn local_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control)
                && path.len() <= 2048 =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// `/login?next=...` with an optional reason shown on the login page.
pub fn login_url(next: &str, reason: Option<&str>) -> String {
    let mut pairs = vec![("next", next)];
    if let Some(reason) = reason {
        pairs.push(("reason", reason));
    }
    format!(
        "/login?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_accepts_local_paths_only() {
        assert_eq!(local_next(Some("/sessions?x=1")), "/sessions?x=1");
        for hostile in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "/ok\r\nSet-Cookie: x=1",
            "",
        ] {
            assert_eq!(local_next(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(local_next(None), "/");
    }
}
