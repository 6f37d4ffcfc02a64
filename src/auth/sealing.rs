//! Secrets kept in the database sealed: ChaCha20-Poly1305 under a key derived from the server
//! secret (one label per kind of secret), a random nonce in front, and the row's identity as
//! associated data, so a sealed value copied to another row does not open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use zeroize::Zeroizing;

use super::error::AuthError;
use super::secret::ServerSecret;

const NONCE_LEN: usize = 12;

fn cipher(secret: &ServerSecret, label: &str) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(secret.derive_key(label).as_ref().into())
}

/// `message` sealed under the key for `label`, bound to `bound_to`.
pub(crate) fn seal(
    secret: &ServerSecret,
    label: &str,
    bound_to: &[u8],
    message: &[u8],
) -> Result<Vec<u8>, AuthError> {
    let mut nonce = [0u8; NONCE_LEN];
    super::random_fill(&mut nonce)?;
    let ciphertext = cipher(secret, label)
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: message,
                aad: bound_to,
            },
        )
        .map_err(|_| AuthError::Internal(format!("sealing a secret ({label}) failed")))?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&ciphertext);
    Ok(sealed)
}

/// The message of `sealed`, if it was sealed with this secret, label and `bound_to`.
pub(crate) fn open(
    secret: &ServerSecret,
    label: &str,
    bound_to: &[u8],
    sealed: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() <= NONCE_LEN {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    cipher(secret, label)
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: bound_to,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_server_secret_label_and_row() {
        let secret = ServerSecret::from_bytes(vec![7; 32]).unwrap();
        let other = ServerSecret::from_bytes(vec![8; 32]).unwrap();
        let sealed = seal(&secret, "label", b"row", b"message").unwrap();
        assert_eq!(
            open(&secret, "label", b"row", &sealed).unwrap().as_slice(),
            b"message"
        );
        assert!(open(&other, "label", b"row", &sealed).is_none());
        assert!(open(&secret, "other-label", b"row", &sealed).is_none());
        assert!(open(&secret, "label", b"other-row", &sealed).is_none());
        assert!(open(&secret, "label", b"row", &sealed[..5]).is_none());
    }
}
