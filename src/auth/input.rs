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
    /// The confusable skeleton of `key` (unique too: see `username_skeleton`).
    pub skeleton: String,
}

/// The comparison key for any username-like input, valid or not: NFKC, then Unicode case
/// folding, then NFKC again, so "Alice", "ALICE" and "ａｌｉｃｅ" share one key.
/// NUL becomes U+FFFD: no valid username has control characters, and PostgreSQL text cannot
/// hold NUL, so a sign-in attempt with one is throttled and refused like any unknown name.
pub fn username_key(raw: &str) -> String {
    let display: String = raw.trim().nfkc().collect();
    display
        .trim()
        .chars()
        .default_case_fold()
        .nfkc()
        .map(|c| {
            if c == '\0' {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

/// Whether some account could have this name (registration's length and control-character
/// rules, which every stored name has always met). A sign-in with any other name is refused at
/// once, before anything is looked up or stored.
pub fn could_be_a_username(raw: &str) -> bool {
    // Cheap bound first: NFKC can expand a character up to 18-fold, never shrink 4 bytes of
    // UTF-8 to less than one character.
    if raw.len() > USERNAME_MAX_CHARS * 4 * 18 {
        return false;
    }
    let normalised: String = raw.trim().nfkc().collect();
    let length = normalised.trim().chars().count();
    (USERNAME_MIN_CHARS..=USERNAME_MAX_CHARS).contains(&length)
        && !normalised.chars().any(char::is_control)
}

/// Characters that render as nothing or reorder text: default-ignorable code points (zero-width
/// space and joiners, BOM, Hangul fillers, variation selectors...) and bidirectional controls.
/// Two names differing only by them look identical.
pub fn is_invisible(c: char) -> bool {
    use unicode_security::GeneralSecurityProfile;
    use unicode_security::general_security_profile::IdentifierType;
    matches!(c.identifier_type(), Some(IdentifierType::Default_Ignorable))
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}'
            | '\u{17B5}' | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{E0000}'..='\u{E0FFF}')
}

/// The UTS #39 confusable skeleton of a username key: names that look alike share it.
pub fn username_skeleton(key: &str) -> String {
    unicode_security::skeleton(key).collect()
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
    if display.chars().any(is_invisible) {
        return Err(FieldError::new(
            "username",
            "Username must not contain invisible characters (zero-width spaces or joiners, \
             direction marks, fillers); they make names that look like someone else's.",
        ));
    }
    if !display.chars().any(char::is_alphanumeric) {
        return Err(FieldError::new(
            "username",
            "Username must contain at least one letter or digit.",
        ));
    }
    let key = username_key(&display);
    let skeleton = username_skeleton(&key);
    Ok(Username {
        display,
        key,
        skeleton,
    })
}

/// NFKC form of a password, for hashing and verifying; no other change, no truncation.
pub fn normalise_password(raw: &str) -> Zeroizing<String> {
    Zeroizing::new(raw.nfkc().collect())
}

/// zxcvbn score a new password needs: 3 = "safely unguessable" against online attacks and
/// moderately hard offline. Common passwords, keyboard walks, dates, l33t-speak of dictionary
/// words and passwords built from the username all score lower.
pub const MIN_STRENGTH_SCORE: zxcvbn::Score = zxcvbn::Score::Three;
/// zxcvbn's matching grows quickly with length; what follows 100 characters only adds strength.
const STRENGTH_CHECK_CHARS: usize = 100;

/// Refuses common and easily guessed passwords, offline, saying why.
pub fn check_strength(password: &str, context: &[&str]) -> Result<(), FieldError> {
    let checked: String = password.chars().take(STRENGTH_CHECK_CHARS).collect();
    let estimate = zxcvbn::zxcvbn(&checked, context);
    if estimate.score() >= MIN_STRENGTH_SCORE {
        return Ok(());
    }
    let why = estimate
        .feedback()
        .and_then(|f| f.warning())
        .map(|w| format!(" {w}"))
        .unwrap_or_default();
    Err(FieldError::new(
        "password",
        format!(
            "This password is too easy to guess.{why} Add a few unrelated words, or choose a longer, less common phrase."
        ),
    ))
}

/// Checks a new password against the length rules and refuses easily guessed ones; no
/// composition rules (NIST SP 800-63B). `context`: words the password must not lean on (the
/// username).
pub fn check_new_password(
    raw: &str,
    min_chars: usize,
    context: &[&str],
) -> Result<Zeroizing<String>, FieldError> {
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
    let mut words = vec!["latchkey"];
    words.extend_from_slice(context);
    check_strength(&password, &words)?;
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
    fn invisible_and_direction_characters_are_refused_in_new_names() {
        for hidden in [
            "\u{200B}",
            "\u{200C}",
            "\u{200D}",
            "\u{FEFF}",
            "\u{2060}",
            "\u{00AD}",
            "\u{115F}",
            "\u{1160}",
            "\u{3164}",
            "\u{FFA0}",
            "\u{202E}",
            "\u{2066}",
            "\u{200F}",
            "\u{061C}",
            "\u{FE0F}",
            "\u{E0041}",
        ] {
            let name = format!("ad{hidden}min");
            assert!(parse_username(&name).is_err(), "{:?} was accepted", name);
        }
        assert!(parse_username("\u{3164}\u{3164}\u{3164}").is_err());
        assert!(
            parse_username("\u{2800}\u{2800}\u{2800}").is_err(),
            "braille blanks"
        );
        assert!(parse_username("...").is_err());
        assert!(parse_username("zoë-42").is_ok());
        assert!(parse_username("Jürgen Müller").is_ok());
        assert!(parse_username("李小龍").is_ok());
    }

    #[test]
    fn look_alike_names_share_a_skeleton() {
        let skeleton = |name: &str| parse_username(name).unwrap().skeleton;
        assert_eq!(skeleton("admin"), skeleton("\u{0430}dmin"), "Cyrillic a");
        assert_eq!(skeleton("admin"), skeleton("adm\u{0131}n"), "dotless i");
        assert_eq!(skeleton("admin"), skeleton("ADMIN"));
        assert_ne!(skeleton("admin"), skeleton("admins"));
    }

    #[test]
    fn only_names_registration_could_accept_are_looked_up_at_sign_in() {
        assert!(could_be_a_username("alice"));
        assert!(could_be_a_username(&"é".repeat(64)));
        assert!(!could_be_a_username(&"é".repeat(65)));
        assert!(!could_be_a_username(&"a".repeat(15_000)));
        assert!(!could_be_a_username("al\nice"));
        assert!(!could_be_a_username("al\u{0}ice"));
        assert!(!could_be_a_username("ab"));
    }

    #[test]
    fn usernames_with_control_characters_are_refused() {
        assert!(parse_username("bob\u{0}by").is_err());
        assert!(parse_username("bob\nby").is_err());
    }

    #[test]
    fn password_length_rules_hold_in_characters() {
        assert!(check_new_password("short", 12, &[]).is_err());
        assert!(check_new_password("correct horse battery", 12, &[]).is_ok());
        assert!(check_new_password(&"üñî cødé 🔑 ".repeat(23), 12, &[]).is_ok());
        assert!(check_new_password(&"ü".repeat(257), 12, &[]).is_err());
    }

    #[test]
    fn common_and_guessable_passwords_are_refused_with_a_reason() {
        for weak in [
            "password1234",
            "qwertyuiopasdf",
            "123456789012",
            "aaaaaaaaaaaaaaaa",
        ] {
            let error = check_new_password(weak, 12, &[]).unwrap_err();
            assert!(
                error.message.contains("too easy to guess"),
                "{weak}: {}",
                error.message
            );
        }
        // Built from the username.
        assert!(check_new_password("alice-alice-2024", 12, &["alice"]).is_err());
        assert!(check_new_password("velvet orbit cactus lamp", 12, &["alice"]).is_ok());
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
