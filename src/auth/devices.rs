//! Trusted devices (OWASP's "device cookie" defence against lock-out): a browser or client that
//! has signed in to an account holds a token signed by the server naming that account and a
//! device id. Its failed password checks count against a counter of its own, so an attacker's
//! failures from elsewhere, however well timed, never make the owner's device wait.
//!
//! The token is `base64url(payload).base64url(HMAC-SHA-256(key, payload))` with the payload
//! `version(1) | issued_at(8, big endian) | device_id(16) | user_id (UTF-8)`. Nothing is stored:
//! the signature is the proof, and the token ages out after `DEVICE_TOKEN_LIFETIME_SECONDS`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::AuthError;

/// A device that has not signed in for this long is a stranger again.
pub const DEVICE_TOKEN_LIFETIME_SECONDS: i64 = 365 * 24 * 3600;
const VERSION: u8 = 1;
const DEVICE_ID_BYTES: usize = 16;
/// Longer input is not a token we issued; refused before decoding.
const MAX_TOKEN_CHARS: usize = 256;

/// A verified device token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedDevice {
    /// base64url of the random device id: the name of this device's throttle counter.
    pub device_id: String,
    pub user_id: String,
}

fn mac(key: &[u8; 32], payload: &[u8]) -> Hmac<Sha256> {
    let mut mac: Hmac<Sha256> = super::keyed_hmac(key);
    mac.update(b"latchkey device token v1:");
    mac.update(payload);
    mac
}

/// A new token for `user_id`. A device that already had one keeps its id (and its counter).
pub fn issue(
    key: &[u8; 32],
    user_id: &str,
    existing: Option<&TrustedDevice>,
    now: i64,
) -> Result<String, AuthError> {
    let mut device_id = [0u8; DEVICE_ID_BYTES];
    match existing.and_then(|device| URL_SAFE_NO_PAD.decode(&device.device_id).ok()) {
        Some(id) if id.len() == DEVICE_ID_BYTES => device_id.copy_from_slice(&id),
        _ => super::random_fill(&mut device_id)?,
    }
    let mut payload = Vec::with_capacity(1 + 8 + DEVICE_ID_BYTES + user_id.len());
    payload.push(VERSION);
    payload.extend_from_slice(&now.to_be_bytes());
    payload.extend_from_slice(&device_id);
    payload.extend_from_slice(user_id.as_bytes());
    let signature = mac(key, &payload).finalize().into_bytes();
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// The device a token names, if we signed it, it has not aged out, and it is for `user_id`.
pub fn verify(key: &[u8; 32], token: &str, user_id: &str, now: i64) -> Option<TrustedDevice> {
    if token.len() > MAX_TOKEN_CHARS {
        return None;
    }
    let (payload, signature) = token.split_once('.')?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    mac(key, &payload).verify_slice(&signature).ok()?;
    let (&version, rest) = payload.split_first()?;
    if version != VERSION || rest.len() < 8 + DEVICE_ID_BYTES {
        return None;
    }
    let (issued_at, rest) = rest.split_at(8);
    let issued_at = i64::from_be_bytes(issued_at.try_into().ok()?);
    let (device_id, owner) = rest.split_at(DEVICE_ID_BYTES);
    let fresh = issued_at <= now && now - issued_at < DEVICE_TOKEN_LIFETIME_SECONDS;
    (fresh && owner == user_id.as_bytes()).then(|| TrustedDevice {
        device_id: URL_SAFE_NO_PAD.encode(device_id),
        user_id: user_id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn a_device_token_verifies_for_its_own_account_only() {
        let token = issue(&KEY, "alice-id", None, 1_000).unwrap();
        let device = verify(&KEY, &token, "alice-id", 1_001).expect("verifies");
        assert_eq!(device.user_id, "alice-id");
        assert!(verify(&KEY, &token, "bob-id", 1_001).is_none());
        assert!(verify(&[8; 32], &token, "alice-id", 1_001).is_none());
    }

    #[test]
    fn a_device_token_ages_out_and_cannot_be_altered() {
        let token = issue(&KEY, "alice-id", None, 1_000).unwrap();
        assert!(
            verify(
                &KEY,
                &token,
                "alice-id",
                1_000 + DEVICE_TOKEN_LIFETIME_SECONDS
            )
            .is_none()
        );
        let (payload, signature) = token.split_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(payload).unwrap();
        bytes[3] ^= 1;
        let forged = format!("{}.{signature}", URL_SAFE_NO_PAD.encode(bytes));
        assert!(verify(&KEY, &forged, "alice-id", 1_001).is_none());
        assert!(verify(&KEY, "", "alice-id", 1_001).is_none());
        assert!(verify(&KEY, &"a.b".repeat(200), "alice-id", 1_001).is_none());
    }

    #[test]
    fn a_device_keeps_its_id_when_its_token_is_renewed() {
        let first = issue(&KEY, "alice-id", None, 1_000).unwrap();
        let device = verify(&KEY, &first, "alice-id", 1_000).unwrap();
        let renewed = issue(&KEY, "alice-id", Some(&device), 2_000).unwrap();
        let again = verify(&KEY, &renewed, "alice-id", 2_000).unwrap();
        assert_eq!(again.device_id, device.device_id);
        let other = issue(&KEY, "alice-id", None, 1_000).unwrap();
        assert_ne!(verify(&KEY, &other, "alice-id", 1_000).unwrap(), device);
    }
}
