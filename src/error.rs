//! The HTTP face of every error: RFC 9457 problem details, mapped from the domain once.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::tokens::TokenError;
use crate::auth::{AuthError, FieldError};
use crate::db::DbError;
use crate::wording::count;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
const REALM: &str = "latchkey";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("too many requests; retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    /// `allow`: the methods the path does serve, for the `Allow` header.
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    #[error("internal error: {0}")]
    Internal(String),
}

/// RFC 9457 problem details, plus a stable machine-readable `code` and per-field `errors`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "about:blank", "title": "Unauthorized", "status": 401,
    "detail": "Invalid username or password.", "code": "invalid_credentials"
}))]
pub struct Problem {
    /// Always `about:blank`: the status and `code` say what happened.
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    /// A sentence a person can act on.
    detail: String,
    /// Stable and machine-readable, e.g. `invalid_credentials`, `invalid_token`, `throttled`.
    code: &'static str,
    /// The fields at fault, for 422 answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<FieldProblem>>,
    /// With `mfa_required`: the token that lets `POST /api/auth/mfa` finish this sign-in
    /// (single use, a few minutes).
    #[serde(skip_serializing_if = "Option::is_none")]
    mfa_token: Option<String>,
    /// With `mfa_required`: what the second step accepts (`totp`, `recovery_code`).
    #[serde(skip_serializing_if = "Option::is_none")]
    methods: Option<Vec<&'static str>>,
}

/// One invalid field and what to do about it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    #[schema(example = "password")]
    field: &'static str,
    #[schema(example = "Use at least 12 characters.")]
    message: String,
}

impl From<&FieldError> for FieldProblem {
    fn from(error: &FieldError) -> FieldProblem {
        FieldProblem {
            field: error.field,
            message: error.message.clone(),
        }
    }
}

/// How a refusal is told: the one description both surfaces render, the API as a problem body
/// and the pages as an error page or a form's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    pub status: StatusCode,
    /// Stable and machine-readable (`Problem::code`).
    pub code: &'static str,
    /// The sentence a person can act on.
    pub message: String,
}

impl ApiError {
    /// Status, machine code and the sentence a person can act on.
    pub fn description(&self) -> Description {
        let (status, code, message) = self.describe();
        Description {
            status,
            code,
            message,
        }
    }

