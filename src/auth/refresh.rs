//! Refresh tokens: opaque 256-bit secrets, stored only as SHA-256 hashes, rotated on every use.
//!
//! A successor's secret is HMAC-SHA-256(server-derived key, parent's hash). It is never stored,
//! yet can be derived again, so concurrent refreshes with the same token inside the grace window
//! all receive the one successor instead of branching the family.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::audit::{AuditEvent, EventKind, Outcome as EventOutcome};
use super::error::AuthError;
use super::sessions::{ClientInfo, EndedBy, Lifetimes, is_live};
use super::{AuthService, IssuedTokens};
use crate::db::models::{NewRefreshToken, RefreshToken, Session, User};
use crate::db::{self, Conn};

pub const REFRESH_TOKEN_BYTES: usize = 32;
/// Length of the URL-safe base64 (no padding) form of 32 bytes.
const ENCODED_LEN: usize = 43;
pub const REUSE_REASON: &str = "refresh token reuse";

/// A refresh token as presented by a client: its secret bytes.
pub struct RefreshSecret([u8; REFRESH_TOKEN_BYTES]);

impl RefreshSecret {
    pub fn generate() -> Result<RefreshSecret, AuthError> {
        let mut bytes = [0u8; REFRESH_TOKEN_BYTES];
        super::random_fill(&mut bytes)?;
        Ok(RefreshSecret(bytes))
    }

    /// Anything that is not exactly what we issue is refused before touching the database.
    pub fn parse(text: &str) -> Option<RefreshSecret> {
        use base64::Engine;
        if text.len() != ENCODED_LEN {
            return None;
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        Some(RefreshSecret(bytes.try_into().ok()?))
    }

    pub fn encode(&self) -> String {
        super::b64url(&self.0)
    }

    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0).into()
    }

    /// The successor of the token whose hash is `parent_hash`.
    pub fn successor_of(key: &[u8; 32], parent_hash: &[u8]) -> RefreshSecret {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts 32-byte keys");
        mac.update(b"refresh successor v1:");
        mac.update(parent_hash);
        RefreshSecret(mac.finalize().into_bytes().into())
    }
}

/// What to do with a presented refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// Unused token of a live session: mark it used and issue its successor.
    Rotate,
    /// Used moments ago and its successor is still unused: hand out that same successor.
    ReissueSuccessor,
    /// Used before: someone replays a token. Revoke the whole session.
    Reuse,
    /// The session is over (revoked, idle or past its absolute end).
    Refuse,
}

/// The rotation rules, free of storage. `successor_unused` is `None` when the token has no
/// successor (it was never exchanged, or the family was cut).
pub fn decide(
    token: &RefreshToken,
    session: &Session,
    successor_unused: Option<bool>,
    now: i64,
    lifetimes: &Lifetimes,
) -> Rotation {
    if !is_live(session, now, lifetimes) {
        return Rotation::Refuse;
    }
    match token.used_at {
        None => Rotation::Rotate,
        Some(used_at)
            if now - used_at <= lifetimes.reuse_grace && successor_unused == Some(true) =>
        {
            Rotation::ReissueSuccessor
        }
        Some(_) => Rotation::Reuse,
    }
}

/// What a rotation transaction decided; reuse is committed (the session revoked) before it
/// becomes an error.
#[allow(clippy::large_enum_variant)] // one value per request, returned once: boxing buys nothing
enum Outcome {
    Issued {
        session: Session,
        user: User,
        secret: RefreshSecret,
    },
    ReuseDetected,
    /// A token of an ended session; recorded, then refused.
    Refused,
}

impl AuthService {
    /// Exchanges a refresh token for a new access token and the token's successor.
    pub fn refresh(&self, presented: &str, client: &ClientInfo) -> Result<IssuedTokens, AuthError> {
        let presented = RefreshSecret::parse(presented).ok_or(AuthError::InvalidRefreshToken)?;
        let hash = presented.hash();
        let now = self.clock.now();
        let mut conn = self.db.conn()?;
        let outcome = db::write_transaction(&mut conn, |conn| {
            self.rotate_in_transaction(conn, &hash, now, client)
        })?;
        drop(conn);
        match outcome {
            Outcome::Issued {
                session,
                user,
                secret,
            } => self.issue(&user, &session, &secret, now),
            Outcome::ReuseDetected => Err(AuthError::RefreshTokenReuse),
            Outcome::Refused => Err(AuthError::InvalidRefreshToken),
        }
    }

