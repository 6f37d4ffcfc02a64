//! Signing keys: Ed25519 pairs kept in the database (so every instance shares them) with the
//! private half sealed under a key derived from the server secret.

use ed25519_dalek::SigningKey as Ed25519Key;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::error::AuthError;
use super::secret::ServerSecret;
use super::tokens::{KeyRing, TokenSettings};
use crate::db::models::{NewSigningKey, SigningKey};
use crate::db::{self, Conn};

const ALGORITHM: &str = "EdDSA";
const SEAL_LABEL: &str = "signing-key-seal";

/// A key as the CLI lists it.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub kid: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    pub signing: bool,
}

/// RFC 7638 thumbprint of the public key: a stable `kid` that names the key by its content.
fn thumbprint(public: &[u8; 32]) -> String {
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        super::b64url(public)
    );
    super::b64url(&Sha256::digest(canonical.as_bytes()))
}

/// Creates a key pair and stores it; returns its kid. Call inside a write transaction, so the
/// generation cannot be taken twice.
pub fn create(conn: &mut Conn, secret: &ServerSecret, now: i64) -> Result<String, AuthError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    super::random_fill(seed.as_mut())?;
    let key = Ed25519Key::from_bytes(&seed);
    let public = key.verifying_key().to_bytes();
    let kid = thumbprint(&public);

    // The kid is bound as associated data: a sealed key moved to another row does not open.
    let sealed = super::sealing::seal(secret, SEAL_LABEL, kid.as_bytes(), seed.as_ref())?;

    let generation = db::keys::next_generation(conn)?;
    db::keys::insert(
        conn,
        &NewSigningKey {
            kid: &kid,
            generation,
            algorithm: ALGORITHM,
            public_key: &public,
            private_key_sealed: &sealed,
            created_at: now,
        },
    )?;
    Ok(kid)
}

