//! The audit trail: every sign-in, refresh, sign-out and account change is written to the
//! `auth_events` table and to the log, with the account, session and client it concerns.
//!
//! Nothing secret is recorded (no password, token or hash), and nothing the client typed except
//! its address and User-Agent: details are fixed phrases chosen here. Unknown usernames are not
//! recorded at all, because people type their password into the username field.

use std::sync::atomic::{AtomicU64, Ordering};

use strum::{EnumCount, IntoEnumIterator};

use super::access::Admin;
use super::error::AuthError;
use super::input::username_key;
use super::sessions::{ClientInfo, Page};
use super::{AuthService, error::FieldError};
use crate::db::events::EventFilter;
use crate::db::models::{AuthEventRow, NewAuthEvent};
use crate::db::{self, Conn, DbError};

/// What happened. The variants are the list: their names (snake_case) in the database, the
/// API documents, the filters and the metrics all come from this enum, so a new variant is
/// everywhere at once (and the page's `describe` match does not compile until it has a phrase).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    strum::EnumIter,
    strum::EnumCount,
    strum::IntoStaticStr,
    strum::EnumString,
    serde::Serialize,
    utoipa::ToSchema,
)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    LoginSucceeded,
    LoginFailed,
    LoginThrottled,
    Registered,
    Refreshed,
    RefreshReuseDetected,
    LoggedOut,
    SessionRevoked,
    PasswordChanged,
    UserDisabled,
    UserEnabled,
    UserDeleted,
    RoleChanged,
    AccessDenied,
    PasswordResetRequested,
    PasswordResetCompleted,
    EmailVerified,
    EmailChanged,
    SecondFactorAdded,
    SecondFactorRemoved,
    SecondFactorUsed,
    SecondFactorFailed,
    RecoveryCodeUsed,
    RecoveryCodesRegenerated,
    SecondFactorsReset,
    Reauthenticated,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub fn all() -> impl Iterator<Item = EventKind> {
        <EventKind as strum::IntoEnumIterator>::iter()
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(name: &str) -> Option<EventKind> {
        name.parse().ok()
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    strum::EnumIter,
    strum::EnumCount,
    strum::IntoStaticStr,
    serde::Serialize,
    utoipa::ToSchema,
)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One event about to be recorded. `detail` is `'static` on purpose: it can only be a phrase
/// written in this codebase, never text from a request.
#[derive(Debug, Clone, Copy)]
pub struct AuditEvent<'a> {
    pub kind: EventKind,
    pub outcome: Outcome,
    pub user_id: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub actor_id: Option<&'a str>,
    pub detail: Option<&'static str>,
}