    fn describe(&self) -> (StatusCode, &'static str, String) {
        use StatusCode as S;
        match self {
            ApiError::Auth(error) => match error {
                AuthError::Invalid(errors) => (
                    S::UNPROCESSABLE_ENTITY,
                    "invalid_input",
                    errors
                        .iter()
                        .map(|e| e.message.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                AuthError::UsernameTaken => (
                    S::CONFLICT,
                    "username_taken",
                    "That username is taken; choose another one.".into(),
                ),
                AuthError::InvalidCredentials => (
                    S::UNAUTHORIZED,
                    "invalid_credentials",
                    "Invalid username or password.".into(),
                ),
                AuthError::Throttled { retry_after } => (
                    S::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    format!(
                        "Too many failed sign-ins for this account; try again in {}.",
                        count(*retry_after, "second")
                    ),
                ),
                AuthError::RegistrationClosed => (
                    S::FORBIDDEN,
                    "registration_closed",
                    "Registration is closed on this server; ask an administrator for an account."
                        .into(),
                ),
                AuthError::InvalidRefreshToken => (
                    S::UNAUTHORIZED,
                    "invalid_refresh_token",
                    "The refresh token is invalid, expired or revoked; sign in again.".into(),
                ),
                AuthError::RefreshTokenReuse => (
                    S::UNAUTHORIZED,
                    "refresh_token_reused",
                    "This refresh token was already used, so its session was signed out for \
                     safety; sign in again."
                        .into(),
                ),
                AuthError::SessionEnded => (
                    S::UNAUTHORIZED,
                    "session_ended",
                    "The session of this access token has ended; sign in again.".into(),
                ),
                AuthError::SessionNotFound => (
                    S::NOT_FOUND,
                    "session_not_found",
                    "No live session has that id; it may have ended already.".into(),
                ),
                AuthError::NotThrottled => (
                    S::NOT_FOUND,
                    "not_throttled",
                    "That username has no failed sign-ins to clear.".into(),
                ),
                AuthError::UserNotFound => (
                    S::NOT_FOUND,
                    "user_not_found",
                    "No user has that id.".into(),
                ),
                AuthError::NotAdmin => (
                    S::FORBIDDEN,
                    "forbidden",
                    "This is for administrators; ask one if you need access.".into(),
                ),
                AuthError::LastAdmin => (
                    S::CONFLICT,
                    "last_admin",
                    "That is the only enabled admin; nobody could administer the server \
                     afterwards. Make another user an admin first."
                        .into(),
                ),
                AuthError::OwnAccount => (
                    S::CONFLICT,
                    "own_account",
                    "You cannot disable your own account; ask another administrator.".into(),
                ),
                AuthError::LinkInvalid => (
                    S::BAD_REQUEST,
                    "invalid_link",
                    "This link does not work any more: it expired, was used already, or a newer \
                     one was sent (or the password changed since). Ask for a new one."
                        .into(),
                ),
                AuthError::EmailNotVerified => (
                    S::FORBIDDEN,
                    "email_not_verified",
                    "Confirm your email address first: open the link we mailed you. No mail? \
                     Ask for a new link (POST /api/auth/verify-email/resend, or the page \
                     /verify/resend)."
                        .into(),
                ),
                AuthError::EmailRecoveryOff => (
                    S::FORBIDDEN,
                    "email_recovery_off",
                    "This server cannot send mail, so passwords cannot be reset by email; ask \
                     an administrator to reset yours."
                        .into(),
                ),
                AuthError::SecondFactorRequired(_) => (
                    S::UNAUTHORIZED,
                    "mfa_required",
                    "The password is right; finish signing in with a second factor: POST \
                     /api/auth/mfa with this mfa_token and a code of one of the methods."
                        .into(),
                ),
                AuthError::SignInStepInvalid => (
                    S::UNAUTHORIZED,
                    "mfa_token_invalid",
                    "This sign-in step expired or was already finished; sign in again with your \
                     password."
                        .into(),
                ),
                AuthError::WrongSecondFactor => (
                    S::UNAUTHORIZED,
                    "invalid_second_factor",
                    "That code is not right, or it was used already. Use the current code from \
                     your authenticator app, or an unused recovery code."
                        .into(),
                ),
                AuthError::TotpAlreadyActive => (
                    S::CONFLICT,
                    "totp_already_active",
                    "An authenticator app is already set up; remove it first to set up another."
                        .into(),
                ),
                AuthError::TotpNotStarted => (
                    S::CONFLICT,
                    "totp_not_started",
                    "No set-up is waiting for a first code; start setting up the authenticator \
                     app again."
                        .into(),
                ),
                AuthError::NoSecondFactor => (
                    S::CONFLICT,
                    "no_second_factor",
                    "Set up an authenticator app first; recovery codes are its backup.".into(),
                ),
                AuthError::ReauthenticationRequired => (
                    S::FORBIDDEN,
                    "reauthentication_required",
                    "This change needs a recent sign-in: confirm who you are (POST \
                     /api/me/reauthenticate, or the page it sends you to) and try again."
                        .into(),
                ),
                AuthError::PasskeysUnavailable => (
                    S::FORBIDDEN,
                    "passkeys_unavailable",
                    "Passkeys need this server to be reached by a host name (LATCHKEY_PUBLIC_URL); \
                     WebAuthn refuses IP addresses. In development, open it at \
                     http://localhost:PORT."
                        .into(),
                ),
                AuthError::PasskeyCeremonyInvalid => (
                    S::BAD_REQUEST,
                    "passkey_request_invalid",
                    "This passkey request expired or was already used; start again.".into(),
                ),
                AuthError::PasskeyRefused => (
                    S::UNAUTHORIZED,
                    "passkey_refused",
                    "That passkey was not accepted. Use a passkey registered for this site, and \
                     unlock it (PIN, fingerprint or face) when asked."
                        .into(),
                ),
                AuthError::PasskeyNotFound => (
                    S::NOT_FOUND,
                    "passkey_not_found",
                    "You have no passkey with that id.".into(),
                ),
                AuthError::PasskeyExists => (
                    S::CONFLICT,
                    "passkey_exists",
                    "That passkey is registered already.".into(),
                ),
                AuthError::SecondFactorEnrolmentRequired => (
                    S::FORBIDDEN,
                    "mfa_enrolment_required",
                    "Administrators need a second factor on this server: set up an \
                     authenticator app (account page, Two-factor authentication), then come back."
                        .into(),
                ),
                AuthError::Storage(DbError::Pool(_) | DbError::Unavailable(_)) => (
                    S::SERVICE_UNAVAILABLE,
                    "busy",
                    "The server is busy; try again in a moment.".into(),
                ),
                AuthError::Storage(_) | AuthError::Internal(_) => internal(),
            },
            ApiError::Token(error) => (
                S::UNAUTHORIZED,
                "invalid_token",
                format!("{}.", error.description()),
            ),
            ApiError::BadRequest(detail) => (S::BAD_REQUEST, "bad_request", detail.clone()),
            ApiError::Unprocessable(detail) => {
                (S::UNPROCESSABLE_ENTITY, "invalid_input", detail.clone())
            }
            ApiError::UnsupportedMediaType(detail) => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                detail.clone(),
            ),
            ApiError::PayloadTooLarge => (
                S::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The request body is larger than 16 KiB.".into(),
            ),
            ApiError::RequestTimeout => (
                S::REQUEST_TIMEOUT,
                "request_timeout",
                "The request body did not arrive in time; send it again in one go.".into(),
            ),
            ApiError::RateLimited { retry_after } => (
                S::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "Too many attempts from your address; try again in {}.",
                    count(*retry_after, "second")
                ),
            ),
            ApiError::NotFound(detail) => (S::NOT_FOUND, "not_found", detail.clone()),
            ApiError::Forbidden(detail) => (S::FORBIDDEN, "forbidden", detail.clone()),
            ApiError::MethodNotAllowed { .. } => (
                S::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This path does not accept that method; see the API documentation.".into(),
            ),
            ApiError::Internal(_) => internal(),
        }
    }

