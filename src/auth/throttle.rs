//! The per-account throttle on password checks (sign-in and the current-password check of a
//! password change): after 5 consecutive failures, each further attempt waits 1 s, 2 s, 4 s ...
//! up to 15 minutes. Never a permanent lockout, and never one the owner suffers for an
//! attacker: a device that has signed in to the account before (see `devices.rs`) counts its
//! failures on a counter of its own, and only untrusted attempts share the account's counter.
//!
//! Counters live in the database (shared by every instance, kept across restarts) under a keyed
//! hash of what they count, never under what people typed: people type passwords into the
//! username field. At most `MAX_CHECKS_IN_FLIGHT` checks per counter run at once, so one
//! account cannot soak up every core with bcrypt.

use std::collections::HashMap;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::AuthService;
use super::access::{Admin, Caller};
use super::audit::{AuditEvent, Outcome};
use super::devices::{self, TrustedDevice};
use super::error::{AuthError, FieldError};
use super::input::username_key;
use super::sessions::ClientInfo;
use crate::db::models::{SignInThrottle, User};
use crate::db::{self, Conn};

/// Failures allowed before the first wait.
pub const FREE_FAILURES: i32 = 5;
pub const MAX_LOCK_SECONDS: i64 = 15 * 60;
/// Throttles without a failure for this long are forgotten by `prune`.
pub const FORGET_AFTER_SECONDS: i64 = 24 * 3600;
/// Password checks under one counter that may run at the same time; more wait (429, 1 s).
pub const MAX_CHECKS_IN_FLIGHT: usize = 2;

/// How long attempts wait after `failures` consecutive failures.
pub fn lock_seconds(failures: i32) -> i64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let doublings = (failures - FREE_FAILURES).min(20) as u32;
    (1_i64 << doublings).min(MAX_LOCK_SECONDS)
}

/// Seconds until attempts are accepted again, if they are refused now.
pub fn retry_after(throttle: Option<&SignInThrottle>, now: i64) -> Option<i64> {
    throttle
        .map(|t| t.locked_until - now)
        .filter(|&seconds| seconds > 0)
}

/// Which counter an attempt counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every client of a username that holds no trusted-device token for the account.
    Untrusted,
    /// One device that signed in to the account before.
    Device,
    /// Wrong codes at an account's second step (sign-in or re-authentication).
    SecondFactor,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Untrusted => "untrusted",
            Scope::Device => "device",
            Scope::SecondFactor => "second_factor",
        }
    }
}

/// The counter one password check counts against.
#[derive(Debug, Clone)]
pub(crate) struct Counter {
    pub key: String,
    pub scope: Scope,
    pub user_id: Option<String>,
    /// The trusted device the attempt came from, if any.
    pub device: Option<TrustedDevice>,
}

/// Password checks running now, per counter key.
#[derive(Debug, Default)]
pub(crate) struct InFlight(Mutex<HashMap<String, usize>>);

struct InFlightGuard<'a> {
    running: &'a InFlight,
    key: String,
}

impl InFlight {
    fn enter(&self, key: &str) -> Option<InFlightGuard<'_>> {
        let mut running = self.0.lock().ok()?;
        let count = running.entry(key.to_owned()).or_insert(0);
        if *count >= MAX_CHECKS_IN_FLIGHT {
            return None;
        }
        *count += 1;
        Some(InFlightGuard {
            running: self,
            key: key.to_owned(),
        })
    }
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut running) = self.running.0.lock()
            && let Some(count) = running.get_mut(&self.key)
        {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.key);
            }
        }
    }
}

/// What a throttled password check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checked {
    /// The password matched the account's hash (always false without an account).
    pub verified: bool,
    /// Failures were on record under the counter (a success then clears them).
    pub earlier_failures: bool,
}

