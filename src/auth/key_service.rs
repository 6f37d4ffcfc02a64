//! Keeping every instance's key ring current: rotations and retirements made anywhere (another
//! instance, the command line) are picked up within about a second, and a published key starts
//! signing exactly when its publication time has passed.

use std::time::{Duration, Instant};

use super::error::{AuthError, FieldError};
use super::tokens::{AccessClaims, TokenError};
use super::{AuthService, keys};

/// An unknown kid re-reads the keys at most this often, so tokens with made-up kids cannot
/// turn into a stream of database reads.
const KEY_REFETCH_INTERVAL: Duration = Duration::from_secs(1);
/// How often every instance asks whether the keys changed (`watch_keys`).
pub const KEY_WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// How long a new key is only published before it signs: every instance has it in its JWKS
/// within `KEY_WATCH_INTERVAL` (and within one reload interval at worst), and a verifier that
/// fetched the JWKS just before may keep that copy for the JWKS max-age. One more second covers
/// the whole-second timestamps: the first signature comes at least
/// `max(reload interval, JWKS max-age)` after the key reached every instance's JWKS.
pub fn key_publish_seconds(reload_interval: Duration, jwks_max_age: Duration) -> i64 {
    let wait = reload_interval.max(jwks_max_age) + KEY_WATCH_INTERVAL;
    wait.as_secs() as i64 + 1
}

/// What the current ring was loaded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyWatch {
    /// `db::keys::fingerprint` when the ring was loaded.
    pub fingerprint: (i64, Option<i32>, i64),
    /// When a newer key takes over signing (the ring must be loaded again then).
    pub signer_changes_at: Option<i64>,
}

impl AuthService {
    /// Re-reads the keys from the database (picks up `latchkey keys rotate`, here or on another
    /// instance). An unchanged key set keeps the current ring and its verified-token cache.
    pub fn reload_keys(&self) -> Result<(), AuthError> {
        let mut conn = self.db.conn()?;
        // Read before the keys: a change made in between is seen by the next watch.
        let fingerprint = crate::db::keys::fingerprint(&mut conn)?;
        let loaded = keys::load_ring(
            &mut conn,
            &self.secret,
            &self.config.tokens,
            self.key_publication(),
        )?;
        drop(conn);
        if let Ok(mut watch) = self.key_watch.lock() {
            *watch = KeyWatch {
                fingerprint,
                signer_changes_at: loaded.signer_changes_at,
            };
        }
        let ring = loaded.ring;
        let current = self.keys.get();
        if ring.jwks_etag() != current.jwks_etag() || ring.signing_kid() != current.signing_kid() {
            self.keys.replace(ring);
        }
        Ok(())
    }

    fn key_publication(&self) -> keys::Publication {
        keys::Publication {
            now: self.clock.now(),
            seconds: self.config.key_publish_seconds,
        }
    }

    pub fn rotate_keys(&self) -> Result<String, AuthError> {
        let kid = keys::rotate(&mut *self.db.conn()?, &self.secret, self.clock.now())?;
        self.reload_keys()?;
        Ok(kid)
    }

    /// Retires a key: it stops verifying (tokens it signed are refused at once) and leaves the
    /// JWKS. The newest key cannot be retired (rotate first). The key that signs now can be, as
    /// soon as a newer one exists: a leaked key must not wait for the newer one's publication
    /// time, so the newer one then signs at once.
    pub fn retire_key(&self, kid: &str) -> Result<(), AuthError> {
        let mut conn = self.db.conn()?;
        let newest = keys::list(&mut conn, self.key_publication())?
            .into_iter()
            .rev()
            .find(|key| key.retired_at.is_none())
            .map(|key| key.kid);
        if newest.as_deref() == Some(kid) {
            return Err(AuthError::Invalid(vec![FieldError::new(
                "kid",
                "That is the newest key, which signs new tokens; run `latchkey keys rotate` \
                 first, then retire it.",
            )]));
        }
        if !crate::db::keys::retire(&mut conn, kid, self.clock.now())? {
            return Err(AuthError::Invalid(vec![FieldError::new(
                "kid",
                "No active key has that kid; see `latchkey keys list`.",
            )]));
        }
        drop(conn);
        self.reload_keys()
    }

    pub fn list_keys(&self) -> Result<Vec<keys::KeyInfo>, AuthError> {
        keys::list(&mut *self.db.conn()?, self.key_publication())
    }

    /// Run every `KEY_WATCH_INTERVAL` on every instance: loads the keys again when a key was
    /// added or retired anywhere, or when a published key's time to sign has come. Otherwise
    /// one small query.
    pub fn watch_keys(&self) -> Result<(), AuthError> {
        let fingerprint = crate::db::keys::fingerprint(&mut *self.db.conn()?)?;
        let due = match self.key_watch.lock() {
            Ok(watch) => {
                watch.fingerprint != fingerprint
                    || watch
                        .signer_changes_at
                        .is_some_and(|at| self.clock.now() >= at)
            }
            Err(_) => true,
        };
        if due {
            self.reload_keys()?;
        }
        Ok(())
    }

    /// Like `verify_access_token`, but a kid we do not know yet re-reads the keys first (at most
    /// once a second): another instance may have just rotated. Reads the database; call it
    /// from a blocking thread, and only after `verify_access_token` said `UnknownKey`.
    pub fn verify_access_token_refetching(&self, token: &str) -> Result<AccessClaims, TokenError> {
        match self.verify_access_token(token) {
            Err(TokenError::UnknownKey) if self.may_refetch_keys() => {
                if let Err(error) = self.reload_keys() {
                    tracing::warn!(%error, "could not re-read the signing keys");
                }
                self.verify_access_token(token)
            }
            other => other,
        }
    }

    fn may_refetch_keys(&self) -> bool {
        let Ok(mut last) = self.last_key_refetch.lock() else {
            return false;
        };
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < KEY_REFETCH_INTERVAL) {
            return false;
        }
        *last = Some(now);
        true
    }
}
