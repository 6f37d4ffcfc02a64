//! The second step of a sign-in, and the check of a second factor that it shares with
//! re-authentication. The check runs outside the write (it opens a sealed secret); what it
//! found is claimed again inside the write's transaction, so a code used by a racing request
//! meanwhile, a replayed step or a spent recovery code fails there.

use sha2::{Digest, Sha256};

use super::super::AuthService;
use super::super::audit::{AuditEvent, EventKind, Outcome};
use super::super::error::AuthError;
use super::super::sessions::ClientInfo;
use super::super::throttle::retry_after;
use super::super::{IssuedTokens, devices};
use super::{Method, PendingSignIn, Proof, SignInMethod, recovery_codes, totp};
use crate::db::models::{SecondFactorChallenge, User};
use crate::db::{self, Conn};

/// How long the second step may take after the password.
pub const SECOND_STEP_TTL_SECONDS: i64 = 5 * 60;
/// Wrong codes one challenge takes before it is void (the account's throttle counts too).
const CHALLENGE_FAILURES: i32 = 5;
/// 32 bytes in unpadded base64url.
const TOKEN_CHARS: usize = 43;

/// A second factor that was right when checked, to be claimed inside the write.
#[derive(Debug, Clone)]
pub(crate) enum Checked {
    Totp { step: i64 },
    RecoveryCode { hash: Vec<u8> },
}

impl Checked {
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Checked::Totp { .. } => "authenticator app",
            Checked::RecoveryCode { .. } => "recovery code",
        }
    }
}

fn token_hash(token: &str) -> Option<Vec<u8>> {
    let well_formed = token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| Sha256::digest(token.as_bytes()).to_vec())
}

/// What the second step accepts for `user_id` (empty: no second factor, the password is enough).
pub(crate) fn methods_in(conn: &mut Conn, user_id: &str) -> Result<Vec<Method>, AuthError> {
    let factors = super::factors_in(conn, user_id)?;
    let mut methods = Vec::new();
    if factors.totp {
        methods.push(Method::Totp);
    }
    if factors.passkeys > 0 {
        methods.push(Method::Passkey);
    }
    if factors.any() && factors.recovery_codes_left > 0 {
        methods.push(Method::RecoveryCode);
    }
    Ok(methods)
}

impl AuthService {
    /// Records a challenge for a user whose password was just found right, inside the caller's
    /// transaction; returns the pending sign-in to hand back.
    pub(crate) fn open_challenge_in(
        &self,
        conn: &mut Conn,
        user: &User,
        methods: Vec<Method>,
        now: i64,
    ) -> Result<PendingSignIn, AuthError> {
        let token = super::super::random_token()?;
        let hash = Sha256::digest(token.as_bytes()).to_vec();
        db::challenges::insert(
            conn,
            &SecondFactorChallenge {
                token_hash: hash,
                user_id: user.id.clone(),
                auth_epoch: user.auth_epoch,
                created_at: now,
                expires_at: now + SECOND_STEP_TTL_SECONDS,
                used_at: None,
                failures: 0,
            },
        )?;
        Ok(PendingSignIn {
            mfa_token: token,
            methods,
        })
    }

    /// The hash of an open challenge of `user` (for a passkey as the second step); else
    /// `SignInStepInvalid`.
    pub(crate) fn open_challenge_of(
        &self,
        mfa_token: &str,
        user: &User,
        now: i64,
    ) -> Result<Vec<u8>, AuthError> {
        let hash = token_hash(mfa_token).ok_or(AuthError::SignInStepInvalid)?;
        db::challenges::find_open(&mut *self.db.conn()?, &hash, now)?
            .filter(|c| c.user_id == user.id && c.auth_epoch == user.auth_epoch)
            .ok_or(AuthError::SignInStepInvalid)?;
        Ok(hash)
    }

