//! An admin's way back for someone who lost every second factor: remove them all. Their
//! sessions end (whoever holds one may be the person who took the phone), sign-ins waiting
//! for a second step are void, and the audit trail names the admin.

use super::super::AuthService;
use super::super::access::Admin;
use super::super::audit::{AuditEvent, EventKind};
use super::super::error::AuthError;
use super::super::sessions::ClientInfo;
use super::super::types::UserId;
use crate::db;

/// What a reset removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactorsReset {
    pub had_totp: bool,
    pub passkeys: usize,
    pub sessions_ended: usize,
}

impl AuthService {
    /// Removes every second factor of the user and ends their sessions.
    pub fn reset_factors(
        &self,
        admin: &Admin,
        user_id: &UserId,
        client: &ClientInfo,
    ) -> Result<FactorsReset, AuthError> {
        let user_id = user_id.as_str();
        let at = self.config.lifetimes.live_at(self.clock.now());
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            db::users::find_by_id_locked(conn, user_id)?.ok_or(AuthError::UserNotFound)?;
            let had_totp = db::totp::delete(conn, user_id)?;
            let passkeys = super::passkeys::delete_all_in(conn, user_id)?;
            db::recovery_codes::delete_all(conn, user_id)?;
            db::challenges::void_for_user(conn, user_id, at.now)?;
            let reset = AuditEvent::success(EventKind::SecondFactorsReset)
                .user(user_id)
                .actor(admin.actor_id())
                .detail("by admin");
            self.audit_in(conn, reset, client, at.now)?;
            let revoked = db::sessions::revoke_all_for_user(
                conn,
                user_id,
                None,
                at,
                "second factors reset by admin",
            )?;
            let revocation = AuditEvent::success(EventKind::SessionRevoked)
                .user(user_id)
                .actor(admin.actor_id())
                .detail("second factors reset by admin");
            self.audit_revocations(conn, &revoked, revocation, client, at.now)?;
            Ok(FactorsReset {
                had_totp,
                passkeys,
                sessions_ended: revoked.len(),
            })
        })
    }
}
