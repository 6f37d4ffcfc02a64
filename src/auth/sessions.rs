//! Sessions: one per sign-in on one device. What "live" means, and managing them.

use super::AuthService;
use super::access::{Admin, Caller};
use super::audit::{AuditEvent, EventKind};
use super::error::AuthError;
use super::types::{Account, SessionId, SessionInfo, UserId};
use crate::db::models::Session;
use crate::db::{self, Conn, LiveAt};

/// Ended sessions are kept this long (for people to see recent sign-outs) before `prune`.
pub const ENDED_SESSION_RETENTION_SECONDS: i64 = 7 * 24 * 3600;
const MAX_USER_AGENT_CHARS: usize = 512;

/// Session lifetimes, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// A session not refreshed for this long ends.
    pub idle: i64,
    /// A session ends this long after sign-in, however active.
    pub absolute: i64,
    /// How long after a refresh the same token may be presented again (concurrent tabs).
    pub reuse_grace: i64,
}

impl Lifetimes {
    pub fn live_at(&self, now: i64) -> LiveAt {
        LiveAt {
            now,
            idle_cutoff: now - self.idle,
        }
    }

    /// The instant the session ends if nobody uses it again.
    pub fn ends_at(&self, session: &impl SessionTimes) -> i64 {
        let (last_used_at, expires_at) = session.times();
        (last_used_at + self.idle).min(expires_at)
    }
}

/// A session's last use and absolute end, as the row and the view both have them.
pub trait SessionTimes {
    fn times(&self) -> (i64, i64);
}

impl SessionTimes for Session {
    fn times(&self) -> (i64, i64) {
        (self.last_used_at, self.expires_at)
    }
}

impl SessionTimes for SessionInfo {
    fn times(&self) -> (i64, i64) {
        (self.last_used_at, self.expires_at)
    }
}

pub fn is_live(session: &Session, now: i64, lifetimes: &Lifetimes) -> bool {
    lifetimes.live_at(now).admits(session)
}

/// Where a request came from, as far as the server can tell.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// Keeps printable characters only and caps the length: the User-Agent is attacker text.
    pub fn new(ip: Option<String>, user_agent: Option<&str>) -> ClientInfo {
        let user_agent = user_agent
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_USER_AGENT_CHARS)
                    .collect::<String>()
            })
            .filter(|ua| !ua.trim().is_empty());
        ClientInfo { ip, user_agent }
    }

    /// The `latchkey` command run by an operator on the server (for the audit trail).
    pub fn command_line() -> ClientInfo {
        ClientInfo {
            ip: None,
            user_agent: Some("latchkey command line".into()),
        }
    }
}

/// How a session came to be revoked by someone holding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedBy {
    /// The holder signed out.
    Logout,
    /// The client revoked its refresh token (RFC 7009).
    ClientRevocation,
}

impl EndedBy {
    fn reason(self) -> &'static str {
        match self {
            EndedBy::Logout => "logout",
            EndedBy::ClientRevocation => "revoked by client",
        }
    }
}

/// What `prune` deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: usize,
    pub throttles: usize,
    pub events: usize,
    /// Expired reset and verification links.
    pub links: usize,
    /// Sent, failed or held mails older than the audit retention.
    pub mails: usize,
}

/// A session as its owner sees it.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub session: SessionInfo,
    pub current: bool,
}

/// A user with their number of live sessions, for admins.
#[derive(Debug, Clone)]
pub struct UserSummary {
    pub user: Account,
    pub live_sessions: i64,
    /// An authenticator app is set up.
    pub totp: bool,
    /// At least one passkey is registered.
    pub passkeys: bool,
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

impl AuthService {
    pub fn my_sessions(&self, caller: &Caller) -> Result<Vec<SessionView>, AuthError> {
        let (user_id, current) = (&caller.user().id, &caller.session().id);
        let at = self.config.lifetimes.live_at(self.clock.now());
        let sessions = db::sessions::live_for_user(&mut *self.db.conn()?, user_id.as_str(), at)?;
        Ok(sessions
            .into_iter()
            .map(|session| SessionView {
                current: *current == *session.id,
                session: SessionInfo::from(session),
            })
            .collect())
    }

    /// Revokes one of the user's own live sessions. Anyone else's session is "not found",
    /// so nobody can probe which session ids exist.
    pub fn revoke_my_session(
        &self,
        caller: &Caller,
        target: &SessionId,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let user_id = caller.user().id.as_str();
        let target = target.as_str();
        let now = self.clock.now();
        let mut conn = self.db.conn()?;
        db::write_transaction(&mut conn, |conn| {
            let session = db::sessions::find(conn, target)?
                .filter(|s| s.user_id == user_id && is_live(s, now, &self.config.lifetimes))
                .ok_or(AuthError::SessionNotFound)?;
            db::sessions::revoke(conn, &session.id, now, "revoked by user")?;
            let event = AuditEvent::success(EventKind::SessionRevoked)
                .user(user_id)
                .session(&session.id)
                .detail("by user");
            Ok(self.audit_in(conn, event, client, now)?)
        })
    }

