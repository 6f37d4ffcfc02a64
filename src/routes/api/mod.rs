//! The JSON API under `/api`.

mod admin;
mod auth;
pub mod docs;
mod docs_answers;
mod events;
mod factors;
mod me;
mod mfa;
mod outbox;
mod passkeys;
mod password;
mod recovery;
mod sessions;

use actix_web::web;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

use crate::auth::sessions::{Lifetimes, Page};
use crate::auth::types::SessionInfo;

/// Every path is written out in full (`/api/...`), so what is registered is what is documented.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(auth::configure)
        .configure(me::configure)
        .configure(mfa::configure)
        .configure(factors::configure)
        .configure(passkeys::configure)
        .configure(password::configure)
        .configure(sessions::configure)
        .configure(docs::configure)
        .configure(events::configure)
        .configure(admin::configure)
        .configure(recovery::configure)
        .configure(outbox::configure);
}

/// How many sessions an action ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedBody {
    #[schema(example = 2)]
    pub revoked: usize,
}

/// Unix seconds as an RFC 3339 UTC timestamp.
pub fn rfc3339(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// An instant given as RFC 3339 (`2026-11-01T00:00:00Z`), a date (midnight UTC), or unix
/// seconds.
pub fn parse_since(text: &str) -> Result<i64, crate::error::ApiError> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    OffsetDateTime::parse(&full, &Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| {
            crate::error::ApiError::BadRequest(
                "since must be a time such as 2026-11-01T00:00:00Z, a date such as 2026-11-01, \
                 or unix seconds."
                    .into(),
            )
        })
}

/// A session as the API shows it. `expires_at` is when it ends if it is not used again: the
/// idle end, never later than the absolute end.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionBody {
    #[schema(example = "6f1c0a52-8a3e-4c3b-9d7e-2f5b1c9a0e11")]
    pub id: String,
    #[schema(example = "2026-11-22T09:15:00Z")]
    pub created_at: String,
    #[schema(example = "2026-11-22T10:02:41Z")]
    pub last_used_at: String,
    #[schema(example = "2026-11-29T10:02:41Z")]
    pub expires_at: String,
    #[schema(example = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")]
    pub user_agent: Option<String>,
    #[schema(example = "203.0.113.7")]
    pub ip: Option<String>,
    /// How it signed in: RFC 8176 method references (`pwd`; `pwd`, `otp`, `mfa`).
    #[schema(example = json!(["pwd", "otp", "mfa"]))]
    pub amr: Vec<String>,
}

impl SessionBody {
    pub fn new(session: SessionInfo, lifetimes: &Lifetimes) -> SessionBody {
        SessionBody {
            created_at: rfc3339(session.created_at),
            last_used_at: rfc3339(session.last_used_at),
            expires_at: rfc3339(lifetimes.ends_at(&session)),
            id: session.id.to_string(),
            user_agent: session.user_agent,
            ip: session.ip,
            amr: crate::auth::factors::amr_claim(&session.amr),
        }
    }
}

/// `?page=1&per_page=50`; pages start at 1, at most 200 rows a page. Both are 32-bit signed
/// integers, as the OpenAPI document says: a larger number is a 400, never an overflow.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// 1-based page number (default 1; a page past the end is empty).
    #[param(minimum = 1, maximum = 2147483647)]
    #[serde(default, deserialize_with = "page_number")]
    pub page: Option<i32>,
    /// Rows per page (default 50, at most 200).
    #[param(minimum = 1, maximum = 200)]
    #[serde(default, deserialize_with = "rows_per_page")]
    pub per_page: Option<i32>,
}

/// A number outside the documented range is refused (400), not quietly moved into it: the
/// client asked for something else than it would get.
pub(super) fn page_number<'de, D: serde::Deserializer<'de>>(
    from: D,
) -> Result<Option<i32>, D::Error> {
    in_range(from, 1, i32::MAX, "page numbers start at 1")
}

pub(super) fn rows_per_page<'de, D: serde::Deserializer<'de>>(
    from: D,
) -> Result<Option<i32>, D::Error> {
    in_range(from, 1, MAX_PER_PAGE, "per_page is 1 to 200")
}

fn in_range<'de, D: serde::Deserializer<'de>>(
    from: D,
    low: i32,
    high: i32,
    rule: &'static str,
) -> Result<Option<i32>, D::Error> {
    match Option::<i32>::deserialize(from)? {
        Some(number) if !(low..=high).contains(&number) => Err(serde::de::Error::custom(rule)),
        number => Ok(number),
    }
}

pub const DEFAULT_PER_PAGE: i32 = 50;
pub const MAX_PER_PAGE: i32 = 200;

impl Paging {
    pub fn page(&self) -> i32 {
        self.page.unwrap_or(1).max(1)
    }
    pub fn per_page(&self) -> i32 {
        self.per_page
            .unwrap_or(DEFAULT_PER_PAGE)
            .clamp(1, MAX_PER_PAGE)
    }
    pub fn limit_offset(&self) -> (i64, i64) {
        let per_page = i64::from(self.per_page());
        (per_page, (i64::from(self.page()) - 1) * per_page)
    }
}

/// One page of a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageBody<T> {
    pub items: Vec<T>,
    pub page: i32,
    pub per_page: i32,
    pub total: i64,
}

impl<T> PageBody<T> {
    pub fn new<S>(page: Page<S>, paging: &Paging, item: impl FnMut(S) -> T) -> PageBody<T> {
        PageBody {
            items: page.items.into_iter().map(item).collect(),
            page: paging.page(),
            per_page: paging.per_page(),
            total: page.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_takes_rfc3339_a_date_or_unix_seconds() {
        assert_eq!(parse_since("1700000000").unwrap(), 1_700_000_000);
        assert_eq!(parse_since("1970-01-01T00:01:00Z").unwrap(), 60);
        assert_eq!(
            parse_since("2026-11-01T01:00:00+01:00").unwrap(),
            1_793_491_200
        );
        assert_eq!(parse_since("2026-11-01").unwrap(), 1_793_491_200);
        assert!(parse_since("yesterday").is_err());
        assert!(parse_since("2026-13-01").is_err());
    }
}
