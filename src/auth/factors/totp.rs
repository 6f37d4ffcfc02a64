//! The authenticator app: RFC 6238 as every app supports it (SHA-1, 6 digits, 30 s), one step
//! of drift either way, and no step accepted twice. The secret is sealed in the database and
//! opened only to check a code or to show a set-up that waits for its first code.

use totp_rs::{Algorithm, Builder, Totp};
use zeroize::Zeroizing;

use super::super::AuthService;
use super::super::access::Caller;
use super::super::audit::{AuditEvent, EventKind};
use super::super::error::{AuthError, FieldError};
use super::super::sessions::ClientInfo;
use super::Fresh;
use crate::db::models::{TotpFactor, User};
use crate::db::{self, Conn, DbError};

const SEAL_LABEL: &str = "totp-secret-seal";
/// 160 bits, RFC 4226's recommendation.
const SECRET_BYTES: usize = 20;
const ISSUER: &str = "Latchkey";

/// A set-up waiting for its first code: what the person types or scans into their app.
#[derive(Debug, Clone)]
pub struct TotpSetup {
    /// Base32, as apps take it when typed in.
    pub secret: String,
    /// `otpauth://totp/...`, what the QR code holds.
    pub otpauth_uri: String,
}

/// The generator for a secret. The label shows the username in the app; `:` separates issuer
/// and account there, so it is replaced.
fn generator(secret: &[u8], username: &str) -> Result<Totp, AuthError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .with_issuer(Some(ISSUER))
        .with_account_name(username.replace(':', "."))
        .build()
        .map_err(|e| AuthError::Internal(format!("TOTP parameters refused: {e}")))
}

/// The step a code was made for, if it is right at `now` (one step either way).
pub(super) fn matching_step(generator: &Totp, code: &str, now: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let now = u64::try_from(now).ok()?;
    generator
        .check(&code, now)
        .and_then(|step| i64::try_from(step).ok())
}

impl AuthService {
    fn seal_totp(&self, user_id: &str, secret: &[u8]) -> Result<Vec<u8>, AuthError> {
        super::super::sealing::seal(&self.secret, SEAL_LABEL, user_id.as_bytes(), secret)
    }

    fn open_totp(&self, factor: &TotpFactor) -> Result<Zeroizing<Vec<u8>>, AuthError> {
        super::super::sealing::open(
            &self.secret,
            SEAL_LABEL,
            factor.user_id.as_bytes(),
            &factor.secret_sealed,
        )
        .ok_or_else(|| {
            AuthError::Internal(format!(
                "the TOTP secret of user {} does not open with this server secret",
                factor.user_id
            ))
        })
    }

    /// The user's confirmed generator and the last step it accepted, if they have one.
    pub(super) fn totp_of(
        &self,
        conn: &mut Conn,
        user: &User,
    ) -> Result<Option<(Totp, Option<i64>)>, AuthError> {
        match db::totp::find(conn, &user.id)? {
            Some(factor) if factor.confirmed_at.is_some() => {
                let secret = self.open_totp(&factor)?;
                Ok(Some((
                    generator(&secret, &user.username)?,
                    factor.last_used_step,
                )))
            }
            _ => Ok(None),
        }
    }

    /// Starts setting up an authenticator app (again, if a set-up was waiting): a new secret,
    /// inactive until `confirm_totp`. Refused while one is active.
    pub fn begin_totp(&self, fresh: &Fresh) -> Result<TotpSetup, AuthError> {
        let user = fresh.caller().user_row();
        let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
        super::super::random_fill(secret.as_mut())?;
        let generator = generator(secret.as_ref(), &user.username)?;
        let factor = TotpFactor {
            user_id: user.id.clone(),
            secret_sealed: self.seal_totp(&user.id, secret.as_ref())?,
            created_at: self.clock.now(),
            confirmed_at: None,
            last_used_step: None,
        };
        db::write_transaction(
            &mut *self.db.conn()?,
            |conn| match db::totp::replace_pending(conn, &factor) {
                Err(DbError::Conflict) => Err(AuthError::TotpAlreadyActive),
                other => Ok(other?),
            },
        )?;
        setup_of(&generator)
    }

