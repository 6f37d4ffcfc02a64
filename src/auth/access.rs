//! Who may do what, as types. A handler gets a `Caller` only from `live_session` (the session
//! is live and its user enabled, as stored now), and an admin operation takes an `Admin`, which
//! only `admin_rights` (a caller whose stored role is admin) or `operator_at_command_line` can
//! make: forgetting the check does not compile. (lldap's access_control.rs works the same way.)

use super::AuthService;
use super::audit::{AuditEvent, EventKind, Outcome};
use super::error::AuthError;
use super::sessions::ClientInfo;
use super::types::{Account, Role, SessionInfo, UserId};
use crate::db;
use crate::db::models::User;

/// A live session and its enabled user, read from the database just now. Only
/// `live_session` makes one.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The row, for the domain's own checks (the password hash, the throttle key).
    row: User,
    user: Account,
    session: SessionInfo,
}

impl Caller {
    pub fn user(&self) -> &Account {
        &self.user
    }

    pub fn session(&self) -> &SessionInfo {
        &self.session
    }

    pub(super) fn user_row(&self) -> &User {
        &self.row
    }
}

/// Proof that the holder may administer the server: a signed-in admin, or the operator at the
/// server's command line. The private field keeps anyone outside this module from making one.
#[derive(Debug, Clone)]
pub struct Admin {
    /// The admin's user id; `None` for the operator at the command line.
    actor_id: Option<UserId>,
    _proof: (),
}

impl Admin {
    /// Who acted, for the audit trail (`None`: the command line).
    pub fn actor_id(&self) -> Option<&str> {
        self.actor_id.as_ref().map(UserId::as_str)
    }

    /// True when `user_id` is the admin's own account.
    pub fn is(&self, user_id: &UserId) -> bool {
        self.actor_id.as_ref() == Some(user_id)
    }
}

impl AuthService {
    /// The caller behind a session id, if the session is live and its user enabled. This is the
    /// rule for "signed in" that every surface uses (access tokens are checked offline; anything
    /// that reads or changes account data checks this too).
    pub fn live_session(&self, session_id: &str) -> Result<Caller, AuthError> {
        let at = self.config.lifetimes.live_at(self.clock.now());
        db::sessions::find_live_with_user(&mut *self.db.conn()?, session_id, at)?
            .filter(|(_, user)| user.disabled_at.is_none())
            .map(|(session, row)| Caller {
                user: Account::from(&row),
                session: SessionInfo::from(session),
                row,
            })
            .ok_or(AuthError::SessionEnded)
    }

    /// Admin rights for a caller whose role, as stored when `live_session` read it, is admin
    /// (a demoted admin loses them at once); `None` for anyone else. No I/O: an admin's request
    /// needs no second trip to the blocking pool.
    pub fn admin_rights(&self, caller: &Caller) -> Option<Admin> {
        (caller.user.role == Role::Admin).then(|| Admin {
            actor_id: Some(caller.user.id.clone()),
            _proof: (),
        })
    }

    /// Records that `caller` was refused an admin function (`access_denied`), and returns the
    /// refusal (or the storage error that kept it from being recorded). Writes: call it from a
    /// blocking thread.
    pub fn refuse_admin(&self, caller: &Caller, client: &ClientInfo) -> AuthError {
        let event = AuditEvent::new(EventKind::AccessDenied, Outcome::Denied)
            .user(caller.user.id.as_str())
            .session(caller.session.id.as_str())
            .detail("not an admin");
        match self.audit(event, client) {
            Ok(()) => AuthError::NotAdmin,
            Err(error) => error,
        }
    }

    /// Admin rights for the operator who runs `latchkey` on the server: whoever can run the
    /// binary can read its database anyway. Only `cli` calls this (a test checks that no route
    /// does).
    pub fn operator_at_command_line(&self) -> Admin {
        Admin {
            actor_id: None,
            _proof: (),
        }
    }
}
