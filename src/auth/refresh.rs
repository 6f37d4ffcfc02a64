//! Refresh tokens: opaque 256-bit secrets, stored only as SHA-256 hashes, rotated on every use.
//!
//! A successor's secret is HMAC-SHA-256(server-derived key, parent's hash). It is never stored,
//! yet can be derived again, so concurrent refreshes with the same token inside the grace window
//! all receive the one successor instead of branching the family.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::audit::{AuditEvent, EventKind, Outcome as EventOutcome};
use super::error::AuthError;
use super::refresh_paths::RotationRequest;
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
        let mut mac: Hmac<Sha256> = super::keyed_hmac(key);
        mac.update(b"refresh successor v1:");
        mac.update(parent_hash);
        RefreshSecret(mac.finalize().into_bytes().into())
    }
}

/// What presenting the predecessor of an unused successor again means.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    strum::EnumIter,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[strum(serialize_all = "kebab-case")]
pub enum RefreshRetry {
    /// It gets that same successor for as long as the session lives: the client most likely
    /// never received the answer that carried it (a closed tab, a dropped connection).
    #[default]
    SameSuccessor,
    /// Only inside the reuse grace window; later it counts as reuse (the session is revoked).
    Strict,
}

/// What to do with a presented refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// Unused token of a live session: mark it used and issue its successor.
    Rotate,
    /// Used before, and its successor is still unused: hand out that same successor (no new
    /// branch). Reuse is then detected one step later, if two parties both use the successor.
    ReissueSuccessor,
    /// Used before: someone replays a token. Revoke the whole session.
    Reuse,
    /// The session is over (revoked, idle or past its absolute end).
    Refuse,
}

/// The rotation rules, free of storage. `successor_unused` is `None` when the token has no
/// successor (it was never exchanged, or the family was cut).
///
/// - An unused token rotates.
/// - Inside the grace window, a used token whose successor is unused gets that successor
///   (concurrent tabs, retries).
/// - After it, the same holds with `SameSuccessor` (a lost answer), but only once per token: a
///   token that was itself handed out by such a late retry (`retried_at`) has been given to two
///   parties, so its second use is reuse.
/// - A token whose successor was used (two generations old) is always reuse.
pub fn decide(
    token: &RefreshToken,
    session: &Session,
    successor_unused: Option<bool>,
    now: i64,
    lifetimes: &Lifetimes,
    retry: RefreshRetry,
) -> Rotation {
    if !is_live(session, now, lifetimes) {
        return Rotation::Refuse;
    }
    let Some(used_at) = token.used_at else {
        return Rotation::Rotate;
    };
    let in_grace = now - used_at <= lifetimes.reuse_grace;
    let late_retry_allowed = retry == RefreshRetry::SameSuccessor && token.retried_at.is_none();
    if successor_unused == Some(true) && (in_grace || late_retry_allowed) {
        Rotation::ReissueSuccessor
    } else {
        Rotation::Reuse
    }
}

/// What a rotation transaction decided; reuse is committed (the session revoked) before it
/// becomes an error.
#[allow(
    clippy::large_enum_variant,
    reason = "one value per request, returned once: boxing buys nothing"
)]
pub(super) enum Outcome {
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
    /// The cookie flow's refresh. The browser may send several cookies of the refresh cookie's
    /// name (without secure cookies, another site on the same host can plant one with a
    /// narrower `Path`, which browsers send first). With a page session, only a token of that
    /// page session's own session is used; without one, more than one candidate is refused.
    pub fn refresh_cookie(
        &self,
        candidates: &[String],
        page_session: Option<&str>,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AuthError> {
        const MAX_CANDIDATES: usize = 8;
        let chosen = match (page_session, candidates) {
            (_, []) => None,
            (None, [only]) => Some(only),
            (None, _) => None,
            (Some(session_id), candidates) => {
                let mut conn = self.db.conn()?;
                let mut own = None;
                for candidate in candidates.iter().take(MAX_CANDIDATES) {
                    let Some(secret) = RefreshSecret::parse(candidate) else {
                        continue;
                    };
                    let token = db::refresh_tokens::find_by_hash(&mut conn, &secret.hash())?;
                    if token.is_some_and(|token| token.session_id == session_id) {
                        own = Some(candidate);
                        break;
                    }
                }
                own
            }
        };
        self.refresh(chosen.ok_or(AuthError::InvalidRefreshToken)?, client)
    }

    pub(super) fn rotate_in_transaction(
        &self,
        conn: &mut Conn,
        request: &RotationRequest,
    ) -> Result<Outcome, AuthError> {
        let RotationRequest { hash, now, client } = request;
        let (hash, now) = (hash, *now);
        let (token, session, user) = db::refresh_tokens::find_for_rotation(conn, hash)?
            .filter(|(_, _, user)| user.disabled_at.is_none())
            .ok_or(AuthError::InvalidRefreshToken)?;
        let successor = match token.used_at {
            Some(_) => db::refresh_tokens::find_child(conn, token.id)?,
            None => None,
        };
        let successor_unused = successor.as_ref().map(|s| s.used_at.is_none());
        let successor_id = successor.as_ref().map(|s| s.id);
        let secret = RefreshSecret::successor_of(&self.refresh_key, hash);

        let rotation = decide(
            &token,
            &session,
            successor_unused,
            now,
            &self.config.lifetimes,
            self.config.refresh_retry,
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
                let in_grace = token
                    .used_at
                    .is_some_and(|used| now - used <= self.config.lifetimes.reuse_grace);
                let detail = if in_grace {
                    "same successor, grace window"
                } else {
                    // Now held by two parties if this is not the client that lost the answer:
                    // the successor's own second use will be reuse.
                    if let Some(id) = successor_id {
                        db::refresh_tokens::mark_retried(conn, id, now)?;
                    }
                    "same successor, earlier answer lost"
                };
                db::sessions::touch(conn, &session.id, now, client.ip.as_deref())?;
                let reissued = event(EventKind::Refreshed, EventOutcome::Success);
                self.audit_in(conn, reissued.detail(detail), client, now)?;
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
#[path = "refresh_tests.rs"]
mod tests;
