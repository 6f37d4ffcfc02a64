//! Registering, signing in, and the account changes the CLI makes.

use zeroize::Zeroizing;

use super::audit::{AuditEvent, EventKind, Outcome};
use super::error::{AuthError, FieldError};
use super::input::{
    Username, check_new_password, normalise_password, parse_username, username_key,
};
use super::refresh::RefreshSecret;
use super::sessions::{ClientInfo, ROLE_ADMIN, ROLE_USER};
use super::{AuthService, IssuedTokens};
use crate::db::models::{NewRefreshToken, NewSession, NewUser, Session, User};
use crate::db::{self, Conn, DbError};

impl AuthService {
    /// Registers a user with the `user` role.
    pub fn register(
        &self,
        username: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<User, AuthError> {
        if !self.config.registration_open {
            return Err(AuthError::RegistrationClosed);
        }
        self.create_user(username, password, ROLE_USER, client)
    }

    /// Checks a would-be username and password against the rules without creating anything.
    pub fn check_registration(&self, username: &str, password: &str) -> Result<(), AuthError> {
        self.checked_account(username, password).map(|_| ())
    }

    fn checked_account(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(Username, Zeroizing<String>), AuthError> {
        let username = parse_username(username);
        let name = username
            .as_ref()
            .map(|u| u.display.as_str())
            .unwrap_or_default();
        let password = check_new_password(password, self.config.password_min_chars, &[name]);
        match (username, password) {
            (Ok(username), Ok(password)) => Ok((username, password)),
            (username, password) => Err(AuthError::Invalid(
                [username.err(), password.err()]
                    .into_iter()
                    .flatten()
                    .collect(),
            )),
        }
    }

    /// Creates a user with a role after checking the username and password rules.
    pub fn create_user(
        &self,
        username: &str,
        password: &str,
        role: &str,
        client: &ClientInfo,
    ) -> Result<User, AuthError> {
        let (username, password) = self.checked_account(username, password)?;
        check_role(role)?;
        let password_hash = self.passwords.hash(&password)?;
        let now = self.clock.now();
        let id = super::random_uuid()?;
        let new_user = NewUser {
            id: &id,
            username: &username.display,
            username_key: &username.key,
            password_hash: &password_hash,
            role,
            created_at: now,
            updated_at: now,
            password_changed_at: now,
        };
        let inserted = db::write_transaction(&mut *self.db.conn()?, |conn| {
            let user = db::users::insert(conn, &new_user)?;
            let event = AuditEvent::success(EventKind::Registered).user(&user.id);
            self.audit_in(conn, event, client, now)?;
            Ok::<_, DbError>(user)
        });
        match inserted {
            Ok(user) => Ok(user),
            Err(DbError::Conflict) => Err(AuthError::UsernameTaken),
            Err(other) => Err(other.into()),
        }
    }

    /// Checks a username and password and starts a session on this device.
    ///
    /// Unknown usernames cost one bcrypt verification too, and every failure is the same
    /// `InvalidCredentials`, so neither answer nor timing tells whether a username exists.
    pub fn login(
        &self,
        username: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AuthError> {
        let key = username_key(username);
        let password = normalise_password(password);
        let now = self.clock.now();
        let mut conn = self.db.conn()?;
        let throttle = self.check_throttle(&mut conn, &key, now);
        let user = db::users::find_by_key(&mut conn, &key)?;
        // The connection goes back to the pool before bcrypt's ~quarter second of work.
        drop(conn);
        // A throttled attempt is refused before the password is even looked at.
        let earlier_failures = match throttle {
            Err(AuthError::Throttled { retry_after }) => {
                let mut event = AuditEvent::new(EventKind::LoginThrottled, Outcome::Denied);
                event.user_id = user.as_ref().map(|user| user.id.as_str());
                self.audit(event, client)?;
                return Err(AuthError::Throttled { retry_after });
            }
            other => other?,
        };
        let verified = match &user {
            Some(user) => self.passwords.verify(&password, &user.password_hash),
            None => {
                self.passwords.verify_dummy(&password);
                false
            }
        };
        // A disabled account gets the same answer (after the same work) as a wrong password.
        let user = match user {
            Some(user) if verified && user.disabled_at.is_none() => user,
            refused => {
                let event = failed_login(refused.as_ref(), verified);
                self.record_failed_login(&key, now, event, client)?;
                return Err(AuthError::InvalidCredentials);
            }
        };
        if earlier_failures {
            self.clear_failed_logins(&key)?;
        }
        let (session, secret) = self.start_session(&user, client, None)?;
        self.issue(&user, &session, &secret, session.created_at)
    }

    /// Starts a session for a user who has just registered.
    pub fn open_session(
        &self,
        user: &User,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AuthError> {
        let (session, secret) = self.start_session(user, client, Some("new account"))?;
        self.issue(user, &session, &secret, session.created_at)
    }

    fn start_session(
        &self,
        user: &User,
        client: &ClientInfo,
        detail: Option<&'static str>,
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
        };
        db::write_transaction(&mut *self.db.conn()?, |conn| {
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
        };
        Ok((session, secret))
    }

    /// Changes a signed-in user's password after checking the current one, and signs out every
    /// other session of the user (a password change is what people do when they fear a thief).
    /// Returns how many other sessions were revoked.
    pub fn change_password(
        &self,
        user_id: &str,
        current_session: &str,
        current_password: &str,
        new_password: &str,
        client: &ClientInfo,
    ) -> Result<usize, AuthError> {
        let user = db::users::find_by_id(&mut *self.db.conn()?, user_id)?
            .ok_or(AuthError::SessionEnded)?;
        let new_password = check_new_password(
            new_password,
            self.config.password_min_chars,
            &[&user.username],
        )
        .map_err(|e| AuthError::Invalid(vec![FieldError::new("new_password", e.message)]))?;
        if !self
            .passwords
            .verify(&normalise_password(current_password), &user.password_hash)
        {
            let event = AuditEvent::new(EventKind::PasswordChanged, Outcome::Failure)
                .user(&user.id)
                .session(current_session)
                .detail("wrong current password");
            self.audit(event, client)?;
            return Err(AuthError::Invalid(vec![FieldError::new(
                "current_password",
                "Your current password is not right.",
            )]));
        }
        let hash = self.passwords.hash(&new_password)?;
        let at = self.config.lifetimes.live_at(self.clock.now());
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            db::users::set_password(conn, &user.id, &hash, at.now)?;
            let changed = AuditEvent::success(EventKind::PasswordChanged).user(&user.id);
            self.audit_in(conn, changed.session(current_session), client, at.now)?;
            let revoked = db::sessions::revoke_all_for_user(
                conn,
                &user.id,
                Some(current_session),
                at,
                "password changed",
            )?;
            let event = AuditEvent::success(EventKind::SessionRevoked)
                .user(&user.id)
                .detail("password changed");
            self.audit_revocations(conn, &revoked, event, client, at.now)?;
            Ok::<_, AuthError>(revoked.len())
        })
    }

    /// Disables a user: every session ends and sign-ins are refused (with the generic message)
    /// until an admin enables the account again. Returns how many sessions were revoked.
    pub fn disable_user(
        &self,
        user_id: &str,
        acting_user: Option<&str>,
        client: &ClientInfo,
    ) -> Result<usize, AuthError> {
        if acting_user == Some(user_id) {
            return Err(AuthError::Invalid(vec![FieldError::new(
                "user",
                "You cannot disable your own account; ask another administrator.",
            )]));
        }
        let at = self.config.lifetimes.live_at(self.clock.now());
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            if !db::users::set_disabled(conn, user_id, Some(at.now), at.now)? {
                return Err(AuthError::UserNotFound);
            }
            let disabled = AuditEvent::success(EventKind::UserDisabled)
                .user(user_id)
                .actor(acting_user);
            self.audit_in(conn, disabled, client, at.now)?;
            let revoked =
                db::sessions::revoke_all_for_user(conn, user_id, None, at, "user disabled")?;
            let event = AuditEvent::success(EventKind::SessionRevoked)
                .user(user_id)
                .actor(acting_user)
                .detail("user disabled");
            self.audit_revocations(conn, &revoked, event, client, at.now)?;
            Ok(revoked.len())
        })
    }

