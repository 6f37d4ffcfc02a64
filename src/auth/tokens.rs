//! Access tokens: EdDSA-signed JWTs that any service can verify offline with the JWKS.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::error::AuthError;

/// RFC 9068 media type for JWT access tokens, in the `typ` header.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// Longer strings are not tokens we issued; refuse them before parsing.
const MAX_TOKEN_LEN: usize = 4096;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    pub name: String,
    pub role: String,
    /// The session id: what logout and session management act on.
    pub sid: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

/// What tokens are issued for and how they are checked.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub access_ttl_seconds: i64,
    pub leeway_seconds: u64,
}

/// Why an access token was refused; `description()` goes into `WWW-Authenticate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("missing access token")]
    Missing,
    #[error("malformed access token")]
    Malformed,
    #[error("not an access token")]
    WrongType,
    #[error("access token uses a refused algorithm or header")]
    RefusedHeader,
    #[error("access token signed by an unknown key")]
    UnknownKey,
    #[error("bad access token signature")]
    BadSignature,
    #[error("access token expired")]
    Expired,
    #[error("access token not valid yet")]
    NotYetValid,
    #[error("access token for another audience")]
    WrongAudience,
    #[error("access token from another issuer")]
    WrongIssuer,
    #[error("access token lacks required claims")]
    MissingClaims,
}

impl TokenError {
    pub fn description(self) -> &'static str {
        match self {
            TokenError::Missing => {
                "No access token was sent; send Authorization: Bearer <access_token>"
            }
            TokenError::Malformed => "The access token is malformed",
            TokenError::WrongType => "The token is not an access token (typ must be at+jwt)",
            TokenError::RefusedHeader => "The access token's algorithm or header is not accepted",
            TokenError::UnknownKey => "The access token was signed by an unknown key",
            TokenError::BadSignature => "The access token signature is invalid",
            TokenError::Expired => "The access token expired; refresh it",
            TokenError::NotYetValid => "The access token is not valid yet",
            TokenError::WrongAudience => "The access token is for another audience",
            TokenError::WrongIssuer => "The access token is from another issuer",
            TokenError::MissingClaims => "The access token lacks required claims",
        }
    }
}

/// The signing key and every key that verifies, by `kid`. Built once from the database and
/// swapped whole when keys change, so requests never parse key material.
pub struct KeyRing {
    signer: Option<(String, EncodingKey)>,
    verifiers: HashMap<String, DecodingKey>,
    validation: Validation,
    jwks_json: String,
}

impl KeyRing {
    /// `keys`: (kid, PKCS#8 DER private key if we can sign with it, raw 32-byte public key),
    /// oldest first; the last one that has a private key signs.
    pub fn new(keys: Vec<(String, Option<Vec<u8>>, Vec<u8>)>, settings: &TokenSettings) -> KeyRing {
        let mut signer = None;
        let mut verifiers = HashMap::new();
        let mut jwks = Vec::new();
        for (kid, private_der, public) in keys {
            if let Some(der) = private_der {
                signer = Some((kid.clone(), EncodingKey::from_ed_der(&der)));
            }
            jwks.push(serde_json::json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "kid": kid,
                "x": super::b64url(&public),
            }));
            verifiers.insert(kid, DecodingKey::from_ed_der(&public));
        }
        KeyRing {
            signer,
            verifiers,
            validation: validation(settings),
            jwks_json: serde_json::json!({ "keys": jwks }).to_string(),
        }
    }

    /// The public keys as a JWK Set (RFC 7517), ready to serve.
    pub fn jwks_json(&self) -> &str {
        &self.jwks_json
    }

    pub fn signing_kid(&self) -> Option<&str> {
        self.signer.as_ref().map(|(kid, _)| kid.as_str())
    }

    pub fn sign(&self, claims: &AccessClaims) -> Result<String, AuthError> {
        let (kid, key) = self
            .signer
            .as_ref()
            .ok_or_else(|| AuthError::Internal("no signing key is loaded".into()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYPE.into());
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, claims, key)
            .map_err(|e| AuthError::Internal(format!("signing failed: {e}")))
    }

    /// Verifies signature, algorithm, type, issuer, audience, expiry and not-before.
    /// Needs no database: a revoked session's token stays valid until it expires.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::RefusedHeader);
        }
        // Keys embedded in or pointed to by the token are an attacker's keys (RFC 8725 3.10).
        if header.jwk.is_some()
            || header.jku.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
            || header.crit.is_some()
        {
            return Err(TokenError::RefusedHeader);
        }
        if !header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE))
        {
            return Err(TokenError::WrongType);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifiers.get(kid))
            .ok_or(TokenError::UnknownKey)?;
        jsonwebtoken::decode::<AccessClaims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                ErrorKind::InvalidAudience => TokenError::WrongAudience,
                ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) => {
                    TokenError::MissingClaims
                }
                ErrorKind::InvalidAlgorithm => TokenError::RefusedHeader,
                _ => TokenError::Malformed,
            })
    }
}

/// jsonwebtoken's defaults allow 60 s of leeway and skip `nbf`; everything is set explicitly.
fn validation(settings: &TokenSettings) -> Validation {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.algorithms = vec![Algorithm::EdDSA];
    validation.leeway = settings.leeway_seconds;
    validation.reject_tokens_expiring_in_less_than = 0;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[&settings.audience]);
    validation
}

/// The current key ring, replaced whole when keys are rotated.
#[derive(Clone)]
pub struct KeyRingHandle {
    current: Arc<RwLock<Arc<KeyRing>>>,
}

impl KeyRingHandle {
    pub fn new(ring: KeyRing) -> KeyRingHandle {
        KeyRingHandle {
            current: Arc::new(RwLock::new(Arc::new(ring))),
        }
    }

    pub fn get(&self) -> Arc<KeyRing> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub fn replace(&self, ring: KeyRing) {
        let ring = Arc::new(ring);
        match self.current.write() {
            Ok(mut guard) => *guard = ring,
            Err(poisoned) => *poisoned.into_inner() = ring,
        }
    }
}