    /// The set-up waiting for its first code, to show it again (the page's QR code).
    pub fn pending_totp(&self, caller: &Caller) -> Result<Option<TotpSetup>, AuthError> {
        let user = caller.user_row();
        match db::totp::find(&mut *self.db.conn()?, &user.id)? {
            Some(factor) if factor.confirmed_at.is_none() => {
                let secret = self.open_totp(&factor)?;
                Ok(Some(setup_of(&generator(&secret, &user.username)?)?))
            }
            _ => Ok(None),
        }
    }

    /// Activates the waiting set-up with its first code, and returns a new set of recovery
    /// codes (shown once).
    pub fn confirm_totp(
        &self,
        fresh: &Fresh,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Vec<String>, AuthError> {
        let user = fresh.caller().user_row();
        let now = self.clock.now();
        let factor = db::totp::find(&mut *self.db.conn()?, &user.id)?;
        let factor = match factor {
            Some(factor) if factor.confirmed_at.is_none() => factor,
            Some(_) => return Err(AuthError::TotpAlreadyActive),
            None => return Err(AuthError::TotpNotStarted),
        };
        let secret = self.open_totp(&factor)?;
        let Some(step) = matching_step(&generator(&secret, &user.username)?, code, now) else {
            return Err(AuthError::Invalid(vec![FieldError::new(
                "code",
                "That code is not right. Type the 6 digits your app shows now (check that \
                 the phone's clock is set automatically).",
            )]));
        };
        let (codes, rows) = self.new_recovery_codes(&user.id, now)?;
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            // The same set-up as the one checked: not replaced by a newer one meanwhile.
            let current = db::totp::find(conn, &user.id)?;
            if current.as_ref().map(|f| &f.secret_sealed) != Some(&factor.secret_sealed) {
                return Err(AuthError::TotpNotStarted);
            }
            if !db::totp::confirm(conn, &user.id, step, now)? {
                return Err(AuthError::TotpAlreadyActive);
            }
            db::recovery_codes::replace_all(conn, &user.id, &rows)?;
            let added = AuditEvent::success(EventKind::SecondFactorAdded)
                .user(&user.id)
                .session(fresh.caller().session().id.as_str())
                .detail("authenticator app");
            Ok(self.audit_in(conn, added, client, now)?)
        })?;
        Ok(codes)
    }

    /// Removes the authenticator app, and with it the recovery codes (its backup): sign-in
    /// needs only the password from then on.
    pub fn remove_totp(&self, fresh: &Fresh, client: &ClientInfo) -> Result<(), AuthError> {
        let user = fresh.caller().user_row();
        let now = self.clock.now();
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            if !db::totp::delete(conn, &user.id)? {
                return Err(AuthError::NoSecondFactor);
            }
            self.factor_removed_in(conn, fresh, "authenticator app", client, now)
        })
    }
}

fn setup_of(generator: &Totp) -> Result<TotpSetup, AuthError> {
    Ok(TotpSetup {
        secret: generator.secret().to_base32(),
        otpauth_uri: generator
            .to_url()
            .map_err(|e| AuthError::Internal(format!("otpauth URI: {e}")))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 secret, cut to 6 digits.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_rfc_6238_and_name_their_step() {
        let generator = generator(RFC_SECRET, "alice").unwrap();
        // 1111111109 s: step 37037036, code 07081804 (8 digits) -> 081804.
        assert_eq!(
            matching_step(&generator, "081804", 1_111_111_109),
            Some(37_037_036)
        );
        assert_eq!(
            matching_step(&generator, "081 804", 1_111_111_109),
            Some(37_037_036)
        );
    }

    #[test]
    fn one_step_of_drift_either_way_and_no_more() {
        let generator = generator(RFC_SECRET, "alice").unwrap();
        let at = 1_111_111_109;
        assert!(matching_step(&generator, "081804", at - 30).is_some());
        assert!(matching_step(&generator, "081804", at + 30).is_some());
        assert!(matching_step(&generator, "081804", at + 60).is_none());
        assert!(matching_step(&generator, "081804", at - 60).is_none());
        assert!(matching_step(&generator, "08180", at).is_none());
        assert!(matching_step(&generator, "+81804", at).is_none());
    }

    #[test]
    fn the_uri_names_the_issuer_and_the_account_for_apps() {
        let setup = setup_of(&generator(RFC_SECRET, "al:ice").unwrap()).unwrap();
        assert!(
            setup
                .otpauth_uri
                .starts_with("otpauth://totp/Latchkey:al.ice?")
        );
        assert!(
            setup
                .otpauth_uri
                .contains(&format!("secret={}", setup.secret))
        );
    }
}
