//! The audit trail on pages: the admin's event log, and "Recent activity" on the account page.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::guard::AdminPage;
use super::pager::{PER_PAGE, Pager, page_and_offset};
use super::{Layout, PageError, format, links, render};
use crate::auth::AuthService;
use crate::auth::audit::{EventKind, EventQuery, EventView};
use crate::routes::api::{parse_since, rfc3339};
use crate::routes::blocking;
use crate::routes::page;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page("/admin/events").get(events));
}

/// Whom an event is about. A deleted account or no account is shown in markup of its own (not
/// as text in the name's place), so no username can pass for one.
pub enum Who {
    Account {
        username: String,
        events_href: String,
    },
    Deleted {
        events_href: String,
        /// The first block of the account's id.
        short_id: String,
    },
    /// An unknown username (not recorded) or no account at all.
    Nobody,
}

impl Who {
    /// An account by its id and, while it exists, its username.
    fn of(username: Option<String>, id: Option<String>) -> Who {
        match (username, id) {
            (Some(username), Some(id)) => Who::Account {
                username,
                events_href: links::admin_events_of(&id),
            },
            (None, Some(id)) => Who::Deleted {
                events_href: links::admin_events_of(&id),
                short_id: format::short_id(&id),
            },
            (_, None) => Who::Nobody,
        }
    }
}

/// One event as a row on a page.
pub struct EventRow {
    pub what: String,
    pub event: &'static str,
    pub failed: bool,
    pub who: Who,
    /// The admin who acted on the account; `Nobody` when it was the account itself.
    pub actor: Who,
    pub session: String,
    pub device: String,
    pub ip: String,
    pub when: String,
    pub when_iso: String,
    pub exact: String,
}

impl EventRow {
    pub fn new(view: EventView, now: i64) -> EventRow {
        let event = view.event;
        let kind = EventKind::parse(&event.event);
        EventRow {
            what: describe(kind, &event.outcome, event.detail.as_deref()),
            event: kind.map_or("unknown", EventKind::as_str),
            failed: event.outcome != "success",
            who: Who::of(view.username, event.user_id),
            actor: Who::of(view.actor_username, event.actor_id),
            session: event
                .session_id
                .map(|id| format::short_id(&id))
                .unwrap_or_default(),
            device: format::describe_device(event.user_agent.as_deref()),
            ip: event.ip.unwrap_or_else(|| "-".into()),
            when: format::relative_time(event.occurred_at, now),
            when_iso: rfc3339(event.occurred_at),
            exact: format::date_time(event.occurred_at),
        }
    }
}