    pub fn enable_user(
        &self,
        user_id: &str,
        acting_user: Option<&str>,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.change_account(
            user_id,
            acting_user,
            client,
            EventKind::UserEnabled,
            |conn, now| db::users::set_disabled(conn, user_id, None, now),
        )
    }

    /// Deletes a user with every session and refresh token (the audit trail keeps their events).
    pub fn delete_user(
        &self,
        user_id: &str,
        acting_user: Option<&str>,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.change_account(
            user_id,
            acting_user,
            client,
            EventKind::UserDeleted,
            |conn, _| db::users::delete(conn, user_id),
        )
    }

    /// Applies `change` (which says whether the user existed) and records `kind` with it.
    fn change_account(
        &self,
        user_id: &str,
        acting_user: Option<&str>,
        client: &ClientInfo,
        kind: EventKind,
        change: impl FnOnce(&mut Conn, i64) -> Result<bool, DbError>,
    ) -> Result<(), AuthError> {
        let now = self.clock.now();
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            if !change(conn, now)? {
                return Err(AuthError::UserNotFound);
            }
            let event = AuditEvent::success(kind).user(user_id).actor(acting_user);
            Ok(self.audit_in(conn, event, client, now)?)
        })
    }

    /// The id of the user with this username (for the CLI).
    pub fn user_id_by_name(&self, username: &str) -> Result<String, AuthError> {
        db::users::find_by_key(&mut *self.db.conn()?, &username_key(username))?
            .map(|user| user.id)
            .ok_or(AuthError::UserNotFound)
    }

    /// Gives a user the `admin` or `user` role; returns the updated user.
    pub fn set_role(&self, username: &str, role: &str) -> Result<User, AuthError> {
        check_role(role)?;
        let now = self.clock.now();
        db::users::set_role(&mut *self.db.conn()?, &username_key(username), role, now)?
            .ok_or(AuthError::UserNotFound)
    }
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

fn check_role(role: &str) -> Result<(), AuthError> {
    if role == ROLE_ADMIN || role == ROLE_USER {
        Ok(())
    } else {
        Err(AuthError::Invalid(vec![FieldError::new(
            "role",
            "Role must be admin or user.",
        )]))
    }
}