    fn www_authenticate(&self) -> Option<String> {
        let description = match self {
            ApiError::Token(error) => error.description(),
            ApiError::Auth(AuthError::SessionEnded) => "The session has ended",
            _ if self.describe().0 == StatusCode::UNAUTHORIZED => {
                return Some(format!("Bearer realm=\"{REALM}\""));
            }
            _ => return None,
        };
        Some(format!(
            "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{description}\""
        ))
    }
}

fn internal() -> (StatusCode, &'static str, String) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "Something went wrong on our side; try again. If it keeps happening, tell the operator."
            .into(),
    )
}

impl ApiError {
    /// Seconds a 429 or 503 asks the client to wait.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Auth(AuthError::Throttled { retry_after }) => {
                Some((*retry_after).max(1) as u64)
            }
            ApiError::RateLimited { retry_after } => Some(*retry_after),
            _ if self.describe().0 == StatusCode::SERVICE_UNAVAILABLE => Some(1),
            _ => None,
        }
    }

    /// The headers this refusal carries on either surface: `Retry-After` and `Allow`. The one
    /// place they are set.
    pub fn add_headers(&self, response: &mut HttpResponse) {
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let ApiError::MethodNotAllowed { allow } = self
            && let Ok(value) = HeaderValue::from_str(allow)
        {
            headers.insert(header::ALLOW, value);
        }
    }

    /// True for refusals caused by the request (4xx), false for our own failures.
    pub fn is_client_error(&self) -> bool {
        self.describe().0.is_client_error()
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.describe().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, code, detail) = self.describe();
        if status.is_server_error() {
            // The cause goes to the log, never to the client.
            tracing::error!(error = %self, "request failed");
        }
        let errors = match self {
            ApiError::Auth(AuthError::Invalid(errors)) => {
                Some(errors.iter().map(FieldProblem::from).collect())
            }
            _ => None,
        };
        let (mfa_token, methods) = match self {
            ApiError::Auth(AuthError::SecondFactorRequired(pending)) => (
                Some(pending.mfa_token.clone()),
                Some(pending.methods.iter().map(|m| m.as_str()).collect()),
            ),
            _ => (None, None),
        };
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            code,
            errors,
            mfa_token,
            methods,
        };
        let mut response = HttpResponse::build(status);
        response.content_type(PROBLEM_CONTENT_TYPE);
        if let Some(challenge) = self.www_authenticate()
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            response.insert_header((header::WWW_AUTHENTICATE, value));
        }
        if status == StatusCode::REQUEST_TIMEOUT {
            // The rest of the body may still be trickling in: this connection is done.
            response.force_close();
        }
        let mut response = response.body(serde_json::to_string(&problem).unwrap_or_default());
        self.add_headers(&mut response);
        response
    }
}