/// A throttle as admins see it.
#[derive(Debug, Clone)]
pub struct ThrottleView {
    pub key: String,
    pub scope: Scope,
    /// The account's name when the username exists; `None` for names nobody has.
    pub username: Option<String>,
    pub failures: i32,
    pub locked_until: i64,
}

impl AuthService {
    fn throttle_key(&self, scope: Scope, value: &str) -> String {
        let mut mac: Hmac<Sha256> = super::keyed_hmac(self.throttle_key.as_ref());
        mac.update(scope.as_str().as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        super::b64url(&mac.finalize().into_bytes())
    }

    /// The counter for an attempt on `username_key` (whose account is `user`, if it exists)
    /// from a client holding `device_token`.
    pub(crate) fn counter_for(
        &self,
        username_key: &str,
        user: Option<&User>,
        device_token: Option<&str>,
        now: i64,
    ) -> Counter {
        let device = user
            .zip(device_token)
            .and_then(|(user, token)| devices::verify(&self.device_key, token, &user.id, now));
        let user_id = user.map(|user| user.id.clone());
        match device {
            Some(device) => Counter {
                key: self.throttle_key(Scope::Device, &device.device_id),
                scope: Scope::Device,
                user_id,
                device: Some(device),
            },
            None => Counter {
                key: self.throttle_key(Scope::Untrusted, username_key),
                scope: Scope::Untrusted,
                user_id,
                device: None,
            },
        }
    }

    /// The counter of wrong second-factor codes for an account (one per account: the second
    /// step is reached only with the right password, so its failures are the owner's concern).
    pub(crate) fn second_factor_counter(&self, user_id: &str) -> Counter {
        Counter {
            key: self.throttle_key(Scope::SecondFactor, user_id),
            scope: Scope::SecondFactor,
            user_id: Some(user_id.to_owned()),
            device: None,
        }
    }

    /// A (renewed) trusted-device token for the device behind `counter`, after a success.
    pub(crate) fn device_token_for(
        &self,
        user: &User,
        counter: &Counter,
        now: i64,
    ) -> Result<String, AuthError> {
        devices::issue(&self.device_key, &user.id, counter.device.as_ref(), now)
    }

    /// Checks `password` against `user`'s hash (or, without an account, spends the same work on
    /// the dummy hash). Refused while the counter is locked, or while `MAX_CHECKS_IN_FLIGHT`
    /// checks under it are running. The caller records a refusal with `record_failed_check`.
    pub(crate) fn check_password(
        &self,
        counter: &Counter,
        user: Option<&User>,
        password: &str,
        now: i64,
    ) -> Result<Checked, AuthError> {
        // The connection goes back to the pool before bcrypt's quarter second of work.
        let throttle = db::throttles::find(&mut *self.db.conn()?, &counter.key)?;
        if let Some(retry_after) = retry_after(throttle.as_ref(), now) {
            return Err(AuthError::Throttled { retry_after });
        }
        let _running = self
            .checks_in_flight
            .enter(&counter.key)
            .ok_or(AuthError::Throttled { retry_after: 1 })?;
        let verified = match user {
            Some(user) => self.passwords.verify(password, &user.password_hash),
            None => {
                self.passwords.verify_dummy(password);
                false
            }
        };
        Ok(Checked {
            verified,
            earlier_failures: throttle.is_some(),
        })
    }

    /// The current-password check before a change to a signed-in account: throttled exactly
    /// like a sign-in, and recorded as `event` when refused. Ok only for the right password.
    pub(super) fn check_current_password<'a>(
        &self,
        caller: &Caller,
        current_password: &str,
        device_token: Option<&str>,
        event: impl Fn(Outcome) -> AuditEvent<'a>,
        client: &ClientInfo,
    ) -> Result<(Checked, Counter), AuthError> {
        let user = caller.user_row();
        let now = self.clock.now();
        let counter = self.counter_for(&user.username_key, Some(user), device_token, now);
        let checked = match self.check_password(&counter, Some(user), current_password, now) {
            Err(AuthError::Throttled { retry_after }) => {
                let refused = event(Outcome::Denied).detail("too many failed attempts");
                self.audit(refused, client)?;
                return Err(AuthError::Throttled { retry_after });
            }
            other => other?,
        };
        if !checked.verified {
            let failed = event(Outcome::Failure).detail("wrong current password");
            self.record_failed_check(&counter, now, failed, client)?;
            return Err(AuthError::Invalid(vec![FieldError::new(
                "current_password",
                "Your current password is not right.",
            )]));
        }
        Ok((checked, counter))
    }

