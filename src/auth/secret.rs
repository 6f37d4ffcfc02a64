//! The server secret: the one thing a copy of the database does not contain. Every other key
//! (signing-key encryption, refresh-token derivation, the page-cookie key) is derived from it.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

/// Shortest secret accepted from `LATCHKEY_SECRET`.
pub const MIN_SECRET_BYTES: usize = 32;
const GENERATED_SECRET_BYTES: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "LATCHKEY_SECRET is {0} bytes; use at least {MIN_SECRET_BYTES} random bytes \
         (for example the output of `openssl rand -base64 48`)"
    )]
    TooShort(usize),
    #[error("cannot read the server secret file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("cannot create the server secret file {path}: {reason}")]
    Create { path: String, reason: String },
    #[error(
        "the server secret file {0} is not valid (expected one line of URL-safe base64); \
         restore it from your backup"
    )]
    Corrupt(String),
}

pub struct ServerSecret {
    bytes: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret(<redacted>)")
    }
}

impl ServerSecret {
    /// Uses `inline` (from `LATCHKEY_SECRET`) when given, else reads `file`, creating it with
    /// fresh random bytes and mode 0600 the first time.
    pub fn load(inline: Option<&str>, file: &Path) -> Result<ServerSecret, SecretError> {
        match inline {
            Some(value) => ServerSecret::from_bytes(value.as_bytes().to_vec()),
            None if file.exists() => ServerSecret::read(file),
            None => ServerSecret::create(file),
        }
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Result<ServerSecret, SecretError> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort(bytes.len()));
        }
        Ok(ServerSecret {
            bytes: Zeroizing::new(bytes),
        })
    }

    fn read(file: &Path) -> Result<ServerSecret, SecretError> {
        let text = Zeroizing::new(fs::read_to_string(file).map_err(|e| SecretError::Read {
            path: file.display().to_string(),
            reason: e.to_string(),
        })?);
        if let Ok(meta) = fs::metadata(file)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                path = %file.display(),
                "the server secret file is readable by other users; run chmod 600 on it"
            );
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| SecretError::Corrupt(file.display().to_string()))?;
        ServerSecret::from_bytes(bytes)
            .map_err(|_| SecretError::Corrupt(file.display().to_string()))
    }

    fn create(file: &Path) -> Result<ServerSecret, SecretError> {
        let failed = |reason: String| SecretError::Create {
            path: file.display().to_string(),
            reason,
        };
        if let Some(parent) = file.parent() {
            crate::files::ensure_private_dir(parent).map_err(|e| failed(e.to_string()))?;
        }
        let mut bytes = vec![0u8; GENERATED_SECRET_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| failed(e.to_string()))?;
        let encoded = Zeroizing::new(URL_SAFE_NO_PAD.encode(&bytes));
        // create_new: two instances starting at once must not overwrite each other's secret.
        let mut handle =
            crate::files::create_private_file(file).map_err(|e| failed(e.to_string()))?;
        handle
            .write_all(format!("{}\n", encoded.as_str()).as_bytes())
            .and_then(|_| handle.sync_all())
            .map_err(|e| failed(e.to_string()))?;
        tracing::info!(path = %file.display(), "created a new server secret; back it up");
        ServerSecret::from_bytes(bytes)
    }

    /// A 32-byte key for one purpose; different labels give independent keys.
    pub fn derive_key(&self, label: &str) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        self.expand(label, out.as_mut());
        out
    }

    /// A 64-byte key for one purpose (e.g. the page-cookie signing and encryption key).
    pub fn derive_key_64(&self, label: &str) -> Zeroizing<[u8; 64]> {
        let mut out = Zeroizing::new([0u8; 64]);
        self.expand(label, out.as_mut());
        out
    }

    #[allow(
        clippy::expect_used,
        reason = "HKDF-SHA256 fails only above 8,160 bytes; our keys are 32 or 64"
    )]
    fn expand(&self, label: &str, out: &mut [u8]) {
        let hkdf = Hkdf::<Sha256>::new(Some(b"latchkey server secret v1"), &self.bytes);
        hkdf.expand(label.as_bytes(), out)
            .expect("HKDF-SHA256 can produce 64 bytes");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_secret_is_refused() {
        assert!(matches!(
            ServerSecret::from_bytes(b"short".to_vec()),
            Err(SecretError::TooShort(5))
        ));
    }

    #[test]
    fn labels_give_independent_keys_and_the_same_label_the_same_key() {
        let secret = ServerSecret::from_bytes(vec![7u8; 48]).unwrap();
        assert_eq!(*secret.derive_key("a"), *secret.derive_key("a"));
        assert_ne!(*secret.derive_key("a"), *secret.derive_key("b"));
    }

    #[test]
    fn a_created_secret_file_is_private_and_reads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/secret.key");
        let created = ServerSecret::load(None, &path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let read = ServerSecret::load(None, &path).unwrap();
        assert_eq!(*created.derive_key("x"), *read.derive_key("x"));
    }
}
