//! Email addresses: the syntax rule (the `email_address` crate: RFC 5322 with internationalised
//! domains), and the forms an address is kept in.

use std::str::FromStr;

use super::error::FieldError;

/// RFC 5321's limit on a forward path.
pub const EMAIL_MAX_CHARS: usize = 254;

/// A checked address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// As typed, trimmed, the domain in lower case: shown to people and used as the recipient.
    pub display: String,
    /// The whole address in lower case, the domain in its ASCII (punycode) form: two ways of
    /// writing one mailbox share it. Uniqueness and look-ups use it.
    pub key: String,
}

/// Checks an address someone typed. IDN domains (`bücher.example`) are accepted; an address
/// needs a dotted domain (a bare `alice@localhost` is almost always a typo).
pub fn parse_email(raw: &str, field: &'static str) -> Result<Email, FieldError> {
    let text = raw.trim();
    let refuse = |message: &str| FieldError::new(field, message);
    if text.is_empty() {
        return Err(refuse("Enter an email address."));
    }
    if text.chars().count() > EMAIL_MAX_CHARS {
        return Err(refuse("An email address has at most 254 characters."));
    }
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(refuse(
            "An email address has no spaces or control characters.",
        ));
    }
    let parsed = email_address::EmailAddress::from_str(text)
        .map_err(|_| refuse("That is not an email address; write it like name@example.com."))?;
    let (local, domain) = (parsed.local_part(), parsed.domain().to_lowercase());
    if domain.starts_with('[') {
        return Err(refuse(
            "Use an address with a domain name, not an IP address.",
        ));
    }
    let ascii_domain = match url::Host::parse(&domain) {
        Ok(url::Host::Domain(ascii)) if ascii.contains('.') => ascii,
        _ => {
            return Err(refuse(
                "The part after @ is not a domain; write it like name@example.com.",
            ));
        }
    };
    Ok(Email {
        display: format!("{local}@{domain}"),
        key: format!("{}@{ascii_domain}", local.to_lowercase()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_compare_without_case_and_idn_domains_share_a_key_with_punycode() {
        let a = parse_email("  Alice@Example.COM ", "email").unwrap();
        assert_eq!(a.display, "Alice@example.com");
        assert_eq!(a.key, "alice@example.com");
        let idn = parse_email("jörg@Bücher.example", "email").unwrap();
        assert_eq!(idn.display, "jörg@bücher.example");
        assert_eq!(idn.key, "jörg@xn--bcher-kva.example");
        assert_eq!(
            parse_email("jörg@xn--bcher-kva.example", "email")
                .unwrap()
                .key,
            idn.key
        );
    }

    #[test]
    fn things_that_are_not_addresses_are_refused_with_a_reason() {
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice@localhost",
            "a b@example.com",
            "alice@[127.0.0.1]",
            "alice@exa\u{0}mple.com",
            &format!("{}@example.com", "a".repeat(250)),
        ] {
            let refused = parse_email(bad, "email").unwrap_err();
            assert_eq!(refused.field, "email");
            assert!(!refused.message.is_empty(), "{bad:?}");
        }
    }
}