    fn rotate_in_transaction(
        &self,
        conn: &mut Conn,
        hash: &[u8; 32],
        now: i64,
        client: &ClientInfo,
    ) -> Result<Outcome, AuthError> {
        let token =
            db::refresh_tokens::find_by_hash(conn, hash)?.ok_or(AuthError::InvalidRefreshToken)?;
        let (session, user) = db::sessions::find_with_user(conn, &token.session_id)?
            .filter(|(_, user)| user.disabled_at.is_none())
            .ok_or(AuthError::InvalidRefreshToken)?;
        let successor = match token.used_at {
            Some(_) => db::refresh_tokens::find_child(conn, token.id)?,
            None => None,
        };
        let successor_unused = successor.as_ref().map(|s| s.used_at.is_none());
        let secret = RefreshSecret::successor_of(&self.refresh_key, hash);

        let rotation = decide(
            &token,
            &session,
            successor_unused,
            now,
            &self.config.lifetimes,
        );
        let event = |kind, outcome| {
            AuditEvent::new(kind, outcome)
                .user(&user.id)
                .session(&session.id)
        };
        match rotation {
            Rotation::Refuse => {
                let refused = event(EventKind::Refreshed, EventOutcome::Failure);
                self.audit_in(conn, refused.detail("session ended"), client, now)?;
                Ok(Outcome::Refused)
            }
            Rotation::Reuse => {
                tracing::warn!(session_id = %session.id, "refresh token reuse detected; session revoked");
                db::sessions::revoke(conn, &session.id, now, REUSE_REASON)?;
                let reuse = event(EventKind::RefreshReuseDetected, EventOutcome::Denied);
                self.audit_in(conn, reuse.detail("session revoked"), client, now)?;
                Ok(Outcome::ReuseDetected)
            }
            Rotation::ReissueSuccessor => {
                let reissued = event(EventKind::Refreshed, EventOutcome::Success);
                self.audit_in(
                    conn,
                    reissued.detail("same successor, grace window"),
                    client,
                    now,
                )?;
                Ok(Outcome::Issued {
                    session,
                    user,
                    secret,
                })
            }
            Rotation::Rotate => {
                if !db::refresh_tokens::claim(conn, token.id, now)? {
                    // Another writer claimed it between our read and write; only possible
                    // without the write lock, and then the caller may simply retry.
                    return Err(AuthError::InvalidRefreshToken);
                }
                db::refresh_tokens::insert(
                    conn,
                    &NewRefreshToken {
                        session_id: &session.id,
                        token_hash: &secret.hash(),
                        parent_id: Some(token.id),
                        issued_at: now,
                    },
                )?;
                db::sessions::touch(conn, &session.id, now, client.ip.as_deref())?;
                self.audit_in(
                    conn,
                    event(EventKind::Refreshed, EventOutcome::Success),
                    client,
                    now,
                )?;
                let session = Session {
                    last_used_at: now,
                    ip: client.ip.clone(),
                    ..session
                };
                Ok(Outcome::Issued {
                    session,
                    user,
                    secret,
                })
            }
        }
    }

