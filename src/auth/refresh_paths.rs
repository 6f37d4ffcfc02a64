//! How a refresh reaches the database. SQLite: rotations that arrive together share one write
//! transaction (`db::group_commit`), and a task awaits its answer without holding a thread.
//! PostgreSQL: the common rotation is one statement (`db::fast_rotation`), anything else the
//! general transaction with the token's row locked. Both end in `rotate_in_transaction`'s
//! rules or an exact equivalent of its `Rotate` case.

use super::audit::{AuditEvent, EventKind, Outcome as EventOutcome, event_row};
use super::error::AuthError;
use super::refresh::{Outcome, RefreshSecret};
use super::sessions::ClientInfo;
use super::{AuthService, IssuedTokens};
use crate::db;
use crate::db::group_commit::GroupCommit;

/// A rotation waiting for its write transaction.
pub(super) struct RotationRequest {
    pub(super) hash: [u8; 32],
    pub(super) now: i64,
    pub(super) client: ClientInfo,
}

pub(super) type RotationQueue = GroupCommit<RotationRequest, Outcome, AuthError>;

/// A rotation waiting in the group commit (see `AuthService::queue_refresh`).
pub struct QueuedRefresh {
    /// Nobody is applying the queue: `AuthService::lead_rotations` must run.
    pub lead: bool,
    answer: tokio::sync::oneshot::Receiver<Result<Outcome, AuthError>>,
    now: i64,
}

impl AuthService {
    /// Exchanges a refresh token for a new access token and the token's successor. Blocks.
    pub fn refresh(&self, presented: &str, client: &ClientInfo) -> Result<IssuedTokens, AuthError> {
        let request = self.rotation_request(presented, client)?;
        if let Some(issued) = self.rotate_unused_at_once(&request)? {
            return Ok(issued);
        }
        let now = request.now;
        // Rotations are the busiest writes: those that arrive together share one commit.
        let outcome = self.rotations.write(&self.db, request, |conn, request| {
            self.rotate_in_transaction(conn, request)
        })?;
        self.tokens_for(outcome, now)
    }

    /// SQLite: queues the rotation for the next group commit without blocking, for a task
    /// that awaits `finish_refresh`; when the answer says `lead`, `lead_rotations` must run
    /// on a blocking thread. `None` on PostgreSQL: call `refresh` on a blocking thread.
    pub fn queue_refresh(
        &self,
        presented: &str,
        client: &ClientInfo,
    ) -> Result<Option<QueuedRefresh>, AuthError> {
        if !self.db.is_sqlite() {
            return Ok(None);
        }
        let request = self.rotation_request(presented, client)?;
        let now = request.now;
        let queued = self.rotations.enqueue_for_task(request);
        Ok(Some(QueuedRefresh {
            lead: queued.lead,
            answer: queued.answer,
            now,
        }))
    }

    /// Applies queued rotations until none is left. Blocks.
    pub fn lead_rotations(&self) {
        self.rotations.lead(&self.db, &|conn, request| {
            self.rotate_in_transaction(conn, request)
        });
    }

    /// The tokens for a queued rotation, once its group has committed. Signs them (tens of
    /// microseconds of CPU, no I/O).
    pub async fn finish_refresh(&self, queued: QueuedRefresh) -> Result<IssuedTokens, AuthError> {
        let outcome = queued.answer.await.unwrap_or_else(|_| {
            Err(AuthError::from(db::DbError::Unavailable(
                "the refresh was not applied; try again".into(),
            )))
        })?;
        self.tokens_for(outcome, queued.now)
    }

    fn rotation_request(
        &self,
        presented: &str,
        client: &ClientInfo,
    ) -> Result<RotationRequest, AuthError> {
        let presented = RefreshSecret::parse(presented).ok_or(AuthError::InvalidRefreshToken)?;
        Ok(RotationRequest {
            hash: presented.hash(),
            now: self.clock.now(),
            client: client.clone(),
        })
    }

    fn tokens_for(&self, outcome: Outcome, now: i64) -> Result<IssuedTokens, AuthError> {
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

    /// PostgreSQL: the common case (an unused token of a live session) in one statement;
    /// `None` when that was not the case and nothing was written, or on SQLite.
    fn rotate_unused_at_once(
        &self,
        request: &RotationRequest,
    ) -> Result<Option<IssuedTokens>, AuthError> {
        if self.db.is_sqlite() {
            return Ok(None);
        }
        let secret = RefreshSecret::successor_of(&self.refresh_key, &request.hash);
        let event = AuditEvent::new(EventKind::Refreshed, EventOutcome::Success);
        let rotation = db::fast_rotation::UnusedRotation {
            hash: &request.hash,
            successor_hash: &secret.hash(),
            at: self.config.lifetimes.live_at(request.now),
            ip: request.client.ip.as_deref(),
            event: event_row(&event, &request.client, request.now),
        };
        let rotated = db::fast_rotation::rotate_unused(&mut *self.db.conn()?, &rotation)?;
        let Some((session, user)) = rotated else {
            return Ok(None);
        };
        self.note_recorded(&event.user(&user.id).session(&session.id), &request.client);
        self.issue(&user, &session, &secret, request.now).map(Some)
    }
}
