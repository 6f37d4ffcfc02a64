//! Registering, changing a password, and the account changes admins and the CLI make.

use zeroize::Zeroizing;

use super::AuthService;
use super::access::{Admin, Caller};
use super::audit::{AuditEvent, EventKind, Outcome};
use super::email::parse_email;
use super::error::{AuthError, FieldError};
use super::input::{
    Username, check_new_password, normalise_password, parse_username, username_key,
};
use super::sessions::ClientInfo;
use super::types::{Account, Role, UserId};
use crate::db::models::{NewUser, User};
use crate::db::{self, Conn, DbError};

/// A user just created: what the surfaces see, and the row to open their first session with.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub account: Account,
    row: User,
}

impl NewAccount {
    pub(super) fn row(&self) -> &User {
        &self.row
    }
}

impl AuthService {
    /// Registers a user with the `user` role.
    /// Registers a user with the `user` role. `email`, when given, gets a verification link;
    /// it becomes the account's verified address (for resets) once that link is used.
    pub fn register(
        &self,
        username: &str,
        password: &str,
        email: Option<&str>,
        client: &ClientInfo,
    ) -> Result<NewAccount, AuthError> {
        if !self.config.registration_open {
            return Err(AuthError::RegistrationClosed);
        }
        let email = email.map(str::trim).filter(|email| !email.is_empty());
        if email.is_none() && self.config.mail.require_email {
            return Err(AuthError::Invalid(vec![FieldError::new(
                "email",
                "This server needs an email address to register.",
            )]));
        }
        self.create_user(username, password, email, Role::User, client)
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

    /// Creates a user with a role after checking the username and password rules. A name that
    /// only looks like an existing one (same confusable skeleton) is taken too.
    pub fn create_user(
        &self,
        username: &str,
        password: &str,
        email: Option<&str>,
        role: Role,
        client: &ClientInfo,
    ) -> Result<NewAccount, AuthError> {
        self.create_user_as(None, username, password, email, role, client)
    }

    pub(super) fn create_user_as(
        &self,
        actor: Option<&str>,
        username: &str,
        password: &str,
        email: Option<&str>,
        role: Role,
        client: &ClientInfo,
    ) -> Result<NewAccount, AuthError> {
        let email = email.map(|e| parse_email(e, "email")).transpose();
        // Every field's problem at once.
        let ((username, password), email) = match (self.checked_account(username, password), email)
        {
            (Ok(account), Ok(email)) => (account, email),
            (Err(AuthError::Invalid(mut errors)), Err(email)) => {
                errors.push(email);
                return Err(AuthError::Invalid(errors));
            }
            (Err(other), _) => return Err(other),
            (Ok(_), Err(email)) => return Err(AuthError::Invalid(vec![email])),
        };
        let password_hash = self.passwords.hash(&password)?;
        let now = self.clock.now();
        let id = super::random_uuid()?;
        let new_user = NewUser {
            id: &id,
            username: &username.display,
            username_key: &username.key,
            password_hash: &password_hash,
            role: role.as_str(),
            created_at: now,
            updated_at: now,
            password_changed_at: now,
            username_skeleton: &username.skeleton,
            // Unverified: the key (unique, used by resets) is set once the link is used, so
            // registering with someone else's address neither fails (which would tell that it
            // is taken) nor takes it.
            email: email.as_ref().map(|email| email.display.as_str()),
            email_key: None,
        };
        let inserted = db::write_transaction(&mut *self.db.conn()?, |conn| {
            let user = match db::users::insert(conn, &new_user) {
                Err(DbError::Conflict) => return Err(AuthError::UsernameTaken),
                other => other?,
            };
            let event = AuditEvent::success(EventKind::Registered)
                .user(&user.id)
                .actor(actor);
            self.audit_in(conn, event, client, now)?;
            if let Some(email) = &email {
                self.send_verification_in(conn, &user, email, now)?;
            }
            Ok::<_, AuthError>(user)
        })?;
        if email.is_some() {
            self.ring_postbox();
        }
        Ok(NewAccount {
            account: Account::from(&inserted),
            row: inserted,
        })
    }

    /// Changes a signed-in user's password after checking the current one, and signs out every
    /// other session of the user (a password change is what people do when they fear a thief).
    /// The current-password check is throttled exactly like a sign-in (`device_token`: the
    /// caller's trusted-device token, if any). An account with a second factor also needs a fresh
    /// session (`step_up_for_credential_change`). Returns how many other sessions were revoked.
    pub fn change_password(
        &self,
        caller: &Caller,
        current_password: &str,
        new_password: &str,
        device_token: Option<&str>,
        client: &ClientInfo,
    ) -> Result<usize, AuthError> {
        self.step_up_for_credential_change(caller)?;
        let user = caller.user_row();
        let current_session = caller.session().id.as_str();
        let new_password = check_new_password(
            new_password,
            self.config.password_min_chars,
            &[&user.username],
        )
        .map_err(|e| AuthError::Invalid(vec![FieldError::new("new_password", e.message)]))?;
        let current_password = normalise_password(current_password);
        let event = |outcome| {
            AuditEvent::new(EventKind::PasswordChanged, outcome)
                .user(&user.id)
                .session(current_session)
        };
        let (checked, counter) =
            self.check_current_password(caller, &current_password, device_token, event, client)?;
        if *new_password == *current_password {
            return Err(AuthError::Invalid(vec![FieldError::new(
                "new_password",
                "The new password is the same as your current one; choose a different one.",
            )]));
        }
        let hash = self.passwords.hash(&new_password)?;
        let at = self.config.lifetimes.live_at(self.clock.now());
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            // The check above was slow; the password it verified must still be the one stored.
            let current = db::users::find_by_id_locked(conn, &user.id)?;
            if current.is_none_or(|now| now.password_hash != user.password_hash) {
                return Err(AuthError::Invalid(vec![FieldError::new(
                    "current_password",
                    "Your password was changed meanwhile; sign in again with the new one.",
                )]));
            }
            if checked.earlier_failures {
                self.clear_counter(conn, &counter)?;
            }
            db::users::set_password(conn, &user.id, &hash, at.now)?;
            self.audit_in(conn, event(Outcome::Success), client, at.now)?;
            let revoked = db::sessions::revoke_all_for_user(
                conn,
                &user.id,
                Some(current_session),
                at,
                "password changed",
            )?;
            let revocation = AuditEvent::success(EventKind::SessionRevoked)
                .user(&user.id)
                .detail("password changed");
            self.audit_revocations(conn, &revoked, revocation, client, at.now)?;
            Ok::<_, AuthError>(revoked.len())
        })
    }

    /// Disables a user: every session ends and sign-ins are refused (with the generic message)
    /// until an admin enables the account again. Returns how many sessions were revoked, or
    /// `Already` (and records nothing) when the account was disabled before.
    pub fn disable_user(
        &self,
        admin: &Admin,
        user_id: &UserId,
        force: bool,
        client: &ClientInfo,
    ) -> Result<Change<usize>, AuthError> {
        let acting_user = admin.actor_id();
        if admin.is(user_id) {
            return Err(AuthError::OwnAccount);
        }
        let user_id = user_id.as_str();
        let at = self.config.lifetimes.live_at(self.clock.now());
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            let user = db::users::find_by_id(conn, user_id)?.ok_or(AuthError::UserNotFound)?;
            if user.disabled_at.is_some() {
                return Ok(Change::Already);
            }
            ensure_another_admin(conn, &user, force)?;
            db::users::set_disabled(conn, user_id, Some(at.now), at.now)?;
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
            Ok(Change::Done(revoked.len()))
        })
    }

    /// Lets a disabled user sign in again; `Already` (nothing recorded) when it was enabled.
    pub fn enable_user(
        &self,
        admin: &Admin,
        user_id: &UserId,
        client: &ClientInfo,
    ) -> Result<Change<()>, AuthError> {
        let acting_user = admin.actor_id();
        let user_id = user_id.as_str();
        let now = self.clock.now();
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            let user = db::users::find_by_id(conn, user_id)?.ok_or(AuthError::UserNotFound)?;
            if user.disabled_at.is_none() {
                return Ok(Change::Already);
            }
            db::users::set_disabled(conn, user_id, None, now)?;
            let event = AuditEvent::success(EventKind::UserEnabled)
                .user(user_id)
                .actor(acting_user);
            self.audit_in(conn, event, client, now)?;
            Ok(Change::Done(()))
        })
    }

    /// Deletes a user with every session and refresh token (the audit trail keeps their events).
    pub fn delete_user(
        &self,
        admin: &Admin,
        user_id: &UserId,
        force: bool,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let acting_user = admin.actor_id();
        let user_id = user_id.as_str();
        let now = self.clock.now();
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            let user = db::users::find_by_id(conn, user_id)?.ok_or(AuthError::UserNotFound)?;
            ensure_another_admin(conn, &user, force)?;
            db::users::delete(conn, user_id)?;
            let event = AuditEvent::success(EventKind::UserDeleted)
                .user(user_id)
                .actor(acting_user);
            Ok(self.audit_in(conn, event, client, now)?)
        })
    }

    /// The id of the user with this username (for the CLI).
    pub fn user_id_by_name(&self, username: &str) -> Result<UserId, AuthError> {
        db::users::find_by_key(&mut *self.db.conn()?, &username_key(username))?
            .map(|user| UserId::from(user.id))
            .ok_or(AuthError::UserNotFound)
    }

    /// Gives a user the `admin` or `user` role, recorded as `role_changed`; returns the user,
    /// or `Already` when it had that role. Demoting the last enabled admin needs `force`.
    pub fn set_role(
        &self,
        admin: &Admin,
        username: &str,
        role: Role,
        force: bool,
        client: &ClientInfo,
    ) -> Result<Change<Account>, AuthError> {
        let acting_user = admin.actor_id();
        let now = self.clock.now();
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            let user = db::users::find_by_key(conn, &username_key(username))?
                .ok_or(AuthError::UserNotFound)?;
            if Role::stored(&user.role) == role {
                return Ok(Change::Already);
            }
            if role != Role::Admin {
                ensure_another_admin(conn, &user, force)?;
            }
            let updated = db::users::set_role(conn, &user.id, role.as_str(), now)?;
            let detail = match role {
                Role::Admin => "to admin",
                Role::User => "to user",
            };
            let event = AuditEvent::success(EventKind::RoleChanged)
                .user(&user.id)
                .actor(acting_user)
                .detail(detail);
            self.audit_in(conn, event, client, now)?;
            Ok(Change::Done(Account::from(&updated)))
        })
    }

    /// Fills the confusable skeleton of users registered before it existed, in one transaction
    /// (the server runs it in the background at start). Oldest first: a user whose skeleton an
    /// earlier user already holds keeps `NULL` (and their name). Returns how many were filled.
    pub fn backfill_username_skeletons(&self) -> Result<usize, AuthError> {
        let mut conn = self.db.conn()?;
        let missing = db::users::without_skeleton(&mut conn)?;
        if missing.is_empty() {
            return Ok(0);
        }
        let mut taken: std::collections::HashSet<String> =
            db::users::skeletons(&mut conn)?.into_iter().collect();
        let filled: Vec<(String, String)> = missing
            .into_iter()
            .filter_map(|(id, key)| {
                let skeleton = super::input::username_skeleton(&key);
                taken.insert(skeleton.clone()).then_some((id, skeleton))
            })
            .collect();
        db::write_transaction(&mut conn, |conn| {
            for (id, skeleton) in &filled {
                db::users::set_skeleton(conn, id, skeleton)?;
            }
            Ok::<_, AuthError>(filled.len())
        })
    }
}

/// How an account change went: done (with its result), or nothing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<T> {
    Done(T),
    /// The account was already in the asked-for state; nothing was written or recorded.
    Already,
}

/// Refuses to demote, disable or delete the last enabled admin unless `force`: nobody could
/// administer the server afterwards but the operator at its command line.
fn ensure_another_admin(conn: &mut Conn, target: &User, force: bool) -> Result<(), AuthError> {
    let is_enabled_admin =
        Role::stored(&target.role) == Role::Admin && target.disabled_at.is_none();
    if is_enabled_admin && !force && db::users::count_enabled_admins(conn)? <= 1 {
        return Err(AuthError::LastAdmin);
    }
    Ok(())
}
