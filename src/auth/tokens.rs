//! Access tokens: EdDSA-signed JWTs that any service can verify offline with the JWKS.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::error::AuthError;
use super::verified::VerifiedTokens;

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
    /// The account's email address (OpenID Connect's standard claim), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the owner proved they read mail at `email`.
    #[serde(default)]
    pub email_verified: bool,
    /// How the session signed in (RFC 8176 values: `pwd`, `otp`, `mfa`).
    #[serde(default)]
    pub amr: Vec<String>,
    /// The assurance level: `aal2` after two factors, `aal1` after a password alone.
    #[serde(default)]
    pub acr: String,
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

/// The key that signs, parsed once. jsonwebtoken's `encode` would parse the key and derive its
/// public half again for every token (an Ed25519 scalar multiplication, about a tenth of a
/// refresh's CPU by the profile), so signing is done here; jsonwebtoken still verifies.
struct Signer {
    kid: String,
    key: ed25519_dalek::SigningKey,
    /// The header is the same for every token of this key: encoded once.
    encoded_header: String,
}

impl Signer {
    fn new(kid: String, pkcs8_der: &[u8]) -> Option<Signer> {
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        let key = match ed25519_dalek::SigningKey::from_pkcs8_der(pkcs8_der) {
            Ok(key) => key,
            Err(error) => {
                tracing::error!(%kid, %error, "a signing key does not parse; it cannot sign");
                return None;
            }
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYPE.into());
        header.kid = Some(kid.clone());
        let encoded_header = super::b64url(&serde_json::to_vec(&header).ok()?);
        Some(Signer {
            kid,
            key,
            encoded_header,
        })
    }

    /// A compact JWS (RFC 7515): header, claims and signature, each base64url, joined by dots.
    fn sign(&self, claims: &AccessClaims) -> Result<String, AuthError> {
        use ed25519_dalek::Signer as _;
        let claims = serde_json::to_vec(claims)
            .map_err(|e| AuthError::Internal(format!("claims do not serialise: {e}")))?;
        let mut token = String::with_capacity(self.encoded_header.len() + 2 * claims.len() + 90);
        token.push_str(&self.encoded_header);
        token.push('.');
        token.push_str(&super::b64url(&claims));
        let signature = self.key.sign(token.as_bytes());
        token.push('.');
        token.push_str(&super::b64url(&signature.to_bytes()));
        Ok(token)
    }
}

