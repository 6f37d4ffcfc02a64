//! The domain: accounts, sessions, refresh-token rotation and access tokens.
//! No HTTP in here; handlers call `AuthService` methods from a blocking thread.

pub mod accounts;
pub mod audit;
pub mod clock;
mod cpu_pool;
pub mod error;
pub mod input;
pub mod keys;
pub mod password;
pub mod refresh;
pub mod secret;
pub mod sessions;
pub mod throttle;
pub mod tokens;
mod verified;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

pub use clock::Clock;
pub use error::{AuthError, FieldError};
use password::PasswordHasher;
use refresh::RefreshSecret;
use secret::ServerSecret;
use sessions::Lifetimes;
use tokens::{AccessClaims, KeyRing, KeyRingHandle, TokenError, TokenSettings};

use crate::db::Db;
use crate::db::models::{Session, User};

/// The policy the domain enforces.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub tokens: TokenSettings,
    pub lifetimes: Lifetimes,
    pub password_min_chars: usize,
    pub bcrypt_cost: u32,
    pub registration_open: bool,
    /// Audit events older than this many seconds are deleted by `prune`.
    pub audit_retention_seconds: i64,
    /// A new key is only published this long before it signs: the key reload interval, so
    /// every instance has it in its JWKS first.
    pub key_publish_seconds: i64,
}

/// What a successful login or refresh hands to the client.
#[derive(Debug)]
pub struct IssuedTokens {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: String,
    pub refresh_expires_in: i64,
    pub session_id: String,
    pub user_id: String,
}

pub struct AuthService {
    db: Db,
    config: AuthConfig,
    passwords: PasswordHasher,
    keys: KeyRingHandle,
    secret: Arc<ServerSecret>,
    refresh_key: Zeroizing<[u8; 32]>,
    clock: Clock,
    event_counts: audit::EventCounts,
    /// When the keys were last re-read because a token named a kid we did not know.
    last_key_refetch: Mutex<Option<Instant>>,
}

/// An unknown kid re-reads the keys at most this often, so tokens with made-up kids cannot
/// turn into a stream of database reads.
const KEY_REFETCH_INTERVAL: Duration = Duration::from_secs(1);

impl AuthService {
    /// Makes sure a signing key exists and loads the key ring.
    pub fn new(
        db: Db,
        config: AuthConfig,
        secret: Arc<ServerSecret>,
        pepper: Option<Vec<u8>>,
        clock: Clock,
    ) -> Result<AuthService, AuthError> {
        let mut conn = db.conn()?;
        keys::ensure_signing_key(&mut conn, &secret, clock.now())?;
        let publication = keys::Publication {
            now: clock.now(),
            seconds: config.key_publish_seconds,
        };
        let ring = keys::load_ring(&mut conn, &secret, &config.tokens, publication)?;
        drop(conn);
        Ok(AuthService {
            passwords: PasswordHasher::new(config.bcrypt_cost, pepper),
            refresh_key: secret.derive_key("refresh-token-successor"),
            keys: KeyRingHandle::new(ring),
            db,
            config,
            secret,
            clock,
            event_counts: audit::EventCounts::default(),
            last_key_refetch: Mutex::new(None),
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    pub fn key_ring(&self) -> Arc<KeyRing> {
        self.keys.get()
    }

    /// Re-reads the keys from the database (picks up `latchkey keys rotate`, here or on another
    /// instance). An unchanged key set keeps the current ring and its verified-token cache.
    pub fn reload_keys(&self) -> Result<(), AuthError> {
        let ring = keys::load_ring(
            &mut *self.db.conn()?,
            &self.secret,
            &self.config.tokens,
            self.key_publication(),
        )?;
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
    /// JWKS. The signing key cannot be retired; rotate first.
    /// A signing key can be retired once a newer key exists (a leaked key must not wait for
    /// the newer one's publication time); the newer one then signs at once.
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

    /// The key that signs and encrypts the page-session cookie: derived from the server secret,
    /// so restarts and other instances keep everyone signed in.
    pub fn page_cookie_key(&self) -> Zeroizing<[u8; 64]> {
        self.secret.derive_key_64("page-session-cookie")
    }

    /// Checks an access token without the database.
    pub fn verify_access_token(&self, token: &str) -> Result<AccessClaims, TokenError> {
        self.keys.get().verify(token)
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

    fn issue(
        &self,
        user: &User,
        session: &Session,
        refresh: &RefreshSecret,
        now: i64,
    ) -> Result<IssuedTokens, AuthError> {
        let ttl = self.config.tokens.access_ttl_seconds;
        let claims = AccessClaims {
            iss: self.config.tokens.issuer.clone(),
            aud: self.config.tokens.audience.clone(),
            sub: user.id.clone(),
            name: user.username.clone(),
            role: user.role.clone(),
            sid: session.id.clone(),
            iat: now,
            nbf: now,
            exp: now + ttl,
            jti: random_uuid()?,
        };
        let access_token = self.keys.get().sign(&claims)?;
        Ok(IssuedTokens {
            access_token,
            expires_in: ttl,
            refresh_token: refresh.encode(),
            refresh_expires_in: (self.config.lifetimes.ends_at(session) - now).max(0),
            session_id: session.id.clone(),
            user_id: user.id.clone(),
        })
    }
}

/// Fills `bytes` from the operating system's CSPRNG.
pub(crate) fn random_fill(bytes: &mut [u8]) -> Result<(), AuthError> {
    getrandom::fill(bytes).map_err(|e| AuthError::Internal(format!("OS random source failed: {e}")))
}

/// A random (version 4) UUID from the OS CSPRNG.
pub(crate) fn random_uuid() -> Result<String, AuthError> {
    let mut bytes = [0u8; 16];
    random_fill(&mut bytes)?;
    Ok(uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string())
}

/// 256 random bits as URL-safe base64 (CSRF tokens and the like).
pub fn random_token() -> Result<String, AuthError> {
    let mut bytes = [0u8; 32];
    random_fill(&mut bytes)?;
    Ok(b64url(&bytes))
}

pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
