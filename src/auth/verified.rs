//! Access tokens already verified by this key ring, so a client that calls many times with the
//! same token pays for the Ed25519 signature check once. Only byte-identical tokens hit (keyed
//! by SHA-256 of the whole token); their times are checked again on every use (by the ring),
//! and the cache
//! lives in the key ring, so a rotation or retirement (a new ring) empties it.

use std::collections::HashMap;
use std::sync::RwLock;

use sha2::{Digest, Sha256};

use super::tokens::AccessClaims;

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

    /// The claims of a token verified before (its times are for the caller to check).
    pub fn get(&self, digest: &Digested) -> Option<AccessClaims> {
        self.by_digest.read().ok()?.get(digest).cloned()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(jti: &str) -> AccessClaims {
        AccessClaims {
            iss: "latchkey".into(),
            aud: "latchkey".into(),
            sub: "u".into(),
            name: "alice".into(),
            role: "user".into(),
            sid: "s".into(),
            email: None,
            email_verified: false,
            amr: vec!["pwd".into()],
            acr: "aal1".into(),
            iat: 0,
            nbf: 0,
            exp: 60,
            jti: jti.into(),
        }
    }

    #[test]
    fn only_byte_identical_tokens_hit_the_cache() {
        let cache = VerifiedTokens::default();
        cache.insert(VerifiedTokens::digest("token"), &claims("a"));
        assert_eq!(
            cache.get(&VerifiedTokens::digest("token")).unwrap().jti,
            "a"
        );
        assert!(cache.get(&VerifiedTokens::digest("token ")).is_none());
    }
}
