//! An admin (or the operator at the command line) sets a user's password: for someone who
//! forgot theirs, or an account made for someone else. Nobody's current password is checked,
//! so every session of the user ends, and the audit trail says who did it.

use super::AuthService;
use super::access::Admin;
use super::audit::{AuditEvent, EventKind};
use super::error::{AuthError, FieldError};
use super::input::{check_new_password, username_key};
use super::sessions::ClientInfo;
use crate::db;

impl AuthService {
    /// Sets the password of `username`; returns how many sessions ended.
    pub fn set_password_by_admin(
        &self,
        admin: &Admin,
        username: &str,
        new_password: &str,
        client: &ClientInfo,
    ) -> Result<usize, AuthError> {
        let key = username_key(username);
        let user =
            db::users::find_by_key(&mut *self.db.conn()?, &key)?.ok_or(AuthError::UserNotFound)?;
        let password = check_new_password(
            new_password,
            self.config.password_min_chars,
            &[&user.username],
        )
        .map_err(|e| AuthError::Invalid(vec![FieldError::new("password", e.message)]))?;
        let hash = self.passwords.hash(&password)?;
        let at = self.config.lifetimes.live_at(self.clock.now());
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            // Still the same account after the (slow) hashing: not deleted and made again.
            db::users::find_by_id_locked(conn, &user.id)?.ok_or(AuthError::UserNotFound)?;
            db::users::set_password(conn, &user.id, &hash, at.now)?;
            let changed = AuditEvent::success(EventKind::PasswordChanged)
                .user(&user.id)
                .actor(admin.actor_id())
                .detail("set by admin");
            self.audit_in(conn, changed, client, at.now)?;
            let revoked = db::sessions::revoke_all_for_user(
                conn,
                &user.id,
                None,
                at,
                "password set by admin",
            )?;
            let revocation = AuditEvent::success(EventKind::SessionRevoked)
                .user(&user.id)
                .actor(admin.actor_id())
                .detail("password set by admin");
            self.audit_revocations(conn, &revoked, revocation, client, at.now)?;
            Ok(revoked.len())
        })
    }
}
