use serde::Serialize;

use crate::db::DbError;

/// A problem with one input field, phrased for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> FieldError {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

/// Everything the domain can refuse. Messages never say whether a username exists.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("some fields are not valid")]
    Invalid(Vec<FieldError>),
    #[error("that username is already taken")]
    UsernameTaken,
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("too many failed sign-ins; retry in {retry_after} s")]
    Throttled { retry_after: i64 },
    #[error("registration is closed on this server")]
    RegistrationClosed,
    #[error("the refresh token is invalid, expired or revoked")]
    InvalidRefreshToken,
    #[error("the refresh token was already used; the session was revoked")]
    RefreshTokenReuse,
    #[error("the session has ended")]
    SessionEnded,
    #[error("no such session")]
    SessionNotFound,
    #[error("no such user")]
    UserNotFound,
    #[error("no failed sign-ins to clear")]
    NotThrottled,
    #[error("this needs the admin role")]
    NotAdmin,
    #[error("that is the only enabled admin; use --force to go ahead anyway")]
    LastAdmin,
    #[error("an admin cannot disable their own account")]
    OwnAccount,
    /// A reset or verification link that is unknown, expired, used, or void (the password
    /// changed, or a newer link was sent): one answer for all, so a link says nothing more.
    #[error("the link is invalid, expired or already used")]
    LinkInvalid,
    #[error("the email address is not verified yet")]
    EmailNotVerified,
    /// Production without an SMTP server: nothing can be mailed.
    #[error("password reset by email is off on this server")]
    EmailRecoveryOff,
    #[error(transparent)]
    Storage(#[from] DbError),
    #[error("internal error: {0}")]
    Internal(String),
}
