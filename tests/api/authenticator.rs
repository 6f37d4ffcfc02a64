//! What an authenticator app does, computed here from the secret (RFC 4226/6238 with HMAC over
//! SHA-1 written out), so no test takes a code from the server's own code path.

use sha1::{Digest, Sha1};

/// RFC 4648 base32, as the enrolment shows the secret.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.trim_end_matches('=').bytes() {
        let value = ALPHABET.iter().position(|&a| a == c).expect("base32") as u64;
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

/// RFC 2104.
fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..20].copy_from_slice(&Sha1::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha1::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let outer = Sha1::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    outer.into()
}

/// The 6-digit code an app shows at unix time `at` for a base32 `secret`.
pub fn code_at(secret: &str, at: i64) -> String {
    let step = (at / 30) as u64;
    let mac = hmac_sha1(&base32_decode(secret), &step.to_be_bytes());
    let offset = usize::from(mac[19] & 0x0f);
    let value = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    format!("{:06}", value % 1_000_000)
}

#[test]
fn the_test_authenticator_matches_rfc_6238() {
    // Appendix B: secret "12345678901234567890", 59 s -> 94287082 (8 digits).
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    assert_eq!(code_at(secret, 59), "287082");
    assert_eq!(code_at(secret, 1_111_111_109), "081804");
}