/// A sentence a person understands, from the stored event.
fn describe(kind: Option<EventKind>, outcome: &str, detail: Option<&str>) -> String {
    let what = match (kind, outcome) {
        (Some(EventKind::LoginSucceeded), _) => "Signed in",
        (Some(EventKind::LoginFailed), "denied") => "Sign-in refused",
        (Some(EventKind::LoginFailed), _) => "Failed sign-in",
        (Some(EventKind::LoginThrottled), _) => "Sign-in refused: too many failed attempts",
        (Some(EventKind::Registered), _) => "Account created",
        (Some(EventKind::Refreshed), "success") => "Session renewed",
        (Some(EventKind::Refreshed), _) => "Renewal refused",
        (Some(EventKind::RefreshReuseDetected), _) => "An old token was replayed",
        (Some(EventKind::LoggedOut), _) => "Signed out",
        (Some(EventKind::SessionRevoked), _) => "Session ended",
        (Some(EventKind::PasswordChanged), "success") => "Password changed",
        (Some(EventKind::PasswordChanged), _) => "Password change refused",
        (Some(EventKind::UserDisabled), _) => "Account disabled",
        (Some(EventKind::UserEnabled), _) => "Account enabled",
        (Some(EventKind::UserDeleted), _) => "Account deleted",
        (Some(EventKind::RoleChanged), _) => "Role changed",
        (Some(EventKind::AccessDenied), _) => "Access refused",
        (Some(EventKind::PasswordResetRequested), "success") => "Password reset link sent",
        (Some(EventKind::PasswordResetRequested), _) => "Password reset asked for, no link sent",
        (Some(EventKind::PasswordResetCompleted), _) => "Password reset",
        (Some(EventKind::EmailVerified), _) => "Email address confirmed",
        (Some(EventKind::EmailChanged), _) => "Email address changed",
        (Some(EventKind::SecondFactorAdded), _) => "Second factor added",
        (Some(EventKind::SecondFactorRemoved), _) => "Second factor removed",
        (Some(EventKind::SecondFactorUsed), _) => "Second factor used",
        (Some(EventKind::SecondFactorFailed), "denied") => "Second factor refused, too many tries",
        (Some(EventKind::SecondFactorFailed), _) => "Wrong second factor",
        (Some(EventKind::RecoveryCodeUsed), _) => "Recovery code used",
        (Some(EventKind::RecoveryCodesRegenerated), _) => "New recovery codes made",
        (Some(EventKind::SecondFactorsReset), _) => "Second factors reset",
        (Some(EventKind::Reauthenticated), "success") => "Identity confirmed again",
        (Some(EventKind::Reauthenticated), _) => "Identity confirmation failed",
        (None, _) => "Unknown event",
    };
    match detail {
        Some(detail) => format!("{what} ({detail})"),
        None => what.to_owned(),
    }
}

pub struct EventOption {
    pub name: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "admin/events.html")]
struct EventsPage {
    layout: Layout,
    rows: Vec<EventRow>,
    total: i64,
    user: String,
    since: String,
    event_options: Vec<EventOption>,
    exclude_options: Vec<EventOption>,
    show_routine: bool,
    pager: Pager,
}

#[derive(Deserialize)]
struct EventsQuery {
    page: Option<i64>,
    #[serde(default)]
    user: String,
    #[serde(default)]
    event: String,
    /// An event type to leave out.
    #[serde(default)]
    exclude: String,
    /// `show` lists the routine renewals too (hidden by default: there is one every few
    /// minutes per signed-in client).
    #[serde(default)]
    routine: String,
    #[serde(default)]
    since: String,
}

async fn events(
    AdminPage { admin, user: me }: AdminPage,
    auth: web::Data<AuthService>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, PageError> {
    let query = query.into_inner();
    let (page, offset) = page_and_offset(query.page);
    let filter = EventQuery {
        user: Some(query.user.trim().to_owned()).filter(|u| !u.is_empty()),
        event: Some(query.event.clone()).filter(|e| !e.is_empty()),
        exclude: Some(query.exclude.clone()).filter(|e| !e.is_empty()),
        hide_routine: query.routine != "show",
        since: match query.since.trim() {
            "" => None,
            since => Some(parse_since(since)?),
        },
    };
    let now = auth.clock().now();
    let listing = blocking(move || auth.events(&admin, &filter, PER_PAGE, offset)).await?;
    let rows = listing
        .items
        .into_iter()
        .map(|view| EventRow::new(view, now))
        .collect();
    let options = |chosen: &str| {
        EventKind::all()
            .map(|kind| EventOption {
                name: kind.as_str(),
                selected: kind.as_str() == chosen,
            })
            .collect()
    };
    let extra = [
        ("user", query.user.as_str()),
        ("event", query.event.as_str()),
        ("exclude", query.exclude.as_str()),
        ("routine", query.routine.as_str()),
        ("since", query.since.as_str()),
    ];
    let extra: Vec<(&str, &str)> = extra.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    Ok(render(
        StatusCode::OK,
        &EventsPage {
            layout: me.layout(),
            rows,
            total: listing.total,
            pager: Pager::new("/admin/events", &extra, page, listing.total),
            user: query.user,
            since: query.since,
            event_options: options(&query.event),
            exclude_options: options(&query.exclude),
            show_routine: query.routine == "show",
        },
    ))
}
