//! Access tokens already verified by this key ring, so a client that calls many times with the
//! same token pays for the Ed25519 signature check once. Only byte-identical tokens hit (keyed
//! by SHA-256 of the whole token); their times are checked again on every use, and the cache
//! lives in the key ring, so a rotation or retirement (a new ring) empties it.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::tokens::{AccessClaims, TokenError};

/// Beyond this many distinct tokens the cache starts over (it only saves work).
const CAPACITY: usize = 8192;

#[derive(Default)]
pub struct VerifiedTokens {
    by_digest: RwLock<HashMap<[u8; 32], AccessClaims>>,
}

pub type Digested = [u8; 32];

impl VerifiedTokens {
    pub fn digest(token: &str) -> Digested {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The claims of a token verified before, if it is still within its times.
    pub fn get(&self, digest: &Digested, leeway: u64) -> Option<Result<AccessClaims, TokenError>> {
        let claims = self.by_digest.read().ok()?.get(digest).cloned()?;
        Some(check_times(claims, leeway))
    }

    pub fn insert(&self, digest: Digested, claims: &AccessClaims) {
        if let Ok(mut cache) = self.by_digest.write() {
            if cache.len() >= CAPACITY {
                cache.clear();
            }
            cache.insert(digest, claims.clone());
        }
    }
}

/// The same `exp`/`nbf` rules (and leeway) as the full verification.
fn check_times(claims: AccessClaims, leeway: u64) -> Result<AccessClaims, TokenError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let leeway = leeway as i64;
    if claims.exp < now - leeway {
        Err(TokenError::Expired)
    } else if claims.nbf > now + leeway {
        Err(TokenError::NotYetValid)
    } else {
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64, nbf: i64) -> AccessClaims {
        AccessClaims {
            iss: "latchkey".into(),
            aud: "latchkey".into(),
            sub: "u".into(),
            name: "alice".into(),
            role: "user".into(),
            sid: "s".into(),
            iat: nbf,
            nbf,
            exp,
            jti: "j".into(),
        }
    }

    #[test]
    fn a_cached_token_still_expires() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let cache = VerifiedTokens::default();
        let live = VerifiedTokens::digest("live");
        let expired = VerifiedTokens::digest("expired");
        cache.insert(live, &claims(now + 60, now));
        cache.insert(expired, &claims(now - 10, now - 100));
        assert!(cache.get(&live, 5).unwrap().is_ok());
        assert_eq!(
            cache.get(&expired, 5).unwrap().unwrap_err(),
            TokenError::Expired
        );
        assert!(
            cache
                .get(&VerifiedTokens::digest("never seen"), 5)
                .is_none()
        );
    }
}
