//! The page session (actix-session, in a signed and encrypted cookie): who is signed in (user
//! id and session id only), the CSRF token bound to it, and flash messages between redirects.

use actix_session::Session;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

const USER_ID: &str = "uid";
const SESSION_ID: &str = "sid";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";
/// A sign-in whose password was right, waiting for its second factor: the challenge's token
/// (good for a few minutes, once) and where to go afterwards.
const PENDING_SIGN_IN: &str = "mfa";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    /// `success`, `info` or `error`; picks the style.
    pub kind: String,
    pub text: String,
}

/// The CSRF token of this page session, created on first use.
pub fn csrf_token(session: &Session) -> String {
    if let Ok(Some(token)) = session.get::<String>(CSRF) {
        return token;
    }
    let token = crate::auth::random_token().unwrap_or_default();
    let _ = session.insert(CSRF, &token);
    token
}

/// Whether a submitted form carries this session's CSRF token (compared in constant time).
pub fn csrf_matches(session: &Session, submitted: &str) -> bool {
    match session.get::<String>(CSRF) {
        Ok(Some(expected)) if !expected.is_empty() => {
            bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
        }
        _ => false,
    }
}

pub fn flash(session: &Session, kind: &str, text: impl Into<String>) {
    let mut messages = session
        .get::<Vec<Flash>>(FLASH)
        .ok()
        .flatten()
        .unwrap_or_default();
    messages.push(Flash {
        kind: kind.to_owned(),
        text: text.into(),
    });
    let _ = session.insert(FLASH, messages);
}

pub fn take_flash(session: &Session) -> Vec<Flash> {
    let messages = session
        .get::<Vec<Flash>>(FLASH)
        .ok()
        .flatten()
        .unwrap_or_default();
    if !messages.is_empty() {
        session.remove(FLASH);
    }
    messages
}

/// Starts a fresh page session for a sign-in: a renewed session, nothing carried over from
/// before (no fixation), a new CSRF token.
pub fn sign_in(session: &Session, user_id: &str, session_id: &str) {
    session.renew();
    session.clear();
    let _ = session.insert(USER_ID, user_id);
    let _ = session.insert(SESSION_ID, session_id);
    let _ = session.insert(CSRF, crate::auth::random_token().unwrap_or_default());
}

/// (user id, session id) when someone is signed in on this page session.
pub fn signed_in(session: &Session) -> Option<(String, String)> {
    let user_id = session.get::<String>(USER_ID).ok().flatten()?;
    let session_id = session.get::<String>(SESSION_ID).ok().flatten()?;
    Some((user_id, session_id))
}

pub fn sign_out(session: &Session) {
    session.purge();
}

/// A sign-in waiting for its second factor, kept in this browser's page session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub mfa_token: String,
    pub next: String,
    /// Whether recovery codes are among the methods.
    pub recovery_codes: bool,
    /// Whether the authenticator app is.
    #[serde(default)]
    pub totp: bool,
    /// Whether a passkey is.
    #[serde(default)]
    pub passkey: bool,
}

pub fn set_pending_sign_in(session: &Session, pending: &PendingSignIn) {
    let _ = session.insert(PENDING_SIGN_IN, pending);
}

pub fn pending_sign_in(session: &Session) -> Option<PendingSignIn> {
    session.get::<PendingSignIn>(PENDING_SIGN_IN).ok().flatten()
}

pub fn clear_pending_sign_in(session: &Session) {
    session.remove(PENDING_SIGN_IN);
}