    /// Revokes the session a refresh token belongs to (RFC 7009: unknown tokens are not an
    /// error). Returns whether a session was found.
    pub fn revoke_by_refresh_token(
        &self,
        presented: &str,
        how: EndedBy,
        client: &ClientInfo,
    ) -> Result<bool, AuthError> {
        let Some(presented) = RefreshSecret::parse(presented) else {
            return Ok(false);
        };
        let now = self.clock.now();
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            let Some(token) = db::refresh_tokens::find_by_hash(conn, &presented.hash())? else {
                return Ok(false);
            };
            self.end_session(conn, &token.session_id, now, how, client)?;
            Ok(true)
        })
    }

    /// How many unexchanged refresh tokens a session has (one, for any live session).
    pub fn unused_refresh_tokens(&self, session_id: &str) -> Result<i64, AuthError> {
        Ok(db::refresh_tokens::count_unused(
            &mut *self.db.conn()?,
            session_id,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIFETIMES: Lifetimes = Lifetimes {
        idle: 600,
        absolute: 3600,
        reuse_grace: 10,
    };

    fn session(now: i64) -> Session {
        Session {
            id: "s".into(),
            user_id: "u".into(),
            created_at: now,
            last_used_at: now,
            expires_at: now + LIFETIMES.absolute,
            revoked_at: None,
            revoked_reason: None,
            user_agent: None,
            ip: None,
        }
    }

    fn token(used_at: Option<i64>) -> RefreshToken {
        RefreshToken {
            id: 1,
            session_id: "s".into(),
            token_hash: vec![0; 32],
            parent_id: None,
            issued_at: 0,
            used_at,
        }
    }

    #[test]
    fn an_unused_token_of_a_live_session_rotates() {
        assert_eq!(
            decide(&token(None), &session(100), None, 100, &LIFETIMES),
            Rotation::Rotate
        );
    }

    #[test]
    fn a_token_used_inside_the_grace_window_gets_the_same_successor() {
        let used = token(Some(100));
        assert_eq!(
            decide(&used, &session(100), Some(true), 110, &LIFETIMES),
            Rotation::ReissueSuccessor
        );
    }

    #[test]
    fn a_token_used_after_the_grace_window_is_reuse() {
        let used = token(Some(100));
        assert_eq!(
            decide(&used, &session(100), Some(true), 111, &LIFETIMES),
            Rotation::Reuse
        );
    }

    #[test]
    fn a_token_two_generations_old_is_reuse_even_inside_the_grace_window() {
        let used = token(Some(100));
        assert_eq!(
            decide(&used, &session(100), Some(false), 101, &LIFETIMES),
            Rotation::Reuse
        );
    }

    #[test]
    fn a_used_token_without_successor_is_reuse() {
        assert_eq!(
            decide(&token(Some(100)), &session(100), None, 101, &LIFETIMES),
            Rotation::Reuse
        );
    }

    #[test]
    fn revoked_idle_and_expired_sessions_refuse_every_token() {
        let mut revoked = session(100);
        revoked.revoked_at = Some(100);
        assert_eq!(
            decide(&token(None), &revoked, None, 101, &LIFETIMES),
            Rotation::Refuse
        );
        // Idle: last used 600 s ago.
        assert_eq!(
            decide(&token(None), &session(100), None, 700, &LIFETIMES),
            Rotation::Refuse
        );
        assert_eq!(
            decide(&token(None), &session(100), None, 699, &LIFETIMES),
            Rotation::Rotate
        );
        // Absolute end, even when used recently.
        let mut old = session(100);
        old.last_used_at = 3699;
        assert_eq!(
            decide(&token(None), &old, None, 3700, &LIFETIMES),
            Rotation::Refuse
        );
    }

    #[test]
    fn successors_are_deterministic_and_bound_to_key_and_parent() {
        let a = RefreshSecret::successor_of(&[1; 32], b"parent");
        let b = RefreshSecret::successor_of(&[1; 32], b"parent");
        let c = RefreshSecret::successor_of(&[2; 32], b"parent");
        let d = RefreshSecret::successor_of(&[1; 32], b"other");
        assert_eq!(a.encode(), b.encode());
        assert_ne!(a.encode(), c.encode());
        assert_ne!(a.encode(), d.encode());
    }

    #[test]
    fn only_well_formed_tokens_parse() {
        let secret = RefreshSecret::generate().unwrap();
        let text = secret.encode();
        assert_eq!(text.len(), ENCODED_LEN);
        assert_eq!(RefreshSecret::parse(&text).unwrap().hash(), secret.hash());
        assert!(RefreshSecret::parse("").is_none());
        assert!(RefreshSecret::parse(&format!("{text}x")).is_none());
        assert!(RefreshSecret::parse(&"!".repeat(ENCODED_LEN)).is_none());
    }
}
