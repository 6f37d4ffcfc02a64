//! Per-account sign-in throttle: after 5 consecutive failures, each further attempt waits
//! 1 s, 2 s, 4 s ... up to 15 minutes. Never a permanent lockout (that would let anyone lock a
//! user out). Kept in the database, so it survives restarts and is shared by every instance.

use super::AuthService;
use super::audit::AuditEvent;
use super::error::AuthError;
use super::input::username_key;
use super::sessions::ClientInfo;
use crate::db::models::LoginThrottle;
use crate::db::{self, Conn};

/// Failures allowed before the first wait.
pub const FREE_FAILURES: i32 = 5;
pub const MAX_LOCK_SECONDS: i64 = 15 * 60;
/// Throttles without a failure for this long are forgotten by `prune`.
pub const FORGET_AFTER_SECONDS: i64 = 24 * 3600;

/// How long sign-ins wait after `failures` consecutive failures.
pub fn lock_seconds(failures: i32) -> i64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let doublings = (failures - FREE_FAILURES).min(20) as u32;
    (1_i64 << doublings).min(MAX_LOCK_SECONDS)
}

/// Seconds until sign-ins are accepted again, if they are refused now.
pub fn retry_after(throttle: Option<&LoginThrottle>, now: i64) -> Option<i64> {
    throttle
        .map(|t| t.locked_until - now)
        .filter(|&seconds| seconds > 0)
}

impl AuthService {
    /// Refuses the attempt while the account (or unknown username) is throttled; otherwise
    /// says whether earlier failures are on record (so a success only writes when it must).
    pub(crate) fn check_throttle(
        &self,
        conn: &mut Conn,
        key: &str,
        now: i64,
    ) -> Result<bool, AuthError> {
        let throttle = db::throttles::find(conn, key)?;
        match retry_after(throttle.as_ref(), now) {
            Some(retry_after) => Err(AuthError::Throttled { retry_after }),
            None => Ok(throttle.is_some()),
        }
    }

    /// Counts a failed sign-in against the username key and records why it failed.
    pub(crate) fn record_failed_login(
        &self,
        key: &str,
        now: i64,
        event: AuditEvent<'_>,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            self.audit_in(conn, event, client, now)?;
            let failures = db::throttles::count_failure(conn, key, now)?;
            db::throttles::lock_until(conn, key, now + lock_seconds(failures))?;
            Ok(())
        })
    }

    pub(crate) fn clear_failed_logins(&self, key: &str) -> Result<(), AuthError> {
        db::throttles::clear(&mut *self.db.conn()?, key)?;
        Ok(())
    }

    /// Usernames (as their comparison keys) with at least `FREE_FAILURES` failures in a row.
    pub fn throttled_accounts(&self, limit: i64) -> Result<Vec<LoginThrottle>, AuthError> {
        Ok(db::throttles::with_failures(
            &mut *self.db.conn()?,
            FREE_FAILURES,
            limit,
        )?)
    }

    /// An admin lifts the throttle of a username; `NotThrottled` when there is none.
    pub fn clear_throttle(&self, username: &str) -> Result<(), AuthError> {
        if db::throttles::clear(&mut *self.db.conn()?, &username_key(username))? {
            Ok(())
        } else {
            Err(AuthError::NotThrottled)
        }
    }

    pub(crate) fn prune_throttles(&self, now: i64) -> Result<usize, AuthError> {
        Ok(db::throttles::delete_stale(
            &mut *self.db.conn()?,
            now - FORGET_AFTER_SECONDS,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_are_free_then_waits_double_up_to_15_minutes() {
        assert_eq!((1..=4).map(lock_seconds).collect::<Vec<_>>(), [0, 0, 0, 0]);
        assert_eq!(lock_seconds(5), 1);
        assert_eq!(lock_seconds(6), 2);
        assert_eq!(lock_seconds(10), 32);
        assert_eq!(lock_seconds(15), MAX_LOCK_SECONDS);
        assert_eq!(lock_seconds(10_000), MAX_LOCK_SECONDS);
    }

    #[test]
    fn retry_after_counts_down_to_nothing() {
        let throttle = LoginThrottle {
            username_key: "alice".into(),
            failures: 6,
            locked_until: 100,
            last_failure_at: 98,
        };
        assert_eq!(retry_after(Some(&throttle), 98), Some(2));
        assert_eq!(retry_after(Some(&throttle), 100), None);
        assert_eq!(retry_after(None, 0), None);
    }
}
