//! Server-rendered pages (Askama). Forms work without JavaScript; every form carries the CSRF
//! token of the page session.

mod account;
mod admin;
mod events;
mod format;
mod guard;
mod links;
mod login;
pub mod page_session;
mod pager;
mod password;
mod register;
mod sessions;

use actix_session::{Session, SessionExt};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, LOCATION};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;

use crate::auth::AuthError;
use crate::db::models::User;
use crate::error::ApiError;
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
                    PageError::BadRequest(format!("The form could not be read: {error}.")).into()
                }
            }),
    )
    .configure(login::configure)
    .configure(register::configure)
    .configure(account::configure)
    .configure(password::configure)
    .configure(sessions::configure)
    .configure(admin::configure)
    .configure(events::configure);
}

/// What every page's frame needs: the nav, the CSRF token, flash messages.
#[derive(Default)]
pub struct Layout {
    pub user: Option<NavUser>,
    pub csrf: String,
    pub flash: Vec<Flash>,
}

pub struct NavUser {
    pub username: String,
    pub is_admin: bool,
}

impl Layout {
    pub fn new(session: &Session, user: Option<&User>) -> Layout {
        Layout {
            user: user.map(|u| NavUser {
                username: u.username.clone(),
                is_admin: u.role == crate::auth::sessions::ROLE_ADMIN,
            }),
            csrf: page_session::csrf_token(session),
            flash: page_session::take_flash(session),
        }
    }
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
    #[error("{0}")]
    BadRequest(String),
    #[error("the form's security token is missing or wrong")]
    CsrfRejected,
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    /// An error page already rendered with the caller's layout.
    #[error("rendered error page")]
    Rendered { status: StatusCode, body: String },
    #[error("service unavailable")]
    Unavailable,
    #[error("too many requests")]
    TooManyRequests { retry_after: u64 },
    /// `allow`: the methods the path serves, for the `Allow` header.
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> PageError {
        match error {
            ApiError::Auth(AuthError::Storage(
                crate::db::DbError::Pool(_) | crate::db::DbError::Unavailable(_),
            )) => PageError::Unavailable,
            ApiError::RateLimited { retry_after } => PageError::TooManyRequests { retry_after },
            ApiError::BadRequest(message) => PageError::BadRequest(message),
            ApiError::Auth(AuthError::Invalid(errors)) => PageError::BadRequest(
                errors
                    .into_iter()
                    .map(|e| e.message)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl PageError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            PageError::Redirect(_) => (StatusCode::SEE_OTHER, "", String::new()),
            PageError::BadRequest(message) => {
                (StatusCode::BAD_REQUEST, "Bad request", message.clone())
            }
            PageError::CsrfRejected => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form's security token is missing or out of date. Go back, reload the page and try again.".into(),
            ),
            PageError::Forbidden(message) => (StatusCode::FORBIDDEN, "Not allowed", message.clone()),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing at this address. Check the link, or start from your account.".into(),
            ),
            PageError::Rendered { status, .. } => (*status, "", String::new()),
            PageError::MethodNotAllowed { .. } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "Not available this way",
                "This address is used by the buttons on Latchkey's pages; open the page they are on instead.".into(),
            ),
            PageError::TooManyRequests { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                "Slow down",
                format!("Too many attempts from your address. Try again in {retry_after} seconds."),
            ),
            PageError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Busy",
                "The server is busy right now. Try again in a moment.".into(),
            ),
            PageError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our side. Try again; if it keeps happening, tell the operator.".into(),
            ),
        }
    }

    /// Renders this error inside the full layout of the person who hit it.
    pub fn with_layout(self, layout: Layout) -> PageError {
        let (status, title, message) = self.parts();
        if matches!(self, PageError::Redirect(_) | PageError::Rendered { .. }) {
            return self;
        }
        let page = ErrorPage {
            layout,
            status: status.as_u16(),
            title: title.into(),
            message,
        };
        match page.render() {
            Ok(body) => PageError::Rendered { status, body },
            Err(_) => self,
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, title, message) = self.parts();
        if let PageError::Internal(cause) = self {
            tracing::error!(%cause, "page failed");
        }
        let mut response = match self {
            PageError::Redirect(location) => see_other(location),
            PageError::Rendered { status, body } => HttpResponse::build(*status)
                .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
                .body(body.clone()),
            _ => render(
                status,
                &ErrorPage {
                    layout: Layout {
                        user: None,
                        csrf: String::new(),
                        flash: Vec::new(),
                    },
                    status: status.as_u16(),
                    title: title.into(),
                    message,
                },
            ),
        };
        if let PageError::TooManyRequests { retry_after } = self
            && let Ok(value) = retry_after.to_string().parse()
        {
            response
                .headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, value);
        }
        if let PageError::MethodNotAllowed { allow } = self
            && let Ok(value) = allow.parse()
        {
            response
                .headers_mut()
                .insert(actix_web::http::header::ALLOW, value);
        }
        response
    }
}

/// The 404 page for paths outside the API.
pub async fn not_found(request: HttpRequest) -> HttpResponse {
    let layout = Layout::new(&request.get_session(), None);
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

/// Checks a form's CSRF token against the page session; a refusal is the 403 page in the
/// layout of whoever is signed in (`user`).
pub fn check_csrf(
    session: &Session,
    submitted: &str,
    user: Option<&User>,
) -> Result<(), PageError> {
    if page_session::csrf_matches(session, submitted) {
        Ok(())
    } else {
        Err(PageError::CsrfRejected.with_layout(Layout::new(session, user)))
    }
}

/// One form shape: a CSRF token and nothing else.
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    pub csrf_token: String,
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
