//! Signing in: the throttled password check, then a session, started only if the account is
//! still what the check saw.

use super::accounts::NewAccount;
use super::audit::{AuditEvent, EventKind, Outcome};
use super::error::AuthError;
use super::factors::{self, SignInMethod};
use super::input::{could_be_a_username, normalise_password, username_key};
use super::refresh::RefreshSecret;
use super::sessions::ClientInfo;
use super::throttle::Counter;
use super::{AuthService, IssuedTokens};
use crate::db::models::{NewRefreshToken, NewSession, Session, User};
use crate::db::{self, Conn};

/// A stored hash to replace by one at the configured cost, once the password was found right.
pub(super) struct Rehash {
    old: String,
    new: String,
}

impl AuthService {
    /// Checks a username and password and starts a session on this device. `device_token`: the
    /// trusted-device token this client got at its last sign-in to the account, if any.
    ///
    /// Unknown usernames cost one bcrypt verification too, and every failure is the same
    /// `InvalidCredentials`, so neither answer nor timing tells whether a username exists. A
    /// name no account can have (too long, control characters) is refused at once: it says
    /// nothing about who exists, and it must not cost storage or bcrypt.
    pub fn login(
        &self,
        username: &str,
        password: &str,
        device_token: Option<&str>,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AuthError> {
        if !could_be_a_username(username) {
            return Err(AuthError::InvalidCredentials);
        }
        let key = username_key(username);
        let password = normalise_password(password);
        let now = self.clock.now();
        let user = db::users::find_by_key(&mut *self.db.conn()?, &key)?;
        let counter = self.counter_for(&key, user.as_ref(), device_token, now);
        let checked = match self.check_password(&counter, user.as_ref(), &password, now) {
            Err(AuthError::Throttled { retry_after }) => {
                let mut event = AuditEvent::new(EventKind::LoginThrottled, Outcome::Denied);
                event.user_id = user.as_ref().map(|user| user.id.as_str());
                self.audit(event, client)?;
                return Err(AuthError::Throttled { retry_after });
            }
            other => other?,
        };
        // A disabled account gets the same answer (after the same work) as a wrong password.
        let user = match user {
            Some(user) if checked.verified && user.disabled_at.is_none() => user,
            refused => {
                let event = failed_login(refused.as_ref(), checked.verified);
                self.record_failed_check(&counter, now, event, client)?;
                return Err(AuthError::InvalidCredentials);
            }
        };
        if self.config.mail.require_verified_email && !super::types::email_verified(&user) {
            let refused = AuditEvent::new(EventKind::LoginFailed, Outcome::Denied)
                .user(&user.id)
                .detail("email address not verified");
            self.audit(refused, client)?;
            return Err(AuthError::EmailNotVerified);
        }
        let rehash = if self.passwords.needs_rehash(&user.password_hash) {
            Some(Rehash {
                old: user.password_hash.clone(),
                new: self.passwords.hash(&password)?,
            })
        } else {
            None
        };
        let clear = checked.earlier_failures.then_some(&counter);
        let methods = factors::methods_in(&mut *self.db.conn()?, &user.id)?;
        if !methods.is_empty() {
            return Err(self.await_second_factor(&user, methods, clear, rehash)?);
        }
        let (session, secret) = self.start_session(
            &user,
            client,
            None,
            clear,
            rehash,
            SignInMethod::Password,
            |_| Ok(()),
        )?;
        let mut tokens = self.issue(&user, &session, &secret, session.created_at)?;
        tokens.device_token = Some(self.device_token_for(&user, &counter, now)?);
        Ok(tokens)
    }

    /// Starts a session for a user who has just registered.
    pub fn open_session(
        &self,
        new: &NewAccount,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AuthError> {
        let user = new.row();
        let (session, secret) = self.start_session(
            user,
            client,
            Some("new account"),
            None,
            None,
            SignInMethod::Password,
            |_| Ok(()),
        )?;
        self.issue(user, &session, &secret, session.created_at)
    }

    /// The password was right and the account has a second factor: no session yet, but a
    /// challenge the second step finishes (`complete_sign_in`). Recorded only if the account
    /// is still as the check saw it, like a session.
    fn await_second_factor(
        &self,
        user: &User,
        methods: Vec<factors::Method>,
        clear_failures: Option<&Counter>,
        rehash: Option<Rehash>,
    ) -> Result<AuthError, AuthError> {
        let now = self.clock.now();
        let pending = db::write_transaction(&mut *self.db.conn()?, |conn| {
            self.password_step_in(conn, user, clear_failures, rehash.as_ref())?;
            self.open_challenge_in(conn, user, methods, now)
        })?;
        Ok(AuthError::SecondFactorRequired(Box::new(pending)))
    }

    /// Inside the write that follows a right password: the account must be unchanged since it
    /// was read (see `start_session`); the password's throttle is cleared and its hash upgraded.
    fn password_step_in(
        &self,
        conn: &mut Conn,
        user: &User,
        clear_failures: Option<&Counter>,
        rehash: Option<&Rehash>,
    ) -> Result<(), AuthError> {
        if !account_unchanged(conn, user)? {
            return Err(AuthError::InvalidCredentials);
        }
        if let Some(counter) = clear_failures {
            self.clear_counter(conn, counter)?;
        }
        if let Some(rehash) = rehash {
            db::users::upgrade_password_hash(conn, &user.id, &rehash.old, &rehash.new)?;
        }
        Ok(())
    }

    /// Inserts the session with its first refresh token, only if the account is as `user` was
    /// read before the (slow) password check: still there, enabled, and with the same
    /// `auth_epoch` (a password change, a disable or "sign out everywhere" since then bumped it,
    /// and must win over a sign-in that was still checking the old password). `also` runs in
    /// the same transaction (the second step claims its challenge and code there).
    #[allow(
        clippy::too_many_arguments,
        reason = "each is one part of how this sign-in went"
    )]
    pub(super) fn start_session(
        &self,
        user: &User,
        client: &ClientInfo,
        detail: Option<&'static str>,
        clear_failures: Option<&Counter>,
        rehash: Option<Rehash>,
        method: SignInMethod,
        also: impl FnOnce(&mut Conn) -> Result<(), AuthError>,
    ) -> Result<(Session, RefreshSecret), AuthError> {
        let now = self.clock.now();
        let session_id = super::random_uuid()?;
        let secret = RefreshSecret::generate()?;
        let new_session = NewSession {
            id: &session_id,
            user_id: &user.id,
            created_at: now,
            last_used_at: now,
            expires_at: now + self.config.lifetimes.absolute,
            user_agent: client.user_agent.as_deref(),
            ip: client.ip.as_deref(),
            amr: method.amr(),
            authenticated_at: now,
        };
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            self.password_step_in(conn, user, clear_failures, rehash.as_ref())?;
            also(conn)?;
            db::sessions::insert(conn, &new_session)?;
            db::refresh_tokens::insert(
                conn,
                &NewRefreshToken {
                    session_id: &session_id,
                    token_hash: &secret.hash(),
                    parent_id: None,
                    issued_at: now,
                },
            )?;
            let mut event = AuditEvent::success(EventKind::LoginSucceeded)
                .user(&user.id)
                .session(&session_id);
            event.detail = detail;
            self.audit_in(conn, event, client, now)?;
            Ok::<_, AuthError>(())
        })?;
        let session = Session {
            id: session_id.clone(),
            user_id: user.id.clone(),
            created_at: now,
            last_used_at: now,
            expires_at: new_session.expires_at,
            revoked_at: None,
            revoked_reason: None,
            user_agent: client.user_agent.clone(),
            ip: client.ip.clone(),
            amr: method.amr().to_owned(),
            authenticated_at: now,
        };
        Ok((session, secret))
    }
}

/// Re-reads the account inside the write transaction: the check made before it is stale if the
/// account went away, was disabled, or had its epoch bumped meanwhile.
fn account_unchanged(conn: &mut Conn, seen: &User) -> Result<bool, AuthError> {
    Ok(db::users::find_by_id_locked(conn, &seen.id)?
        .is_some_and(|now| now.disabled_at.is_none() && now.auth_epoch == seen.auth_epoch))
}

/// Why a sign-in failed, for the audit trail only (the client always hears the same thing).
/// An unknown username is not recorded: it is often a password typed into the wrong field.
fn failed_login(user: Option<&User>, verified: bool) -> AuditEvent<'_> {
    let failed = AuditEvent::new(EventKind::LoginFailed, Outcome::Failure);
    match user {
        None => failed.detail("unknown username"),
        Some(user) if !verified => failed.user(&user.id).detail("wrong password"),
        Some(user) => AuditEvent::new(EventKind::LoginFailed, Outcome::Denied)
            .user(&user.id)
            .detail("account disabled"),
    }
}
