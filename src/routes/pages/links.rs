//! Every URL a page builds from a value (an id, a filter) is built here, from percent-encoded
//! parts: a value can never add a path segment, a query or a fragment. Dot segments survive
//! percent-encoding (`%2E%2E` is `..` to a browser), so a value made only of dots, or empty,
//! becomes `_`, which names nothing.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but letters, digits, `-` and `_` is encoded (`.` too, and `/`, `?`, `#`, `%`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_');

/// One path segment.
pub fn segment(value: &str) -> String {
    if value.chars().all(|c| c == '.') {
        return "_".into();
    }
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// `path?name=value`, the value form-encoded.
fn with_query(path: &str, name: &str, value: &str) -> String {
    let query = serde_urlencoded::to_string([(name, value)]).unwrap_or_default();
    format!("{path}?{query}")
}

/// Where a form acting on one user posts: `/admin/users/{id}/{action}`.
pub fn admin_user_action(user_id: &str, action: &str) -> String {
    format!("/admin/users/{}/{action}", segment(user_id))
}

pub fn admin_session_revoke(session_id: &str) -> String {
    format!("/admin/sessions/{}/revoke", segment(session_id))
}

pub fn own_session_revoke(session_id: &str) -> String {
    format!("/sessions/{}/revoke", segment(session_id))
}

/// Where a page that needs a recent sign-in sends the person first, and back from there.
pub fn confirm_identity(back_to: &str) -> String {
    with_query("/account/confirm-identity", "next", back_to)
}

pub fn admin_sessions_of(user_id: &str) -> String {
    with_query("/admin/sessions", "user_id", user_id)
}

pub fn admin_events_of(user_id: &str) -> String {
    with_query("/admin/events", "user", user_id)
}

/// Whether `text` looks like an id Latchkey makes (a lowercase hyphenated UUID).
pub fn is_id(text: &str) -> bool {
    uuid::Uuid::try_parse(text).is_ok_and(|id| id.hyphenated().to_string() == text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_never_adds_a_segment_a_query_or_a_fragment() {
        let hostile = "../users/1b4e28ba-2fa1-4d2b-883f-0016d3cca427/disable?";
        let action = admin_user_action(hostile, "revoke-sessions");
        assert_eq!(
            action,
            "/admin/users/%2E%2E%2Fusers%2F1b4e28ba-2fa1-4d2b-883f-0016d3cca427%2Fdisable%3F/revoke-sessions"
        );
        assert_eq!(admin_user_action("..", "enable"), "/admin/users/_/enable");
        assert_eq!(admin_session_revoke(""), "/admin/sessions/_/revoke");
        assert_eq!(own_session_revoke("a#b"), "/sessions/a%23b/revoke");
        assert_eq!(
            admin_sessions_of("x&page=2"),
            "/admin/sessions?user_id=x%26page%3D2"
        );
    }

    #[test]
    fn ids_are_lowercase_hyphenated_uuids() {
        assert!(is_id("1b4e28ba-2fa1-4d2b-883f-0016d3cca427"));
        assert!(!is_id("1B4E28BA-2FA1-4D2B-883F-0016D3CCA427"));
        assert!(!is_id("1b4e28ba2fa14d2b883f0016d3cca427"));
        assert!(!is_id("../users/x/disable?"));
        assert!(!is_id(""));
    }
}
