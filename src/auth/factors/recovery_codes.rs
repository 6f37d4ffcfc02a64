//! Recovery codes: the way back when the authenticator app is lost. Ten codes of 60 random bits
//! each, shown once, kept only as keyed hashes (HMAC-SHA256 under a key derived from the server
//! secret, over the user id and the code: a copy of the table alone cannot be searched
//! offline), each claimed once by one UPDATE. Looking a code up by its keyed hash compares
//! nothing secret in variable time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::super::AuthService;
use super::super::audit::{AuditEvent, EventKind};
use super::super::error::AuthError;
use super::super::sessions::ClientInfo;
use super::Fresh;
use crate::db;
use crate::db::models::RecoveryCode;

pub const RECOVERY_CODE_COUNT: usize = 10;
/// With this many left (or fewer), the account page and the sign-in warn.
pub const RECOVERY_CODES_LOW: i64 = 3;
/// 12 characters of base32: 60 bits.
const CODE_CHARS: usize = 12;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
pub(super) const HASH_LABEL: &str = "recovery-code-hash";

/// A code as shown: `abcd-efgh-ijkl`.
fn format_code(chars: &[u8]) -> String {
    chars
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// What a person typed, as the code it means: case, spaces and dashes do not matter, and the
/// digits people read for look-alike letters (0, 1, 8) count as those letters. `None` for
/// anything that cannot be a code.
pub(super) fn normalise(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            '0' => 'o',
            '1' => 'l',
            '8' => 'b',
            other => other,
        })
        .collect();
    (code.len() == CODE_CHARS && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

impl AuthService {
    pub(super) fn recovery_code_hash(&self, user_id: &str, code: &str) -> Vec<u8> {
        let key = self.secret.derive_key(HASH_LABEL);
        let mut mac: Hmac<Sha256> = super::super::keyed_hmac(key.as_ref());
        mac.update(user_id.as_bytes());
        mac.update(b"\0");
        mac.update(code.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// A new set: the codes to show and the rows to store.
    pub(super) fn new_recovery_codes(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<(Vec<String>, Vec<RecoveryCode>), AuthError> {
        let mut shown = Vec::with_capacity(RECOVERY_CODE_COUNT);
        let mut rows = Vec::with_capacity(RECOVERY_CODE_COUNT);
        for _ in 0..RECOVERY_CODE_COUNT {
            let mut random = [0u8; CODE_CHARS];
            super::super::random_fill(&mut random)?;
            // 256 is a multiple of 32: each byte picks a character without bias.
            let chars: Vec<u8> = random
                .iter()
                .map(|b| ALPHABET[usize::from(b % 32)])
                .collect();
            let code = String::from_utf8_lossy(&chars).into_owned();
            rows.push(RecoveryCode {
                code_hash: self.recovery_code_hash(user_id, &code),
                user_id: user_id.to_owned(),
                created_at: now,
                used_at: None,
            });
            shown.push(format_code(&chars));
        }
        Ok((shown, rows))
    }

    /// Replaces the caller's recovery codes by a new set (shown once; the old ones die).
    /// Needs an authenticator app: the codes are its backup.
    pub fn regenerate_recovery_codes(
        &self,
        fresh: &Fresh,
        client: &ClientInfo,
    ) -> Result<Vec<String>, AuthError> {
        let user = fresh.caller().user_row();
        let now = self.clock.now();
        let (codes, rows) = self.new_recovery_codes(&user.id, now)?;
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            if !super::factors_in(conn, &user.id)?.any() {
                return Err(AuthError::NoSecondFactor);
            }
            db::recovery_codes::replace_all(conn, &user.id, &rows)?;
            let event = AuditEvent::success(EventKind::RecoveryCodesRegenerated)
                .user(&user.id)
                .session(fresh.caller().session().id.as_str());
            Ok(self.audit_in(conn, event, client, now)?)
        })?;
        Ok(codes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_code_is_read_whatever_its_case_spaces_dashes_and_look_alike_digits() {
        assert_eq!(normalise("abcd-efgh-ijkl").as_deref(), Some("abcdefghijkl"));
        assert_eq!(
            normalise(" ABCD EFGH IJKL ").as_deref(),
            Some("abcdefghijkl")
        );
        assert_eq!(normalise("0l8d-efgh-ijkl").as_deref(), Some("olbdefghijkl"));
        assert_eq!(normalise("1bcd-efgh-ijk").as_deref(), None);
        assert_eq!(normalise("abcd-efgh-ijk9").as_deref(), None);
        assert_eq!(normalise("").as_deref(), None);
    }

    #[test]
    fn codes_are_shown_in_groups_of_four() {
        assert_eq!(format_code(b"abcdefghijkl"), "abcd-efgh-ijkl");
    }
}