    /// Finishes a sign-in whose password was right: the challenge's token and a second factor.
    pub fn complete_sign_in(
        &self,
        mfa_token: &str,
        proof: Proof<'_>,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AuthError> {
        let hash = token_hash(mfa_token).ok_or(AuthError::SignInStepInvalid)?;
        let now = self.clock.now();
        let user = {
            let conn = &mut *self.db.conn()?;
            let challenge =
                db::challenges::find_open(conn, &hash, now)?.ok_or(AuthError::SignInStepInvalid)?;
            db::users::find_by_id(conn, &challenge.user_id)?
                .filter(|u| u.disabled_at.is_none() && u.auth_epoch == challenge.auth_epoch)
                .ok_or(AuthError::SignInStepInvalid)?
        };
        let checked = match self.check_second_factor(&user, proof, client) {
            Err(AuthError::WrongSecondFactor) => {
                let conn = &mut *self.db.conn()?;
                db::challenges::count_failure(conn, &hash, CHALLENGE_FAILURES, now)?;
                return Err(AuthError::WrongSecondFactor);
            }
            other => other?,
        };
        let (session, secret) = self.start_session(
            &user,
            client,
            Some(checked.describe()),
            None,
            None,
            SignInMethod::PasswordAndOneTimeCode,
            |conn| {
                if !db::challenges::claim(conn, &hash, now)? {
                    return Err(AuthError::SignInStepInvalid);
                }
                self.consume_second_factor(conn, &user, &checked, client, now)
            },
        )?;
        let mut tokens = self.issue(&user, &session, &secret, session.created_at)?;
        tokens.device_token = Some(devices::issue(&self.device_key, &user.id, None, now)?);
        Ok(tokens)
    }

    /// Checks a second factor of `user`, throttled per account; a wrong one is counted and
    /// recorded. What was right is claimed later by `consume_second_factor`.
    pub(crate) fn check_second_factor(
        &self,
        user: &User,
        proof: Proof<'_>,
        client: &ClientInfo,
    ) -> Result<Checked, AuthError> {
        let now = self.clock.now();
        let counter = self.second_factor_counter(&user.id);
        let throttle = db::throttles::find(&mut *self.db.conn()?, &counter.key)?;
        if let Some(retry_after) = retry_after(throttle.as_ref(), now) {
            let refused = AuditEvent::new(EventKind::SecondFactorFailed, Outcome::Denied)
                .user(&user.id)
                .detail("too many wrong codes");
            self.audit(refused, client)?;
            return Err(AuthError::Throttled { retry_after });
        }
        let found = self.find_second_factor(&mut *self.db.conn()?, user, proof, now)?;
        match found {
            Some(checked) => Ok(checked),
            None => {
                let failed = AuditEvent::new(EventKind::SecondFactorFailed, Outcome::Failure)
                    .user(&user.id)
                    .detail(match proof {
                        Proof::Totp(_) => "wrong authenticator code",
                        Proof::RecoveryCode(_) => "wrong recovery code",
                    });
                self.record_failed_check(&counter, now, failed, client)?;
                Err(AuthError::WrongSecondFactor)
            }
        }
    }

    /// The factor `proof` names, if it is right now and unused.
    fn find_second_factor(
        &self,
        conn: &mut Conn,
        user: &User,
        proof: Proof<'_>,
        now: i64,
    ) -> Result<Option<Checked>, AuthError> {
        Ok(match proof {
            Proof::Totp(code) => self
                .totp_of(conn, user)?
                .and_then(|(generator, last_used)| {
                    totp::matching_step(&generator, code, now)
                        .filter(|&step| last_used.is_none_or(|used| step > used))
                        .map(|step| Checked::Totp { step })
                }),
            Proof::RecoveryCode(typed) => match recovery_codes::normalise(typed) {
                Some(code) => {
                    let hash = self.recovery_code_hash(&user.id, &code);
                    db::recovery_codes::is_unused(conn, &user.id, &hash)?
                        .then_some(Checked::RecoveryCode { hash })
                }
                None => None,
            },
        })
    }

    /// Claims a checked second factor inside the caller's transaction (its step, or its
    /// recovery code), clears the account's second-factor throttle and records the use.
    pub(crate) fn consume_second_factor(
        &self,
        conn: &mut Conn,
        user: &User,
        checked: &Checked,
        client: &ClientInfo,
        now: i64,
    ) -> Result<(), AuthError> {
        let (claimed, kind) = match checked {
            Checked::Totp { step } => (
                db::totp::use_step(conn, &user.id, *step)?,
                EventKind::SecondFactorUsed,
            ),
            Checked::RecoveryCode { hash } => (
                db::recovery_codes::claim(conn, &user.id, hash, now)?,
                EventKind::RecoveryCodeUsed,
            ),
        };
        if !claimed {
            return Err(AuthError::WrongSecondFactor);
        }
        self.clear_counter(conn, &self.second_factor_counter(&user.id))?;
        let used = AuditEvent::success(kind)
            .user(&user.id)
            .detail(checked.describe());
        Ok(self.audit_in(conn, used, client, now)?)
    }
}
