//! Second factors: an authenticator app (TOTP), recovery codes as its backup, the second step
//! of a sign-in, re-authentication before sensitive changes, and an admin's reset.
//!
//! How a session signed in is kept on the session as RFC 8176 `amr` values and goes into every
//! access token with an `acr`: `aal1` for a password alone, `aal2` for two factors.

mod admin_reset;
pub mod passkeys;
mod reauth;
mod recovery_codes;
mod second_step;
mod totp;

pub use admin_reset::FactorsReset;
pub use passkeys::{PasskeyView, RegisteredPasskey, relying_party};
pub use reauth::{Fresh, Reauthentication};
pub use recovery_codes::{RECOVERY_CODE_COUNT, RECOVERY_CODES_LOW};
pub use second_step::SECOND_STEP_TTL_SECONDS;
pub(crate) use second_step::methods_in;
pub use totp::TotpSetup;

use super::AuthService;
use super::access::Caller;
use super::audit::{AuditEvent, EventKind};
use super::error::AuthError;
use super::sessions::ClientInfo;
use crate::db::{self, Conn};

/// How a session was signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMethod {
    Password,
    /// Password, then a code from the authenticator app or a recovery code (both are one-time
    /// passwords in RFC 8176's terms).
    PasswordAndOneTimeCode,
    /// A passkey alone: a key held by a device (`hwk`) that verified its user: two factors.
    Passkey,
    PasswordAndPasskey,
}

impl SignInMethod {
    /// The `amr` values, as stored on the session.
    pub fn amr(self) -> &'static str {
        match self {
            SignInMethod::Password => "pwd",
            SignInMethod::PasswordAndOneTimeCode => "pwd otp mfa",
            SignInMethod::Passkey => "hwk mfa",
            SignInMethod::PasswordAndPasskey => "pwd hwk mfa",
        }
    }
}

/// The `amr` claim of a session's stored methods.
pub fn amr_claim(stored: &str) -> Vec<String> {
    stored.split_ascii_whitespace().map(str::to_owned).collect()
}

/// The assurance level an access token states (`acr`): two factors or one.
pub fn acr_of(stored_amr: &str) -> &'static str {
    if stored_amr.split_ascii_whitespace().any(|m| m == "mfa") {
        "aal2"
    } else {
        "aal1"
    }
}

/// How the sessions list tells a person how a session signed in.
pub fn describe_amr(stored_amr: &str) -> &'static str {
    let has = |method: &str| stored_amr.split_ascii_whitespace().any(|m| m == method);
    match (has("pwd"), has("hwk"), has("otp")) {
        (true, true, _) => "password and a passkey",
        (false, true, _) => "a passkey",
        (true, false, true) => "password and a one-time code",
        _ => "password",
    }
}

/// A way to finish a sign-in, as `methods` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Totp,
    RecoveryCode,
    /// A passkey of the account (`/api/auth/passkey/begin` and `/finish` with the `mfa_token`).
    Passkey,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Totp => "totp",
            Method::RecoveryCode => "recovery_code",
            Method::Passkey => "passkey",
        }
    }
}

/// A sign-in waiting for its second factor.
#[derive(Debug)]
pub struct PendingSignIn {
    /// Shown once; only its hash is stored.
    pub mfa_token: String,
    pub methods: Vec<Method>,
}

/// What the second step (or a re-authentication) was given.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    Totp(&'a str),
    RecoveryCode(&'a str),
}

/// The second factors of an account, as its owner sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Factors {
    pub totp: bool,
    /// A set-up that waits for its first code.
    pub totp_pending: bool,
    pub recovery_codes_left: i64,
    pub passkeys: i64,
}

impl Factors {
    pub fn any(&self) -> bool {
        self.totp || self.passkeys > 0
    }
}

/// The factors of `user_id`, read in the caller's connection.
pub(crate) fn factors_in(conn: &mut Conn, user_id: &str) -> Result<Factors, AuthError> {
    let totp = db::totp::find(conn, user_id)?;
    Ok(Factors {
        totp: totp.as_ref().is_some_and(|t| t.confirmed_at.is_some()),
        totp_pending: totp.as_ref().is_some_and(|t| t.confirmed_at.is_none()),
        recovery_codes_left: db::recovery_codes::unused_count(conn, user_id)?,
        passkeys: db::passkeys::count_of_user(conn, user_id)?,
    })
}

impl AuthService {
    /// Under `LATCHKEY_REQUIRE_MFA=admins`: an admin without a second factor is refused admin
    /// functions (and sent to set one up). Reads the database: call from a blocking thread.
    pub fn check_admin_second_factor(&self, caller: &Caller) -> Result<(), AuthError> {
        if self.config.require_mfa_for_admins && !self.my_factors(caller)?.any() {
            return Err(AuthError::SecondFactorEnrolmentRequired);
        }
        Ok(())
    }

    /// Finishes the removal of one of the caller's factors inside the transaction that deleted
    /// it: with the last factor go the recovery codes (the backup of a factor, never a factor on
    /// their own), and the removal is audited.
    pub(super) fn factor_removed_in(
        &self,
        conn: &mut Conn,
        fresh: &Fresh,
        which: &'static str,
        client: &ClientInfo,
        now: i64,
    ) -> Result<(), AuthError> {
        let user_id = fresh.caller().user().id.as_str();
        if !factors_in(conn, user_id)?.any() {
            db::recovery_codes::delete_all(conn, user_id)?;
        }
        let removed = AuditEvent::success(EventKind::SecondFactorRemoved)
            .user(user_id)
            .session(fresh.caller().session().id.as_str())
            .detail(which);
        Ok(self.audit_in(conn, removed, client, now)?)
    }

    /// The caller's own second factors.
    pub fn my_factors(&self, caller: &Caller) -> Result<Factors, AuthError> {
        factors_in(&mut *self.db.conn()?, caller.user().id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_factors_are_aal2_and_a_password_alone_aal1() {
        assert_eq!(acr_of(SignInMethod::Password.amr()), "aal1");
        assert_eq!(acr_of(SignInMethod::PasswordAndOneTimeCode.amr()), "aal2");
        assert_eq!(amr_claim("pwd otp mfa"), ["pwd", "otp", "mfa"]);
        assert_eq!(acr_of(SignInMethod::Passkey.amr()), "aal2");
        assert_eq!(describe_amr(SignInMethod::Passkey.amr()), "a passkey");
        assert_eq!(describe_amr("pwd"), "password");
    }
}
