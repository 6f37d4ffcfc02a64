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
    /// The password was right and the account has a second factor: the sign-in finishes
    /// with the challenge's token and one of its methods.
    #[error("a second factor is needed to finish signing in")]
    SecondFactorRequired(Box<crate::auth::factors::PendingSignIn>),
    /// The second step's token is unknown, expired, used, or void (the account changed).
    #[error("the sign-in step expired or was already used")]
    SignInStepInvalid,
    #[error("that code is not right, or was used already")]
    WrongSecondFactor,
    #[error("an authenticator app is already set up")]
    TotpAlreadyActive,
    #[error("no authenticator app set-up is waiting for its first code")]
    TotpNotStarted,
    #[error("the account has no second factor")]
    NoSecondFactor,
    /// A sensitive action on a session whose last proof of identity is older than the
    /// re-authentication window.
    #[error("confirm who you are first")]
    ReauthenticationRequired,
    /// The passkey origin is no host name (an IP address): WebAuthn cannot work here.
    #[error("passkeys are not available on this server")]
    PasskeysUnavailable,
    /// A passkey registration or sign-in that is unknown, expired or finished.
    #[error("the passkey request expired or was already used")]
    PasskeyCeremonyInvalid,
    /// The authenticator's answer did not verify (wrong site, challenge, signature, no user
    /// verification), or names no passkey registered here.
    #[error("the passkey was not accepted")]
    PasskeyRefused,
    #[error("no such passkey")]
    PasskeyNotFound,
    #[error("that passkey is registered already")]
    PasskeyExists,
    /// `LATCHKEY_REQUIRE_MFA=admins` and this admin has no second factor yet.
    #[error("admins need a second factor set up")]
    SecondFactorEnrolmentRequired,
    #[error(transparent)]
    Storage(#[from] DbError),
    #[error("internal error: {0}")]
    Internal(String),
}
