//! Password hashing: bcrypt over a fixed-length pre-hash.
//!
//! bcrypt reads at most 72 bytes and silently ignores the rest, so an 80-byte password and its
//! first 72 bytes would be the same password. We first compute HMAC-SHA-384 of the NFKC password
//! (keyed by the optional pepper) and give bcrypt its 64-character base64 form: every byte of
//! the password counts, and bcrypt never sees a NUL byte. The stored hash records its scheme.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha384;
use zeroize::Zeroizing;

use super::cpu_pool::hashing_pool;
use super::error::AuthError;

const SCHEME: &str = "lk-hmac-sha384-bcrypt$";
const SCHEME_PEPPERED: &str = "lk-hmac-sha384-pepper-bcrypt$";
/// The HMAC key when no pepper is configured: a fixed label, so the pre-hash is still a plain
/// deterministic function of the password.
const UNPEPPERED_KEY: &[u8] = b"latchkey password pre-hash v1";

pub struct PasswordHasher {
    cost: u32,
    pepper: Option<Zeroizing<Vec<u8>>>,
    /// A hash to verify against when the username is unknown, so that answer takes as long as
    /// a wrong password. Made on first use, at the configured cost.
    dummy: OnceLock<String>,
}

/// bcrypt's verification, on the low-priority hashing threads.
fn bcrypt_verify(prehash: Zeroizing<String>, bcrypt_hash: &str) -> bool {
    let bcrypt_hash = bcrypt_hash.to_owned();
    hashing_pool()
        .run(move || bcrypt::verify(prehash.as_bytes(), &bcrypt_hash).unwrap_or(false))
        .unwrap_or_else(|error| {
            tracing::error!(%error, "a password check failed; treating it as a wrong password");
            false
        })
}

impl PasswordHasher {
    pub fn new(cost: u32, pepper: Option<Vec<u8>>) -> PasswordHasher {
        PasswordHasher {
            cost,
            pepper: pepper.map(Zeroizing::new),
            dummy: OnceLock::new(),
        }
    }

    /// Hashes an already-normalised password.
    pub fn hash(&self, password: &str) -> Result<String, AuthError> {
        let prehash = self.prehash(password);
        let cost = self.cost;
        let hashed = hashing_pool()
            .run(move || bcrypt::hash(prehash.as_bytes(), cost))
            .map_err(|e| AuthError::Internal(e.to_string()))?
            .map_err(|e| AuthError::Internal(format!("bcrypt failed: {e}")))?;
        let scheme = if self.pepper.is_some() {
            SCHEME_PEPPERED
        } else {
            SCHEME
        };
        Ok(format!("{scheme}{hashed}"))
    }

    /// Checks an already-normalised password against a stored hash. Unknown schemes and
    /// damaged hashes verify as false rather than failing the request.
    pub fn verify(&self, password: &str, stored: &str) -> bool {
        let bcrypt_part = if let Some(rest) = stored.strip_prefix(SCHEME_PEPPERED) {
            if self.pepper.is_none() {
                tracing::error!(
                    "a password hash needs the pepper, but LATCHKEY_PASSWORD_PEPPER is not set"
                );
                return false;
            }
            rest
        } else if let Some(rest) = stored.strip_prefix(SCHEME) {
            if self.pepper.is_some() {
                // Hashed before a pepper was configured: verify without it.
                return bcrypt_verify(prehash_with(UNPEPPERED_KEY, password), rest);
            }
            rest
        } else {
            tracing::error!("a stored password hash has an unknown scheme");
            return false;
        };
        bcrypt_verify(self.prehash(password), bcrypt_part)
    }

    /// Whether a stored hash (that just verified) should be made again: another bcrypt cost, or
    /// hashed with or without a pepper unlike the configured one. An old cheap hash answers
    /// faster than the dummy hash of unknown users, which tells that the username exists.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let (peppered, bcrypt_part) = if let Some(rest) = stored.strip_prefix(SCHEME_PEPPERED) {
            (true, rest)
        } else if let Some(rest) = stored.strip_prefix(SCHEME) {
            (false, rest)
        } else {
            return true;
        };
        let cost = bcrypt_part
            .split('$')
            .nth(2)
            .and_then(|cost| cost.parse::<u32>().ok());
        peppered != self.pepper.is_some() || cost != Some(self.cost)
    }

    /// Spends the same work as `verify` on a hash that matches nothing.
    pub fn verify_dummy(&self, password: &str) {
        let dummy = self.dummy.get_or_init(|| {
            self.hash("latchkey dummy password for unknown users")
                .unwrap_or_default()
        });
        let _ = self.verify(password, dummy);
    }

    fn prehash(&self, password: &str) -> Zeroizing<String> {
        let key = self
            .pepper
            .as_deref()
            .map_or(UNPEPPERED_KEY, |p| p.as_slice());
        prehash_with(key, password)
    }
}

fn prehash_with(key: &[u8], password: &str) -> Zeroizing<String> {
    let mut mac: Hmac<Sha384> = super::keyed_hmac(key);
    mac.update(password.as_bytes());
    Zeroizing::new(STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let hasher = PasswordHasher::new(4, None);
        let stored = hasher.hash("correct horse battery").unwrap();
        assert!(stored.starts_with(SCHEME));
        assert!(hasher.verify("correct horse battery", &stored));
        assert!(!hasher.verify("correct horse battery!", &stored));
    }

    #[test]
    fn bytes_after_the_72nd_still_count() {
        let hasher = PasswordHasher::new(4, None);
        let long = "a".repeat(80);
        let stored = hasher.hash(&long).unwrap();
        assert!(!hasher.verify(&long[..72], &stored));
        assert!(hasher.verify(&long, &stored));
    }

    #[test]
    fn a_peppered_hash_needs_the_pepper_and_old_hashes_keep_working() {
        let plain = PasswordHasher::new(4, None);
        let peppered = PasswordHasher::new(4, Some(b"pepper pepper pepper".to_vec()));
        let old = plain.hash("correct horse battery").unwrap();
        let new = peppered.hash("correct horse battery").unwrap();
        assert!(new.starts_with(SCHEME_PEPPERED));
        assert!(peppered.verify("correct horse battery", &old));
        assert!(peppered.verify("correct horse battery", &new));
        assert!(!plain.verify("correct horse battery", &new));
    }

    #[test]
    fn hashes_of_another_cost_or_pepper_need_rehashing() {
        let cheap = PasswordHasher::new(4, None);
        let current = PasswordHasher::new(5, None);
        let peppered = PasswordHasher::new(5, Some(b"pepper pepper pepper".to_vec()));
        let old = cheap.hash("correct horse battery").unwrap();
        let new = current.hash("correct horse battery").unwrap();
        assert!(current.needs_rehash(&old), "cost 4 under cost 5");
        assert!(!current.needs_rehash(&new));
        assert!(peppered.needs_rehash(&new), "no pepper yet");
        assert!(!peppered.needs_rehash(&peppered.hash("x").unwrap()));
        assert!(current.needs_rehash("plain-text"));
    }

    #[test]
    fn damaged_or_unknown_hashes_never_verify() {
        let hasher = PasswordHasher::new(4, None);
        assert!(!hasher.verify("x", "plain-text"));
        assert!(!hasher.verify("x", "lk-hmac-sha384-bcrypt$garbage"));
    }
}
