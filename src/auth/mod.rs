//! The domain: accounts, sessions, refresh-token rotation and access tokens.
//! No HTTP in here; handlers call `AuthService` methods from a blocking thread.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod clock;
mod console;
mod cpu_pool;
pub mod devices;
pub mod email;
mod email_change;
pub mod error;
pub mod factors;
pub mod input;
pub mod key_service;
pub mod keys;
pub mod mail;
pub mod password;
mod password_set;
pub mod recovery;
pub mod refresh;
pub mod refresh_paths;
mod sealing;
pub mod secret;
pub mod sessions;
mod sign_in;
pub mod throttle;
pub mod tokens;
pub mod types;
mod verified;

use std::sync::{Arc, Mutex};
use std::time::Instant;

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
    /// A new key is only published this long before it signs (see `key_publish_seconds`).
    pub key_publish_seconds: i64,
    /// How long verifiers may cache the JWKS (its `Cache-Control: max-age`).
    pub jwks_max_age_seconds: i64,
    /// Whether a lost refresh answer can be fetched again after the reuse grace window.
    pub refresh_retry: refresh::RefreshRetry,
    /// Sensitive changes need the session's last proof of identity to be this recent.
    pub reauth_window_seconds: i64,
    /// Where passkeys are used (`https://auth.example.com`; `http://localhost:PORT` in
    /// development): the relying party's origin, and its host the relying-party id.
    pub passkey_origin: String,
    /// Admin functions need the admin to have a second factor set up.
    pub require_mfa_for_admins: bool,
    pub mail: MailPolicy,
}

/// Email addresses and what is mailed.
#[derive(Debug, Clone)]
pub struct MailPolicy {
    /// Links in mails start with this (`https://auth.example.com`).
    pub public_url: String,
    pub reset_ttl_seconds: i64,
    /// Registration needs an address.
    pub require_email: bool,
    /// Sign-in needs a verified address.
    pub require_verified_email: bool,
    /// Reset links can be mailed (false: production without SMTP).
    pub recovery_by_email: bool,
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
    /// After a sign-in: the trusted-device token for the client to keep and send back at its
    /// next sign-in (see `devices.rs`).
    pub device_token: Option<String>,
}

pub struct AuthService {
    db: Db,
    config: AuthConfig,
    passwords: PasswordHasher,
    keys: KeyRingHandle,
    secret: Arc<ServerSecret>,
    refresh_key: Zeroizing<[u8; 32]>,
    /// Keys the throttle counters' names (no typed username is stored).
    throttle_key: Zeroizing<[u8; 32]>,
    /// Signs trusted-device tokens.
    device_key: Zeroizing<[u8; 32]>,
    checks_in_flight: throttle::InFlight,
    clock: Clock,
    event_counts: audit::EventCounts,
    /// When the keys were last re-read because a token named a kid we did not know.
    last_key_refetch: Mutex<Option<Instant>>,
    /// What the loaded key ring was made from, to notice changes cheaply.
    key_watch: Mutex<key_service::KeyWatch>,
    /// Rung when mail was committed to the outbox; shared with the sender.
    postbox: Arc<crate::mail::Postbox>,
    /// WebAuthn for `passkey_origin`; `None` when that is no host name (an IP address).
    relying_party: Option<webauthn_rs::Webauthn>,
    /// Rotations that arrive together commit together (SQLite; see `db::group_commit`).
    rotations: refresh_paths::RotationQueue,
}

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
        let fingerprint = crate::db::keys::fingerprint(&mut conn)?;
        let loaded = keys::load_ring(&mut conn, &secret, &config.tokens, publication)?;
        drop(conn);
        Ok(AuthService {
            passwords: PasswordHasher::new(config.bcrypt_cost, pepper),
            refresh_key: secret.derive_key("refresh-token-successor"),
            throttle_key: secret.derive_key("sign-in-throttle-key"),
            device_key: secret.derive_key("trusted-device-token"),
            checks_in_flight: throttle::InFlight::default(),
            keys: KeyRingHandle::new(loaded.ring),
            key_watch: Mutex::new(key_service::KeyWatch {
                fingerprint,
                signer_changes_at: loaded.signer_changes_at,
            }),
            db,
            secret,
            clock,
            event_counts: audit::EventCounts::default(),
            last_key_refetch: Mutex::new(None),
            postbox: Arc::default(),
            relying_party: factors::relying_party(&config.passkey_origin),
            rotations: refresh_paths::RotationQueue::default(),
            config,
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

    /// What the mail sender shares with the domain.
    pub fn postbox(&self) -> Arc<crate::mail::Postbox> {
        self.postbox.clone()
    }

    pub fn key_ring(&self) -> Arc<KeyRing> {
        self.keys.get()
    }

    /// The key that signs and encrypts the page-session cookie: derived from the server secret,
    /// so restarts and other instances keep everyone signed in.
    pub fn page_cookie_key(&self) -> Zeroizing<[u8; 64]> {
        self.secret.derive_key_64("page-session-cookie")
    }

    /// Checks an access token without the database.
    pub fn verify_access_token(&self, token: &str) -> Result<AccessClaims, TokenError> {
        self.keys.get().verify(token, self.clock.now())
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
            email: user.email.clone(),
            email_verified: types::email_verified(user),
            amr: factors::amr_claim(&session.amr),
            acr: factors::acr_of(&session.amr).to_owned(),
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
            device_token: None,
        })
    }
}

/// An HMAC keyed with `key`. HMAC takes keys of any length (long ones are hashed first), so
/// making one cannot fail; this is the one place that says so.
#[allow(
    clippy::expect_used,
    reason = "Mac::new_from_slice only fails for MACs with a fixed key length, which HMAC is not"
)]
pub(crate) fn keyed_hmac<M: hmac::Mac + hmac::digest::KeyInit>(key: &[u8]) -> M {
    <M as hmac::Mac>::new_from_slice(key).expect("HMAC accepts keys of any length")
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