/// The signing key and every key that verifies, by `kid`. Built once from the database and
/// swapped whole when keys change, so requests never parse key material.
pub struct KeyRing {
    signer: Option<Signer>,
    verifiers: HashMap<String, DecodingKey>,
    validation: Validation,
    jwks_json: String,
    jwks_etag: String,
    leeway: u64,
    verified: VerifiedTokens,
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
                signer = Signer::new(kid.clone(), &der);
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
        let jwks_json = serde_json::json!({ "keys": jwks }).to_string();
        let digest = sha2::Sha256::digest(jwks_json.as_bytes());
        KeyRing {
            signer,
            verifiers,
            validation: validation(settings),
            leeway: settings.leeway_seconds,
            verified: VerifiedTokens::default(),
            jwks_etag: format!("\"{}\"", super::b64url(&digest[..16])),
            jwks_json,
        }
    }

    /// The public keys as a JWK Set (RFC 7517), ready to serve.
    pub fn jwks_json(&self) -> &str {
        &self.jwks_json
    }

    /// A strong ETag of the JWK Set: changes exactly when the published keys change.
    pub fn jwks_etag(&self) -> &str {
        &self.jwks_etag
    }

    pub fn signing_kid(&self) -> Option<&str> {
        self.signer.as_ref().map(|signer| signer.kid.as_str())
    }

    pub fn sign(&self, claims: &AccessClaims) -> Result<String, AuthError> {
        self.signer
            .as_ref()
            .ok_or_else(|| AuthError::Internal("no signing key is loaded".into()))?
            .sign(claims)
    }

    /// Verifies signature, algorithm, type, issuer, audience, and expiry and not-before at
    /// `now` (the server's clock). Needs no database: a revoked session's token stays valid
    /// until it expires.
    pub fn verify(&self, token: &str, now: i64) -> Result<AccessClaims, TokenError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let digest = VerifiedTokens::digest(token);
        if let Some(known) = self.verified.get(&digest) {
            return check_times(known, self.leeway, now);
        }
        let claims = self.verify_fully(token)?;
        self.verified.insert(digest, &claims);
        check_times(claims, self.leeway, now)
    }

    fn verify_fully(&self, token: &str) -> Result<AccessClaims, TokenError> {
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

/// `exp`, `nbf` and `iat` against the server's clock, with the configured leeway: the one
/// place access-token times are checked (jsonwebtoken's own time checks are off). A token
/// issued in the future (`iat` ahead of the clock) is not valid yet either.
fn check_times(claims: AccessClaims, leeway: u64, now: i64) -> Result<AccessClaims, TokenError> {
    let leeway = leeway as i64;
    if claims.exp < now - leeway {
        Err(TokenError::Expired)
    } else if claims.nbf > now + leeway || claims.iat > now + leeway {
        Err(TokenError::NotYetValid)
    } else {
        Ok(claims)
    }
}

/// Everything is set explicitly (jsonwebtoken's defaults allow 60 s of leeway and skip `nbf`).
/// The times are checked by `check_times` with the server's clock, not jsonwebtoken's reading
/// of the system clock: one notion of "now" for issuing and checking.
fn validation(settings: &TokenSettings) -> Validation {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.algorithms = vec![Algorithm::EdDSA];
    validation.leeway = settings.leeway_seconds;
    validation.reject_tokens_expiring_in_less_than = 0;
    validation.validate_exp = false;
    validation.validate_nbf = false;
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

/// Forged tokens signed with a key the ring trusts, so each check is what refuses them (the
/// HTTP tests cannot sign with the server's key; they cover the header checks and the 401).
#[cfg(test)]
mod forged_tokens {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ed25519_dalek::Signer;
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use serde_json::{Value, json};

    use super::*;

    const KID: &str = "trusted";

    fn ring_and_key() -> (KeyRing, ed25519_dalek::SigningKey) {
        let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
        let der = key.to_pkcs8_der().unwrap().as_bytes().to_vec();
        let public = key.verifying_key().to_bytes().to_vec();
        let settings = TokenSettings {
            issuer: "latchkey".into(),
            audience: "latchkey".into(),
            access_ttl_seconds: 900,
            leeway_seconds: 5,
        };
        (
            KeyRing::new(vec![(KID.into(), Some(der), public)], &settings),
            key,
        )
    }

    fn sign(key: &ed25519_dalek::SigningKey, header: &Value, claims: &Value) -> String {
        let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
        let input = format!("{}.{}", encode(header), encode(claims));
        let signature = URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).to_bytes());
        format!("{input}.{signature}")
    }

    fn header() -> Value {
        json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": KID })
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn claims() -> Value {
        let now = now();
        json!({
            "iss": "latchkey", "aud": "latchkey", "sub": "user-1", "name": "alice",
            "role": "user", "sid": "session-1", "iat": now, "nbf": now, "exp": now + 900,
            "jti": "jti-1",
        })
    }

    #[test]
    fn what_the_ring_signs_verifies_with_jsonwebtoken_and_names_type_and_key() {
        let (ring, key) = ring_and_key();
        let claims: AccessClaims = serde_json::from_value(claims()).unwrap();
        let token = ring.sign(&claims).unwrap();
        assert_eq!(ring.verify(&token, now()).unwrap().sid, "session-1");
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.typ.as_deref(), Some(ACCESS_TOKEN_TYPE));
        assert_eq!(header.kid.as_deref(), Some(KID));
        // Ed25519 is deterministic: the same input gives the same token as signing by hand.
        let (head, _) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.encode(key.sign(head.as_bytes()).to_bytes());
        assert!(token.ends_with(&signature));
    }

    #[test]
    fn the_untouched_token_verifies() {
        let (ring, key) = ring_and_key();
        let claims = ring
            .verify(&sign(&key, &header(), &claims()), now())
            .unwrap();
        assert_eq!(claims.sub, "user-1");
    }

    #[test]
    fn every_required_claim_must_be_present() {
        let (ring, key) = ring_and_key();
        for claim in ["exp", "nbf", "iat", "iss", "aud", "sub", "sid"] {
            let mut forged = claims();
            forged.as_object_mut().unwrap().remove(claim);
            let refused = ring.verify(&sign(&key, &header(), &forged), now());
            assert!(refused.is_err(), "a token without {claim} was accepted");
        }
    }

    #[test]
    fn exp_nbf_and_iat_given_as_strings_are_refused() {
        let (ring, key) = ring_and_key();
        for claim in ["exp", "nbf", "iat"] {
            let mut forged = claims();
            forged[claim] = json!(forged[claim].to_string());
            let refused = ring.verify(&sign(&key, &header(), &forged), now());
            assert!(refused.is_err(), "{claim} as a string was accepted");
        }
        let mut far_future = claims();
        far_future["exp"] = json!("99999999999");
        assert!(
            ring.verify(&sign(&key, &header(), &far_future), now())
                .is_err()
        );
    }

    #[test]
    fn expiry_not_before_and_issued_at_are_enforced_beyond_the_leeway_only() {
        let (ring, key) = ring_and_key();
        let now = claims()["iat"].as_i64().unwrap();
        let with = |field: &str, value: i64| {
            let mut forged = claims();
            forged[field] = json!(value);
            ring.verify(&sign(&key, &header(), &forged), now)
        };
        assert_eq!(with("exp", now - 6).unwrap_err(), TokenError::Expired);
        assert!(with("exp", now - 2).is_ok(), "inside the 5 s leeway");
        assert_eq!(with("nbf", now + 60).unwrap_err(), TokenError::NotYetValid);
        assert!(with("nbf", now + 2).is_ok(), "inside the 5 s leeway");
        assert_eq!(with("iat", now + 60).unwrap_err(), TokenError::NotYetValid);
        assert!(with("iat", now + 2).is_ok(), "inside the 5 s leeway");
    }

    #[test]
    fn a_wrong_type_issuer_or_audience_is_refused_even_when_signed() {
        let (ring, key) = ring_and_key();
        for typ in [json!("JWT"), json!(null), json!("at+jwt+x")] {
            let mut forged = header();
            forged["typ"] = typ;
            let refused = ring.verify(&sign(&key, &forged, &claims()), now());
            assert_eq!(refused.unwrap_err(), TokenError::WrongType);
        }
        let mut issuer = claims();
        issuer["iss"] = json!("someone-else");
        assert_eq!(
            ring.verify(&sign(&key, &header(), &issuer), now())
                .unwrap_err(),
            TokenError::WrongIssuer
        );
        let mut audience = claims();
        audience["aud"] = json!("billing");
        assert_eq!(
            ring.verify(&sign(&key, &header(), &audience), now())
                .unwrap_err(),
            TokenError::WrongAudience
        );
    }

    #[test]
    fn embedded_keys_key_urls_and_critical_extensions_are_refused_even_when_signed() {
        let (ring, key) = ring_and_key();
        let x = URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
        let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": x });
        for (name, value) in [
            ("jwk", jwk),
            ("jku", json!("https://attacker.example/jwks.json")),
            ("x5u", json!("https://attacker.example/cert.pem")),
            ("x5c", json!(["MIIB"])),
            ("crit", json!(["exp"])),
        ] {
            let mut forged = header();
            forged[name] = value;
            let refused = ring.verify(&sign(&key, &forged, &claims()), now());
            assert!(
                matches!(
                    refused,
                    Err(TokenError::RefusedHeader | TokenError::Malformed)
                ),
                "{name}: {refused:?}"
            );
        }
        let mut unknown = header();
        unknown["kid"] = json!("not-ours");
        let refused = ring.verify(&sign(&key, &unknown, &claims()), now());
        assert_eq!(refused.unwrap_err(), TokenError::UnknownKey);
    }
}
