//! One-time links: password reset and address verification. A token is 256 random bits, kept
//! only as its SHA-256, good for one use (claimed by one UPDATE), for a short time, and void as
//! soon as the account moves on: a reset token is bound to the user's `auth_epoch`, which every
//! password change (by any route), disable and "sign out everywhere" bumps, and a newer token
//! of the same purpose voids the older ones.

use sha2::{Digest, Sha256};

use super::AuthService;
use super::access::Admin;
use super::audit::{AuditEvent, EventKind, Outcome};
use super::email::{Email, parse_email};
use super::error::{AuthError, FieldError};
use super::input::{check_new_password, could_be_a_username, username_key};
use super::mail::Letter;
use super::sessions::ClientInfo;
use super::types::{Account, UserId};
use crate::db::models::{OneTimeToken, User};
use crate::db::{self, Conn, DbError};

/// A verification link works this long.
pub const VERIFY_TTL_SECONDS: i64 = 24 * 3600;
/// 32 bytes in unpadded base64url.
const TOKEN_CHARS: usize = 43;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    PasswordReset,
    EmailVerification,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailVerification => "email_verification",
        }
    }
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Whether `text` could be a token at all (length and alphabet); anything else is refused
/// before the database is asked.
fn well_formed(text: &str) -> bool {
    text.len() == TOKEN_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What a working reset link is for: shown on the reset page (the username lets a password
/// manager file the new password under the right account).
#[derive(Debug, Clone)]
pub struct ResetTarget {
    pub username: String,
}

impl AuthService {
    /// Whether passwords can be reset by mail here (off in production without SMTP).
    pub fn email_recovery_available(&self) -> bool {
        self.config.mail.recovery_by_email
    }

    /// Issues a token inside the caller's transaction, voiding the user's older ones of this
    /// purpose; returns the token (the only time it exists in clear).
    fn issue_token_in(
        &self,
        conn: &mut Conn,
        purpose: Purpose,
        user: &User,
        email: Option<&str>,
        ttl_seconds: i64,
        now: i64,
    ) -> Result<String, AuthError> {
        let token = super::random_token()?;
        db::one_time_tokens::void_for_user(conn, &user.id, purpose.as_str(), now)?;
        db::one_time_tokens::insert(
            conn,
            &OneTimeToken {
                token_hash: token_hash(&token),
                purpose: purpose.as_str().to_owned(),
                user_id: user.id.clone(),
                email: email.map(str::to_owned),
                auth_epoch: user.auth_epoch,
                created_at: now,
                expires_at: now + ttl_seconds,
                used_at: None,
            },
        )?;
        Ok(token)
    }

    /// The token and its user, if the token works now: known, unused, unexpired, and (for a
    /// reset) the account enabled and unchanged since it was issued. Else `LinkInvalid`.
    fn working_token(
        &self,
        conn: &mut Conn,
        purpose: Purpose,
        token: &str,
        now: i64,
    ) -> Result<(OneTimeToken, User), AuthError> {
        if !well_formed(token) {
            return Err(AuthError::LinkInvalid);
        }
        let row = db::one_time_tokens::find(conn, &token_hash(token), purpose.as_str())?
            .filter(|row| row.used_at.is_none() && row.expires_at > now)
            .ok_or(AuthError::LinkInvalid)?;
        let user = db::users::find_by_id_locked(conn, &row.user_id)?
            .filter(|user| user.disabled_at.is_none())
            .filter(|user| purpose != Purpose::PasswordReset || user.auth_epoch == row.auth_epoch)
            .ok_or(AuthError::LinkInvalid)?;
        Ok((row, user))
    }

    /// "Forgot your password?": mails a reset link if `identifier` (a username or an email
    /// address) names an enabled account with a verified address, and does nothing otherwise.
    /// The caller answers the same either way, before this runs (see the route), so neither
    /// the answer nor its timing tells who exists. Unverified addresses get no reset link: a
    /// typo at registration would hand the account to the typo's owner.
    pub fn request_password_reset(
        &self,
        identifier: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        if !self.email_recovery_available() {
            return Err(AuthError::EmailRecoveryOff);
        }
        let mut conn = self.db.conn()?;
        let user = if identifier.contains('@') {
            match parse_email(identifier, "identifier") {
                Ok(email) => db::users::find_by_email_key(&mut conn, &email.key)?,
                Err(_) => None,
            }
        } else if could_be_a_username(identifier) {
            db::users::find_by_key(&mut conn, &username_key(identifier))?
        } else {
            None
        };
        let Some(user) = user.filter(|user| user.disabled_at.is_none()) else {
            return Ok(());
        };
        let now = self.clock.now();
        let sent = db::write_transaction(&mut conn, |conn| {
            let Some(user) = db::users::find_by_id_locked(conn, &user.id)? else {
                return Ok(false);
            };
            let (Some(address), Some(_)) = (&user.email, &user.email_key) else {
                let event = AuditEvent::new(EventKind::PasswordResetRequested, Outcome::Failure)
                    .user(&user.id)
                    .detail("no verified email address");
                self.audit_in(conn, event, client, now)?;
                return Ok(false);
            };
            let ttl = self.config.mail.reset_ttl_seconds;
            let token = self.issue_token_in(conn, Purpose::PasswordReset, &user, None, ttl, now)?;
            let link = self.link("/reset", &token);
            let letter = Letter::password_reset(&link, ttl / 60);
            self.enqueue_in(conn, address, Some(&user.id), &letter, now)?;
            let event = AuditEvent::success(EventKind::PasswordResetRequested).user(&user.id);
            self.audit_in(conn, event, client, now)?;
            Ok::<_, AuthError>(true)
        })?;
        if sent {
            self.ring_postbox();
        }
        Ok(())
    }

    /// A reset link for an admin to hand over (no mail is sent): same token rules, audited
    /// with the admin as actor.
    pub fn reset_link_by_admin(
        &self,
        admin: &Admin,
        user_id: &UserId,
        client: &ClientInfo,
    ) -> Result<String, AuthError> {
        let now = self.clock.now();
        let token = db::write_transaction(&mut *self.db.conn()?, |conn| {
            let user = db::users::find_by_id_locked(conn, user_id.as_str())?
                .ok_or(AuthError::UserNotFound)?;
            let ttl = self.config.mail.reset_ttl_seconds;
            let token = self.issue_token_in(conn, Purpose::PasswordReset, &user, None, ttl, now)?;
            let event = AuditEvent::success(EventKind::PasswordResetRequested)
                .user(&user.id)
                .actor(admin.actor_id())
                .detail("link made by admin");
            self.audit_in(conn, event, client, now)?;
            Ok::<_, AuthError>(token)
        })?;
        Ok(self.link("/reset", &token))
    }

    /// Whether a reset link works, without using it up (the page's GET: mail scanners open
    /// links, and must not spend them).
    pub fn reset_target(&self, token: &str) -> Result<ResetTarget, AuthError> {
        let now = self.clock.now();
        let (_, user) =
            self.working_token(&mut *self.db.conn()?, Purpose::PasswordReset, token, now)?;
        Ok(ResetTarget {
            username: user.username,
        })
    }

    /// Sets a new password with a reset token: the token is used up, every session of the user
    /// ends, their sign-in throttle is cleared, and a "your password was changed" mail goes to
    /// their address. Returns how many sessions ended.
    pub fn confirm_password_reset(
        &self,
        token: &str,
        new_password: &str,
        client: &ClientInfo,
    ) -> Result<usize, AuthError> {
        let now = self.clock.now();
        let (_, user) =
            self.working_token(&mut *self.db.conn()?, Purpose::PasswordReset, token, now)?;
        let password = check_new_password(
            new_password,
            self.config.password_min_chars,
            &[&user.username],
        )
        .map_err(|e| AuthError::Invalid(vec![FieldError::new("new_password", e.message)]))?;
        let hash = self.passwords.hash(&password)?;
        let at = self.config.lifetimes.live_at(self.clock.now());
        let ended = db::write_transaction(&mut *self.db.conn()?, |conn| {
            // Checked again after the slow hashing, then claimed: of two racing confirms, one
            // claims the row and the other finds it used.
            let (row, user) = self.working_token(conn, Purpose::PasswordReset, token, at.now)?;
            if !db::one_time_tokens::claim(conn, &row.token_hash, at.now)? {
                return Err(AuthError::LinkInvalid);
            }
            db::users::set_password(conn, &user.id, &hash, at.now)?;
            db::throttles::clear_all_of(conn, &user.id)?;
            let completed = AuditEvent::success(EventKind::PasswordResetCompleted).user(&user.id);
            self.audit_in(conn, completed, client, at.now)?;
            let revoked =
                db::sessions::revoke_all_for_user(conn, &user.id, None, at, "password reset")?;
            let revocation = AuditEvent::success(EventKind::SessionRevoked)
                .user(&user.id)
                .detail("password reset");
            self.audit_revocations(conn, &revoked, revocation, client, at.now)?;
            if let Some(address) = &user.email {
                self.enqueue_in(
                    conn,
                    address,
                    Some(&user.id),
                    &Letter::password_changed(),
                    at.now,
                )?;
            }
            Ok::<_, AuthError>(revoked.len())
        })?;
        self.ring_postbox();
        Ok(ended)
    }

    /// Inside the transaction that gave `user` the address `email` (registration, a change):
    /// mails a verification link to it.
    pub(super) fn send_verification_in(
        &self,
        conn: &mut Conn,
        user: &User,
        email: &Email,
        now: i64,
    ) -> Result<(), AuthError> {
        let token = self.issue_token_in(
            conn,
            Purpose::EmailVerification,
            user,
            Some(&email.display),
            VERIFY_TTL_SECONDS,
            now,
        )?;
        let link = self.link("/verify", &token);
        self.enqueue_in(
            conn,
            &email.display,
            Some(&user.id),
            &Letter::email_verification(&link),
            now,
        )
    }

    /// Uses a verification token: its address becomes the account's, verified. When it
    /// replaces another verified address, that one is told.
    pub fn verify_email(&self, token: &str, client: &ClientInfo) -> Result<Account, AuthError> {
        let now = self.clock.now();
        let verified = db::write_transaction(&mut *self.db.conn()?, |conn| {
            let (row, user) = self.working_token(conn, Purpose::EmailVerification, token, now)?;
            let address = row.email.as_deref().ok_or(AuthError::LinkInvalid)?;
            let email = parse_email(address, "email").map_err(|_| AuthError::LinkInvalid)?;
            if !db::one_time_tokens::claim(conn, &row.token_hash, now)? {
                return Err(AuthError::LinkInvalid);
            }
            match db::users::set_verified_email(conn, &user.id, &email.display, &email.key, now) {
                Err(DbError::Conflict) => {
                    return Err(AuthError::Invalid(vec![FieldError::new(
                        "email",
                        "Another account already uses this address; sign in to that one, \
                         or use another address.",
                    )]));
                }
                other => other?,
            }
            let replaced = user
                .email_key
                .as_deref()
                .filter(|old| *old != email.key)
                .and(user.email.as_deref());
            let kind = match replaced {
                Some(old_address) => {
                    let letter = Letter::email_changed(&email.display);
                    self.enqueue_in(conn, old_address, Some(&user.id), &letter, now)?;
                    EventKind::EmailChanged
                }
                None => EventKind::EmailVerified,
            };
            self.audit_in(conn, AuditEvent::success(kind).user(&user.id), client, now)?;
            let updated = db::users::find_by_id(conn, &user.id)?.ok_or(AuthError::LinkInvalid)?;
            Ok::<_, AuthError>(Account::from(&updated))
        })?;
        self.ring_postbox();
        Ok(verified)
    }

    /// Mails a new verification link to the unverified address of `username`, if it has one;
    /// nothing otherwise. Answered the same either way (see the route).
    pub fn resend_verification(
        &self,
        username: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        if !could_be_a_username(username) {
            return Ok(());
        }
        let now = self.clock.now();
        let sent = db::write_transaction(&mut *self.db.conn()?, |conn| {
            let Some(user) = db::users::find_by_key(conn, &username_key(username))? else {
                return Ok(false);
            };
            let Some(address) = user.email.as_deref().filter(|_| user.email_key.is_none()) else {
                return Ok(false);
            };
            let email = parse_email(address, "email").map_err(|e| AuthError::Invalid(vec![e]))?;
            self.send_verification_in(conn, &user, &email, now)?;
            let _ = client;
            Ok::<_, AuthError>(true)
        })?;
        if sent {
            self.ring_postbox();
        }
        Ok(())
    }
}
