//! The mail outbox for admins: what was sent, what waits, what failed and why (never the links).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{PageBody, Paging, rfc3339};
use crate::auth::AuthService;
use crate::auth::mail::OUTBOX_STATUSES;
use crate::error::{ApiError, Problem};
use crate::routes::caller::AdminSession;
use crate::routes::extractors::QueryAfterAuth;
use crate::routes::{blocking, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/admin/outbox").get(outbox));
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Only mails with this status: `pending`, `sent`, `failed` or `held` (no SMTP server).
    #[param(pattern = "^(pending|sent|failed|held)$")]
    status: Option<String>,
    #[param(minimum = 1, maximum = 2147483647)]
    #[serde(default, deserialize_with = "super::page_number")]
    page: Option<i32>,
    #[param(minimum = 1, maximum = 200)]
    #[serde(default, deserialize_with = "super::rows_per_page")]
    per_page: Option<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct OutboxBody {
    #[schema(example = 42)]
    id: i64,
    /// `password_reset`, `email_verification`, `password_changed` or `email_changed`.
    #[schema(example = "password_reset")]
    kind: String,
    #[schema(example = "alice@example.com")]
    recipient: String,
    #[schema(example = "sent")]
    status: String,
    #[schema(example = 1)]
    attempts: i32,
    #[schema(example = "2026-12-02T09:15:00Z")]
    created_at: String,
    /// When a pending mail is tried next.
    next_attempt_at: Option<String>,
    last_attempt_at: Option<String>,
    sent_at: Option<String>,
    /// What the SMTP server (or the connection) said at the last attempt.
    #[schema(example = "permanent error (550): 5.1.1 no such mailbox")]
    last_error: Option<String>,
}

/// The mail outbox, newest first.
#[utoipa::path(get, path = "/api/admin/outbox", tag = "admin", security(("bearer" = [])),
    params(OutboxQuery),
    responses(
        (status = 200, description = "One page of mails", body = PageBody<OutboxBody>),
        (status = 401, description = "Invalid token or ended session", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
    ))]
pub async fn outbox(
    auth: web::Data<AuthService>,
    AdminSession { admin, .. }: AdminSession,
    query: QueryAfterAuth<OutboxQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.checked()?;
    let status = match query.status.as_deref() {
        Some(status) if !OUTBOX_STATUSES.contains(&status) => {
            return Err(ApiError::BadRequest(
                "status is one of pending, sent, failed or held.".into(),
            ));
        }
        status => status.map(str::to_owned),
    };
    let paging = Paging {
        page: query.page,
        per_page: query.per_page,
    };
    let (limit, offset) = paging.limit_offset();
    let page = blocking(move || auth.outbox(&admin, status.as_deref(), limit, offset)).await?;
    let at = |t: Option<i64>| t.map(rfc3339);
    Ok(
        HttpResponse::Ok().json(PageBody::new(page, &paging, |mail| OutboxBody {
            id: mail.id,
            kind: mail.kind,
            recipient: mail.recipient,
            status: mail.status,
            attempts: mail.attempts,
            created_at: rfc3339(mail.created_at),
            next_attempt_at: at(mail.next_attempt_at),
            last_attempt_at: at(mail.last_attempt_at),
            sent_at: at(mail.sent_at),
            last_error: mail.last_error,
        })),
    )
}