impl<'a> AuditEvent<'a> {
    pub fn new(kind: EventKind, outcome: Outcome) -> AuditEvent<'a> {
        AuditEvent {
            kind,
            outcome,
            user_id: None,
            session_id: None,
            actor_id: None,
            detail: None,
        }
    }

    pub fn success(kind: EventKind) -> AuditEvent<'a> {
        AuditEvent::new(kind, Outcome::Success)
    }

    pub fn user(mut self, user_id: &'a str) -> Self {
        self.user_id = Some(user_id);
        self
    }

    pub fn session(mut self, session_id: &'a str) -> Self {
        self.session_id = Some(session_id);
        self
    }

    /// The admin who acted on someone else's account.
    pub fn actor(mut self, actor_id: Option<&'a str>) -> Self {
        self.actor_id = actor_id;
        self
    }

    pub fn detail(mut self, detail: &'static str) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// How many events of each kind and outcome this process recorded (for metrics).
#[derive(Debug)]
pub struct EventCounts([AtomicU64; EventKind::COUNT * Outcome::COUNT]);

impl Default for EventCounts {
    fn default() -> EventCounts {
        EventCounts(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

impl EventCounts {
    fn counter(&self, kind: EventKind, outcome: Outcome) -> &AtomicU64 {
        &self.0[kind as usize * Outcome::COUNT + outcome as usize]
    }

    fn add(&self, kind: EventKind, outcome: Outcome) {
        self.counter(kind, outcome).fetch_add(1, Ordering::Relaxed);
    }

    /// Every (kind, outcome) pair with its count, zeros included.
    pub fn snapshot(&self) -> Vec<(EventKind, Outcome, u64)> {
        EventKind::all()
            .flat_map(|kind| Outcome::iter().map(move |outcome| (kind, outcome)))
            .map(|(kind, outcome)| {
                (
                    kind,
                    outcome,
                    self.counter(kind, outcome).load(Ordering::Relaxed),
                )
            })
            .collect()
    }
}

/// A recorded event, with the username of its account when the account still exists.
#[derive(Debug, Clone)]
pub struct EventView {
    pub event: AuthEventRow,
    pub username: Option<String>,
    /// The admin who acted, when it was not the account itself (`None` too once deleted).
    pub actor_username: Option<String>,
}

/// A successful refresh: every signed-in client makes one every few minutes, so views meant for
/// people leave them out (failed and replayed refreshes always show).
fn routine_renewal() -> (&'static str, &'static str) {
    (EventKind::Refreshed.as_str(), Outcome::Success.as_str())
}

/// A listing request from an admin. `user` is a username or a user id.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub user: Option<String>,
    pub event: Option<String>,
    /// Leave out this event type.
    pub exclude: Option<String>,
    pub since: Option<i64>,
    /// Leave out the successful routine renewals (unless `event` asks for renewals).
    pub hide_routine: bool,
}

/// The stored form of an event.
pub(crate) fn event_row<'a>(
    event: &AuditEvent<'a>,
    client: &'a ClientInfo,
    now: i64,
) -> NewAuthEvent<'a> {
    NewAuthEvent {
        occurred_at: now,
        event: event.kind.as_str(),
        outcome: event.outcome.as_str(),
        user_id: event.user_id,
        session_id: event.session_id,
        actor_id: event.actor_id,
        ip: client.ip.as_deref(),
        user_agent: client.user_agent.as_deref(),
        detail: event.detail,
    }
}

impl AuthService {
    /// Records an event inside the caller's transaction, so it commits (or not) with the change
    /// it describes.
    pub(crate) fn audit_in(
        &self,
        conn: &mut Conn,
        event: AuditEvent<'_>,
        client: &ClientInfo,
        now: i64,
    ) -> Result<(), DbError> {
        self.note_recorded(&event, client);
        db::events::insert(conn, &event_row(&event, client, now))
    }

    /// Logs and counts an event whose row a statement of `db` wrote itself.
    pub(crate) fn note_recorded(&self, event: &AuditEvent<'_>, client: &ClientInfo) {
        log_event(event, client);
        self.event_counts.add(event.kind, event.outcome);
    }

    /// Records an event on its own.
    pub(crate) fn audit(
        &self,
        event: AuditEvent<'_>,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let now = self.clock.now();
        Ok(self.audit_in(&mut *self.db.conn()?, event, client, now)?)
    }

    /// Records one `session_revoked` event per revoked session of a user.
    pub(crate) fn audit_revocations(
        &self,
        conn: &mut Conn,
        revoked: &[String],
        event: AuditEvent<'_>,
        client: &ClientInfo,
        now: i64,
    ) -> Result<(), DbError> {
        for session_id in revoked {
            self.audit_in(conn, event.session(session_id), client, now)?;
        }
        Ok(())
    }

    /// Events for admins, newest first. An unknown event name is a field error naming the
    /// valid ones.
    pub fn events(
        &self,
        _: &Admin,
        query: &EventQuery,
        limit: i64,
        offset: i64,
    ) -> Result<Page<EventView>, AuthError> {
        let known = |name: &str| EventKind::parse(name).ok_or_else(|| unknown_event(name));
        let event = query.event.as_deref().map(known).transpose()?;
        let exclude_event = query.exclude.as_deref().map(known).transpose()?;
        let hide_routine = query.hide_routine && event != Some(EventKind::Refreshed);
        let mut conn = self.db.conn()?;
        let user_id = match query.user.as_deref() {
            Some(user) => Some(
                db::users::find_by_key(&mut conn, &username_key(user))?
                    .map_or_else(|| user.to_owned(), |found| found.id),
            ),
            None => None,
        };
        let filter = EventFilter {
            user_id,
            event: event.map(|kind| kind.as_str().to_owned()),
            since: query.since,
            exclude: hide_routine.then(routine_renewal),
            exclude_event: exclude_event.map(|kind| kind.as_str().to_owned()),
        };
        with_usernames(&mut conn, &filter, limit, offset)
    }

    /// A user's own events, newest first.
    pub fn my_events(
        &self,
        user_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Page<EventView>, AuthError> {
        let filter = EventFilter {
            user_id: Some(user_id.to_owned()),
            ..EventFilter::default()
        };
        with_usernames(&mut *self.db.conn()?, &filter, limit, offset)
    }

    /// What a person wants to see on their account page: the latest sign-ins, failures and
    /// account changes, without the routine token renewals every few minutes.
    pub fn recent_activity(&self, user_id: &str, limit: i64) -> Result<Vec<EventView>, AuthError> {
        let filter = EventFilter {
            user_id: Some(user_id.to_owned()),
            exclude: Some(routine_renewal()),
            ..EventFilter::default()
        };
        Ok(with_usernames(&mut *self.db.conn()?, &filter, limit, 0)?.items)
    }

    pub fn event_counts(&self) -> &EventCounts {
        &self.event_counts
    }

    pub(crate) fn prune_events(&self, now: i64) -> Result<usize, AuthError> {
        let before = now - self.config.audit_retention_seconds;
        Ok(db::events::delete_before(&mut *self.db.conn()?, before)?)
    }
}

/// Writes the event to the log. Debug formatting escapes quotes, newlines and control
/// characters, so a crafted User-Agent cannot forge log lines or colour a terminal.
fn log_event(event: &AuditEvent<'_>, client: &ClientInfo) {
    tracing::info!(
        target: "latchkey::audit",
        event = event.kind.as_str(),
        outcome = event.outcome.as_str(),
        user_id = event.user_id,
        session_id = event.session_id,
        actor_id = event.actor_id,
        detail = event.detail,
        ip = client.ip.as_deref(),
        user_agent = client.user_agent.as_deref().map(tracing::field::debug),
        "auth event"
    );
}

fn with_usernames(
    conn: &mut Conn,
    filter: &EventFilter,
    limit: i64,
    offset: i64,
) -> Result<Page<EventView>, AuthError> {
    let (rows, total) = db::events::page(conn, filter, limit, offset)?;
    let ids: Vec<&str> = rows
        .iter()
        .flat_map(|row| [row.user_id.as_deref(), row.actor_id.as_deref()])
        .flatten()
        .collect();
    let names = db::events::usernames(conn, &ids)?;
    let name_of = |id: &Option<String>| id.as_ref().and_then(|id| names.get(id).cloned());
    let items = rows
        .into_iter()
        .map(|event| EventView {
            username: name_of(&event.user_id),
            actor_username: name_of(&event.actor_id),
            event,
        })
        .collect();
    Ok(Page { items, total })
}

fn unknown_event(name: &str) -> AuthError {
    let known: Vec<&str> = EventKind::all().map(EventKind::as_str).collect();
    let shown: String = name.chars().filter(|c| !c.is_control()).take(40).collect();
    AuthError::Invalid(vec![FieldError::new(
        "event",
        format!(
            "Unknown event \"{shown}\"; use one of: {}.",
            known.join(", ")
        ),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_name_parses_back_to_its_kind() {
        for kind in EventKind::all() {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse("login"), None);
        assert_eq!(EventKind::parse("LOGIN_FAILED"), None);
    }
}

#[cfg(test)]
mod log_tests {
    use super::*;

    /// Collects what the log writes.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_crafted_user_agent_cannot_forge_a_log_line() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        // Built by hand to skip ClientInfo::new's filtering: the log must be safe on its own.
        let client = ClientInfo {
            ip: Some("192.0.2.1".into()),
            user_agent: Some("x\nINFO latchkey: admin signed in\r\u{1b}[31m\"".into()),
        };
        let event =
            AuditEvent::new(EventKind::LoginFailed, Outcome::Failure).detail("wrong password");
        tracing::subscriber::with_default(subscriber, || log_event(&event, &client));

        let output = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(output.lines().count(), 1, "{output}");
        assert!(
            !output.contains('\r') && !output.contains('\u{1b}'),
            "{output}"
        );
        assert!(output.contains("event=\"login_failed\""), "{output}");
        assert!(
            output.contains(r#"user_agent="x\nINFO latchkey: admin signed in\r\u{1b}[31m\"""#),
            "{output}"
        );
    }
}
