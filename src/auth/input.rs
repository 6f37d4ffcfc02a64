//! Username and password rules. Both are NFKC-normalised first, so what a person types on any
//! keyboard or platform compares equal at registration and at login.

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use super::error::FieldError;

pub const USERNAME_MIN_CHARS: usize = 3;
pub const USERNAME_MAX_CHARS: usize = 64;
pub const PASSWORD_MAX_CHARS: usize = 256;
/// The floor under the configurable minimum (NIST SP 800-63B).
pub const PASSWORD_MIN_CHARS_FLOOR: usize = 8;

/// A checked username: the form shown back to people and the key it is compared by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username {
    pub display: String,
    pub key: String,
}

/// The comparison key for any username-like input, valid or not: NFKC, then Unicode case
/// folding, then NFKC again, so "Alice", "ALICE" and "ａｌｉｃｅ" share one key.
pub fn username_key(raw: &str) -> String {
    let display: String = raw.trim().nfkc().collect();
    display.trim().chars().default_case_fold().nfkc().collect()
}

pub fn parse_username(raw: &str) -> Result<Username, FieldError> {
    let normalised: String = raw.trim().nfkc().collect();
    let display = normalised.trim().to_string();
    let length = display.chars().count();
    if length < USERNAME_MIN_CHARS {
        return Err(FieldError::new(
            "username",
            format!("Username must be at least {USERNAME_MIN_CHARS} characters."),
        ));
    }
    if length > USERNAME_MAX_CHARS {
        return Err(FieldError::new(
            "username",
            format!("Username must be at most {USERNAME_MAX_CHARS} characters."),
        ));
    }
    if display.chars().any(char::is_control) {
        return Err(FieldError::new(
            "username",
            "Username must not contain control characters (tabs, newlines and the like).",
        ));
    }
    let key = username_key(&display);
    Ok(Username { display, key })
}

/// NFKC form of a password, for hashing and verifying; no other change, no truncation.
pub fn normalise_password(raw: &str) -> Zeroizing<String> {
    Zeroizing::new(raw.nfkc().collect())
}

/// Checks a new password against the length rules; no composition rules (NIST SP 800-63B).
pub fn check_new_password(raw: &str, min_chars: usize) -> Result<Zeroizing<String>, FieldError> {
    let password = normalise_password(raw);
    let length = password.chars().count();
    if length < min_chars {
        return Err(FieldError::new(
            "password",
            format!(
                "Password must be at least {min_chars} characters; a few unrelated words make a strong one."
            ),
        ));
    }
    if length > PASSWORD_MAX_CHARS {
        return Err(FieldError::new(
            "password",
            format!("Password must be at most {PASSWORD_MAX_CHARS} characters."),
        ));
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_compare_case_insensitively_after_nfkc() {
        let a = parse_username("  Alice ").unwrap();
        let b = parse_username("ALICE").unwrap();
        let c = parse_username("ａｌｉｃｅ").unwrap();
        assert_eq!(a.display, "Alice");
        assert_eq!(a.key, b.key);
        assert_eq!(a.key, c.key);
    }

    #[test]
    fn username_length_counts_characters_not_bytes() {
        assert!(parse_username("ab").is_err());
        assert!(parse_username("äöü").is_ok());
        assert!(parse_username(&"é".repeat(64)).is_ok());
        assert!(parse_username(&"é".repeat(65)).is_err());
    }

    #[test]
    fn usernames_with_control_characters_are_refused() {
        assert!(parse_username("bob\u{0}by").is_err());
        assert!(parse_username("bob\nby").is_err());
    }

    #[test]
    fn password_length_rules_hold_in_characters() {
        assert!(check_new_password("short", 12).is_err());
        assert!(check_new_password("correct horse", 12).is_ok());
        assert!(check_new_password(&"ü".repeat(256), 12).is_ok());
        assert!(check_new_password(&"ü".repeat(257), 12).is_err());
    }

    #[test]
    fn passwords_are_nfkc_normalised() {
        // U+FB01 (the "ﬁ" ligature) is compatibility-equivalent to "fi".
        assert_eq!(
            normalise_password("\u{FB01}ne").as_str(),
            normalise_password("fine").as_str()
        );
    }
}