fn unseal(
    secret: &ServerSecret,
    kid: &str,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, AuthError> {
    super::sealing::open(secret, SEAL_LABEL, kid.as_bytes(), sealed).ok_or_else(|| {
        AuthError::Internal(format!(
            "signing key {kid} does not open with this server secret; start with the secret it \
             was created with (LATCHKEY_SECRET or data/secret.key from your backup)"
        ))
    })
}

/// Makes sure there is a key to sign with, creating the first one on a new database.
pub fn ensure_signing_key(
    conn: &mut Conn,
    secret: &ServerSecret,
    now: i64,
) -> Result<(), AuthError> {
    db::write_transaction(conn, |conn| {
        db::keys::lock_for_change(conn)?;
        if db::keys::active(conn)?.is_empty() {
            let kid = create(conn, secret, now)?;
            tracing::info!(%kid, "created the first signing key");
        }
        Ok(())
    })
}

/// When keys are published before they sign.
#[derive(Debug, Clone, Copy)]
pub struct Publication {
    pub now: i64,
    /// How long a new key is only published (in the JWKS, verifying) before it signs.
    pub seconds: i64,
}

/// Which of the active keys (oldest first) signs: the newest one published for at least
/// `publication.seconds`. Every instance re-reads the keys within that time, so every
/// instance's JWKS shows a key before any instance signs with it. When no key is that old (a
/// new database), the newest signs.
pub fn signing_index(rows: &[SigningKey], publication: Publication) -> Option<usize> {
    let newest = rows.len().checked_sub(1)?;
    Some(
        rows.iter()
            .rposition(|row| publication.now - row.created_at >= publication.seconds)
            .unwrap_or(newest),
    )
}

/// When the signer chosen now will give way to a newer key (published long enough by then), if
/// a newer key is waiting.
pub fn signer_changes_at(rows: &[SigningKey], publication: Publication) -> Option<i64> {
    let signer = signing_index(rows, publication)?;
    rows[signer + 1..]
        .iter()
        .map(|row| row.created_at + publication.seconds)
        .min()
}

/// A loaded key ring, and when it must be loaded again for its signer to change.
pub struct LoadedRing {
    pub ring: KeyRing,
    pub signer_changes_at: Option<i64>,
}

/// Loads every active key; all verify, and the one `signing_index` picks signs.
pub fn load_ring(
    conn: &mut Conn,
    secret: &ServerSecret,
    settings: &TokenSettings,
    publication: Publication,
) -> Result<LoadedRing, AuthError> {
    let rows = db::keys::active(conn)?;
    let signer = signing_index(&rows, publication);
    let signer_changes_at = signer_changes_at(&rows, publication);
    let mut keys = Vec::with_capacity(rows.len());
    for (index, row) in rows.into_iter().enumerate() {
        if row.algorithm != ALGORITHM {
            tracing::warn!(kid = %row.kid, algorithm = %row.algorithm, "skipping a key of an unknown algorithm");
            continue;
        }
        let private_der = if Some(index) == signer {
            let seed = unseal(secret, &row.kid, &row.private_key_sealed)?;
            let seed: [u8; 32] = seed
                .as_slice()
                .try_into()
                .map_err(|_| AuthError::Internal(format!("signing key {} is damaged", row.kid)))?;
            let der = Ed25519Key::from_bytes(&seed)
                .to_pkcs8_der()
                .map_err(|e| AuthError::Internal(format!("encoding a key failed: {e}")))?;
            Some(der.as_bytes().to_vec())
        } else {
            None
        };
        keys.push((row.kid, private_der, row.public_key));
    }
    Ok(LoadedRing {
        ring: KeyRing::new(keys, settings),
        signer_changes_at,
    })
}

/// Adds a key: published at once, signing once `Publication::seconds` have passed. Tokens signed
/// by older keys stay valid until they expire, because older keys keep verifying (and stay in
/// the JWKS) until they are retired.
pub fn rotate(conn: &mut Conn, secret: &ServerSecret, now: i64) -> Result<String, AuthError> {
    db::write_transaction(conn, |conn| {
        db::keys::lock_for_change(conn)?;
        create(conn, secret, now)
    })
}

pub fn list(conn: &mut Conn, publication: Publication) -> Result<Vec<KeyInfo>, AuthError> {
    let rows = db::keys::all(conn)?;
    let active: Vec<SigningKey> = rows
        .iter()
        .filter(|row| row.retired_at.is_none())
        .cloned()
        .collect();
    let signing = signing_index(&active, publication).map(|index| active[index].kid.clone());
    Ok(rows
        .into_iter()
        .map(|row| KeyInfo {
            signing: Some(&row.kid) == signing.as_ref(),
            kid: row.kid,
            created_at: row.created_at,
            retired_at: row.retired_at,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_with_its_secret_and_kid() {
        let secret = ServerSecret::from_bytes(vec![1u8; 32]).unwrap();
        let other = ServerSecret::from_bytes(vec![2u8; 32]).unwrap();
        let sealed = super::super::sealing::seal(&secret, SEAL_LABEL, b"kid", b"seed").unwrap();
        assert_eq!(unseal(&secret, "kid", &sealed).unwrap().as_slice(), b"seed");
        assert!(unseal(&other, "kid", &sealed).is_err());
        assert!(unseal(&secret, "other-kid", &sealed).is_err());
    }

    fn key_created_at(created_at: i64) -> SigningKey {
        SigningKey {
            kid: format!("k{created_at}"),
            generation: 1,
            algorithm: ALGORITHM.into(),
            public_key: Vec::new(),
            private_key_sealed: Vec::new(),
            created_at,
            retired_at: None,
        }
    }

    #[test]
    fn a_new_key_signs_only_once_it_has_been_published_for_the_reload_interval() {
        let at = |now| Publication { now, seconds: 30 };
        assert_eq!(signing_index(&[], at(0)), None);
        let rotated = [key_created_at(0), key_created_at(100)];
        assert_eq!(
            signing_index(&rotated, at(100)),
            Some(0),
            "published, not signing"
        );
        assert_eq!(signing_index(&rotated, at(129)), Some(0));
        assert_eq!(
            signing_index(&rotated, at(130)),
            Some(1),
            "signing after 30 s"
        );
        // A new database has no published key yet: its newest signs at once.
        assert_eq!(signing_index(&[key_created_at(100)], at(100)), Some(0));
        let both_new = [key_created_at(100), key_created_at(101)];
        assert_eq!(signing_index(&both_new, at(101)), Some(1));
    }

    #[test]
    fn the_ring_knows_when_its_signer_gives_way_to_a_newer_key() {
        let at = |now| Publication { now, seconds: 30 };
        let rotated = [key_created_at(0), key_created_at(100), key_created_at(110)];
        assert_eq!(signer_changes_at(&rotated, at(100)), Some(130));
        assert_eq!(signer_changes_at(&rotated, at(130)), Some(140));
        assert_eq!(signer_changes_at(&rotated, at(140)), None);
        assert_eq!(signer_changes_at(&[], at(0)), None);
    }

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint() {
        // Test vector from RFC 8037 appendix A.3.
        let public: [u8; 32] = [
            0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64,
            0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68,
            0xf7, 0x07, 0x51, 0x1a,
        ];
        assert_eq!(
            thumbprint(&public),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }
}
