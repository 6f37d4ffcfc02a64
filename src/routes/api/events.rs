//! The audit trail: every event for admins, one's own for everyone.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{PageBody, Paging, parse_since, rfc3339};
use crate::auth::AuthService;
use crate::auth::audit::{EventKind, EventQuery, EventView, Outcome};
use crate::error::{ApiError, Problem};
use crate::routes::caller::{AdminSession, LiveSession};
use crate::routes::extractors::QueryAfterAuth;
use crate::routes::{blocking, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/admin/events").get(all_events))
        .service(resource("/api/me/events").get(my_events));
}

#[derive(Serialize, ToSchema)]
pub struct EventBody {
    #[schema(example = 4711)]
    id: i64,
    #[schema(example = "2026-11-22T10:02:41Z")]
    at: String,
    /// What happened (the names come from the server's own list of events).
    #[schema(value_type = EventKind, example = "login_failed")]
    event: String,
    #[schema(value_type = Outcome, example = "failure")]
    outcome: String,
    user_id: Option<String>,
    username: Option<String>,
    session_id: Option<String>,
    /// The admin who acted, when it was not the account holder.
    actor_id: Option<String>,
    /// That admin's username (absent once their account is deleted).
    actor_username: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    /// A fixed phrase chosen by the server, e.g. "wrong password" or "by admin".
    #[schema(example = "wrong password")]
    detail: Option<String>,
}

impl From<EventView> for EventBody {
    fn from(view: EventView) -> EventBody {
        let event = view.event;
        EventBody {
            id: event.id,
            at: rfc3339(event.occurred_at),
            event: event.event,
            outcome: event.outcome,
            user_id: event.user_id,
            username: view.username,
            session_id: event.session_id,
            actor_id: event.actor_id,
            actor_username: view.actor_username,
            ip: event.ip,
            user_agent: event.user_agent,
            detail: event.detail,
        }
    }
}

/// `?user=alice&event=login_failed&since=2026-11-01T00:00:00Z&page=1&per_page=50`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventFilter {
    /// A username or a user id. (No NUL: no address may contain one.)
    #[param(pattern = r"^[^\x00]*$")]
    user: Option<String>,
    /// One event name.
    #[param(value_type = Option<EventKind>)]
    event: Option<String>,
    /// Leave out this event type (e.g. `refreshed`, the routine renewals).
    #[param(value_type = Option<EventKind>)]
    exclude: Option<String>,
    /// Events at or after this instant: RFC 3339, a date (midnight UTC) or unix seconds.
    #[param(schema_with = since_schema)]
    since: Option<String>,
    #[param(minimum = 1, maximum = 2147483647)]
    #[serde(default, deserialize_with = "super::page_number")]
    page: Option<i32>,
    #[param(minimum = 1, maximum = 200)]
    #[serde(default, deserialize_with = "super::rows_per_page")]
    per_page: Option<i32>,
}

/// The audit trail, newest first.
#[utoipa::path(get, path = "/api/admin/events", tag = "admin", security(("bearer" = [])),
    params(EventFilter),
    responses(
        (status = 200, description = "One page of events", body = PageBody<EventBody>),
        (status = 400, description = "A `since` that is not a time", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 422, description = "An unknown event name (the answer lists them)", body = Problem),
    ))]
pub async fn all_events(
    auth: web::Data<AuthService>,
    AdminSession { admin, .. }: AdminSession,
    filter: QueryAfterAuth<EventFilter>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter.checked()?;
    let paging = Paging {
        page: filter.page,
        per_page: filter.per_page,
    };
    let query = EventQuery {
        user: filter.user.filter(|u| !u.is_empty()),
        // Unlike the page's form, the API has no empty fields: `event=` or `since=` is refused.
        event: filter.event,
        exclude: filter.exclude,
        // The API lists what happened, all of it; `exclude` leaves a type out.
        hide_routine: false,
        since: filter.since.as_deref().map(parse_since).transpose()?,
    };
    let (limit, offset) = paging.limit_offset();
    let page = blocking(move || auth.events(&admin, &query, limit, offset)).await?;
    Ok(HttpResponse::Ok().json(PageBody::new(page, &paging, EventBody::from)))
}

/// The caller's own audit events, newest first.
#[utoipa::path(get, path = "/api/me/events", tag = "me", security(("bearer" = [])),
    params(Paging),
    responses(
        (status = 200, description = "One page of events", body = PageBody<EventBody>),
        (status = 401, description = "Invalid token or ended session", body = Problem),
    ))]
pub async fn my_events(
    auth: web::Data<AuthService>,
    LiveSession { caller, .. }: LiveSession,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = paging.limit_offset();
    let page = blocking(move || auth.my_events(caller.user().id.as_str(), limit, offset)).await?;
    Ok(HttpResponse::Ok().json(PageBody::new(page, &paging, EventBody::from)))
}

/// The three spellings `parse_since` reads, as the document states them.
fn since_schema() -> utoipa::openapi::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
    let text = || ObjectBuilder::new().schema_type(Type::String);
    AnyOfBuilder::new()
        .item(text().format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))))
        .item(text().format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))))
        .item(text().pattern(Some(r"^[+-]?[0-9]{1,18}$")))
        .build()
        .into()
}