    /// Revokes every live session of the user except `current`; returns how many.
    pub fn revoke_my_other_sessions(
        &self,
        caller: &Caller,
        client: &ClientInfo,
    ) -> Result<usize, AuthError> {
        let (user_id, current) = (caller.user().id.as_str(), caller.session().id.as_str());
        let at = self.config.lifetimes.live_at(self.clock.now());
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            let revoked = db::sessions::revoke_all_for_user(
                conn,
                user_id,
                Some(current),
                at,
                "signed out from another device",
            )?;
            let event = AuditEvent::success(EventKind::SessionRevoked)
                .user(user_id)
                .detail("by user, from another device");
            self.audit_revocations(conn, &revoked, event, client, at.now)?;
            Ok(revoked.len())
        })
    }

    /// Ends a session (logout). Ending an already ended session is not an error.
    pub fn logout(&self, session_id: &str, client: &ClientInfo) -> Result<(), AuthError> {
        let now = self.clock.now();
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            self.end_session(conn, session_id, now, EndedBy::Logout, client)
        })
    }

    /// Revokes a session for `how` and records it; a session that had already ended is left
    /// alone and not recorded again.
    pub(crate) fn end_session(
        &self,
        conn: &mut Conn,
        session_id: &str,
        now: i64,
        how: EndedBy,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let Some(session) = db::sessions::find(conn, session_id)? else {
            return Ok(());
        };
        if db::sessions::revoke(conn, session_id, now, how.reason())? {
            let event = match how {
                EndedBy::Logout => AuditEvent::success(EventKind::LoggedOut),
                EndedBy::ClientRevocation => {
                    AuditEvent::success(EventKind::SessionRevoked).detail("by client (RFC 7009)")
                }
            };
            self.audit_in(
                conn,
                event.user(&session.user_id).session(session_id),
                client,
                now,
            )?;
        }
        Ok(())
    }

    /// Users, oldest first; `search` keeps those whose username or address contains it.
    pub fn list_users(
        &self,
        _: &Admin,
        search: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Page<UserSummary>, AuthError> {
        let at = self.config.lifetimes.live_at(self.clock.now());
        let mut conn = self.db.conn()?;
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        let (users, total) = db::users::page(&mut conn, search, limit, offset)?;
        let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
        let counts = db::users::live_session_counts(&mut conn, &ids, at)?;
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let with_totp = db::totp::confirmed_among(&mut conn, &id_refs)?;
        let with_passkeys = db::passkeys::owners_among(&mut conn, &id_refs)?;
        let items = users
            .into_iter()
            .map(|user| UserSummary {
                live_sessions: counts.get(&user.id).copied().unwrap_or(0),
                totp: with_totp.contains(&user.id),
                passkeys: with_passkeys.contains(&user.id),
                user: Account::from(&user),
            })
            .collect();
        Ok(Page { items, total })
    }

    /// How many sessions are live right now.
    pub fn live_session_count(&self) -> Result<i64, AuthError> {
        let at = self.config.lifetimes.live_at(self.clock.now());
        Ok(db::sessions::count_live(&mut *self.db.conn()?, at)?)
    }

    pub fn list_live_sessions(
        &self,
        _: &Admin,
        user_id: Option<&UserId>,
        limit: i64,
        offset: i64,
    ) -> Result<Page<(SessionInfo, String)>, AuthError> {
        let at = self.config.lifetimes.live_at(self.clock.now());
        let user_id = user_id.map(UserId::as_str);
        let (items, total) =
            db::sessions::live_page(&mut *self.db.conn()?, user_id, at, limit, offset)?;
        let items = items
            .into_iter()
            .map(|(session, username)| (SessionInfo::from(session), username))
            .collect();
        Ok(Page { items, total })
    }

    /// An admin revokes any live session.
    pub fn admin_revoke_session(
        &self,
        admin: &Admin,
        target: &SessionId,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let target = target.as_str();
        let now = self.clock.now();
        let mut conn = self.db.conn()?;
        db::write_transaction(&mut conn, |conn| {
            let session = db::sessions::find(conn, target)?
                .filter(|s| is_live(s, now, &self.config.lifetimes))
                .ok_or(AuthError::SessionNotFound)?;
            db::sessions::revoke(conn, &session.id, now, "revoked by admin")?;
            let event = AuditEvent::success(EventKind::SessionRevoked)
                .user(&session.user_id)
                .session(&session.id)
                .actor(admin.actor_id())
                .detail("by admin");
            Ok(self.audit_in(conn, event, client, now)?)
        })
    }

    /// An admin revokes every live session of a user; returns how many.
    pub fn admin_revoke_user_sessions(
        &self,
        admin: &Admin,
        user_id: &UserId,
        client: &ClientInfo,
    ) -> Result<usize, AuthError> {
        let user_id = user_id.as_str();
        let at = self.config.lifetimes.live_at(self.clock.now());
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            db::users::find_by_id(conn, user_id)?.ok_or(AuthError::UserNotFound)?;
            let revoked =
                db::sessions::revoke_all_for_user(conn, user_id, None, at, "revoked by admin")?;
            let event = AuditEvent::success(EventKind::SessionRevoked)
                .user(user_id)
                .actor(admin.actor_id())
                .detail("by admin");
            self.audit_revocations(conn, &revoked, event, client, at.now)?;
            Ok(revoked.len())
        })
    }

    /// Deletes sessions (with their refresh tokens) that ended more than the retention period
    /// ago, stale throttles, and audit events older than the audit retention.
    pub fn prune(&self) -> Result<Pruned, AuthError> {
        let now = self.clock.now();
        let ended_before = now - ENDED_SESSION_RETENTION_SECONDS;
        let idle_cutoff = ended_before - self.config.lifetimes.idle;
        let sessions =
            db::sessions::delete_ended(&mut *self.db.conn()?, ended_before, idle_cutoff)?;
        Ok(Pruned {
            sessions,
            throttles: self.prune_throttles(now)?,
            events: self.prune_events(now)?,
            // Links, and sign-ins that waited for a second factor and were never finished.
            links: db::one_time_tokens::delete_expired(&mut *self.db.conn()?, now)?
                + db::challenges::delete_expired(&mut *self.db.conn()?, now)?
                + db::ceremonies::delete_expired(&mut *self.db.conn()?, now)?,
            mails: db::outbox::delete_settled(
                &mut *self.db.conn()?,
                now - self.config.audit_retention_seconds,
            )?,
        })
    }
}
