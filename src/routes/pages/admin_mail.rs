//! Admin pages for mail: the outbox (what was sent, what waits, what failed and why), and a
//! reset link made for a user who cannot receive mail.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::guard::AdminPage;
use super::pager::{PER_PAGE, Pager, page_and_offset};
use super::{Csrf, Layout, NoFields, PageError, format, render};
use crate::auth::AuthService;
use crate::auth::mail::OUTBOX_STATUSES;
use crate::auth::sessions::ClientInfo;
use crate::auth::types::UserId;
use crate::routes::blocking;
use crate::routes::page;
use crate::wording::count;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page("/admin/mail").get(outbox)).service(
        page("/admin/users/{id}/reset-link")
            .post(reset_link)
            .get_goes_to("/admin/users"),
    );
}

pub struct MailRow {
    pub kind: &'static str,
    pub recipient: String,
    pub status: String,
    pub attempts: i32,
    pub created: String,
    pub created_iso: String,
    /// The last error, or when a pending mail is tried next.
    pub note: String,
}

pub struct StatusOption {
    pub name: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "admin/mail.html")]
struct OutboxPage {
    layout: Layout,
    mails: Vec<MailRow>,
    total: i64,
    statuses: Vec<StatusOption>,
    pager: Pager,
}

#[derive(Template)]
#[template(path = "admin/reset_link.html")]
struct ResetLinkPage {
    layout: Layout,
    link: String,
    lifetime: String,
}

#[derive(Deserialize)]
struct OutboxQuery {
    page: Option<i64>,
    status: Option<String>,
}

fn kind_words(kind: &str) -> &'static str {
    match kind {
        "password_reset" => "Password reset link",
        "email_verification" => "Address confirmation",
        "password_changed" => "Password changed notice",
        "email_changed" => "Address changed notice",
        _ => "Other",
    }
}

async fn outbox(
    AdminPage { admin, user: me }: AdminPage,
    auth: web::Data<AuthService>,
    query: web::Query<OutboxQuery>,
) -> Result<HttpResponse, PageError> {
    let (page, offset) = page_and_offset(query.page);
    let status = query
        .status
        .as_deref()
        .and_then(|asked| OUTBOX_STATUSES.iter().find(|s| **s == asked))
        .copied();
    let now = auth.clock().now();
    let listing = blocking(move || auth.outbox(&admin, status, PER_PAGE, offset)).await?;
    let mails = listing
        .items
        .into_iter()
        .map(|mail| MailRow {
            kind: kind_words(&mail.kind),
            note: match (&mail.last_error, mail.next_attempt_at) {
                (Some(error), Some(next)) => {
                    format!("{error} (next try {})", format::relative_time(next, now))
                }
                (Some(error), None) => error.clone(),
                (None, _) if mail.status == "held" => {
                    "Not sent: no SMTP server is configured (LATCHKEY_SMTP_URL).".into()
                }
                (None, _) => String::new(),
            },
            created: format::date_time(mail.created_at),
            created_iso: crate::routes::api::rfc3339(mail.created_at),
            recipient: mail.recipient,
            status: mail.status,
            attempts: mail.attempts,
        })
        .collect();
    let extra: Vec<(&str, &str)> = status.iter().map(|s| ("status", *s)).collect();
    Ok(render(
        StatusCode::OK,
        &OutboxPage {
            layout: me.layout(),
            mails,
            total: listing.total,
            statuses: OUTBOX_STATUSES
                .iter()
                .map(|name| StatusOption {
                    name,
                    selected: status == Some(*name),
                })
                .collect(),
            pager: Pager::new("/admin/mail", &extra, page, listing.total),
        },
    ))
}

/// Shows a one-time reset link for the user (nothing is mailed), once.
async fn reset_link(
    AdminPage { admin, user: me }: AdminPage,
    auth: web::Data<AuthService>,
    path: web::Path<String>,
    Csrf(_): Csrf<NoFields>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let user_id = UserId::from(path.into_inner());
    let minutes = auth.config().mail.reset_ttl_seconds / 60;
    let link = blocking(move || auth.reset_link_by_admin(&admin, &user_id, &client))
        .await
        .map_err(|e| PageError::from(e).with_layout(me.layout()))?;
    Ok(render(
        StatusCode::OK,
        &ResetLinkPage {
            layout: me.layout(),
            link,
            lifetime: count(minutes as u64, "minute"),
        },
    ))
}