    /// Counts a failed check against its counter and records why it failed.
    pub(crate) fn record_failed_check(
        &self,
        counter: &Counter,
        now: i64,
        event: AuditEvent<'_>,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            self.audit_in(conn, event, client, now)?;
            let failures = db::throttles::count_failure(
                conn,
                &counter.key,
                counter.scope.as_str(),
                counter.user_id.as_deref(),
                now,
            )?;
            db::throttles::lock_until(conn, &counter.key, now + lock_seconds(failures))?;
            Ok(())
        })
    }

    pub(crate) fn clear_counter(
        &self,
        conn: &mut Conn,
        counter: &Counter,
    ) -> Result<(), AuthError> {
        db::throttles::clear(conn, &counter.key)?;
        Ok(())
    }

    /// Counters with at least `FREE_FAILURES` failures in a row, newest first.
    pub fn throttled_accounts(
        &self,
        _: &Admin,
        limit: i64,
    ) -> Result<Vec<ThrottleView>, AuthError> {
        let rows = db::throttles::with_failures(&mut *self.db.conn()?, FREE_FAILURES, limit)?;
        Ok(rows
            .into_iter()
            .map(|(row, username)| ThrottleView {
                scope: match row.scope.as_str() {
                    "device" => Scope::Device,
                    "second_factor" => Scope::SecondFactor,
                    _ => Scope::Untrusted,
                },
                key: row.throttle_key,
                username,
                failures: row.failures,
                locked_until: row.locked_until,
            })
            .collect())
    }

    /// An admin lifts every throttle of a username (its untrusted counter and, for an account,
    /// each of its devices' counters); `NotThrottled` when there is none.
    pub fn clear_throttle(&self, _: &Admin, username: &str) -> Result<(), AuthError> {
        let key = username_key(username);
        let counter = self.throttle_key(Scope::Untrusted, &key);
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            let mut cleared = db::throttles::clear(conn, &counter)?;
            if let Some(user) = db::users::find_by_key(conn, &key)? {
                cleared |= db::throttles::clear_devices_of(conn, &user.id)? > 0;
            }
            if cleared {
                Ok(())
            } else {
                Err(AuthError::NotThrottled)
            }
        })
    }

    /// An admin lifts one throttle by its key (as the throttle list shows it).
    pub fn clear_throttle_by_key(&self, _: &Admin, key: &str) -> Result<(), AuthError> {
        if db::throttles::clear(&mut *self.db.conn()?, key)? {
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
        let throttle = SignInThrottle {
            throttle_key: "k".into(),
            scope: "untrusted".into(),
            user_id: None,
            failures: 6,
            locked_until: 100,
            last_failure_at: 98,
        };
        assert_eq!(retry_after(Some(&throttle), 98), Some(2));
        assert_eq!(retry_after(Some(&throttle), 100), None);
        assert_eq!(retry_after(None, 0), None);
    }

    #[test]
    fn at_most_two_checks_run_at_once_under_one_counter() {
        let running = InFlight::default();
        let first = running.enter("a").unwrap();
        let _second = running.enter("a").unwrap();
        assert!(running.enter("a").is_none());
        assert!(
            running.enter("b").is_some(),
            "other counters are not affected"
        );
        drop(first);
        assert!(running.enter("a").is_some());
    }
}
