//! The account page: who I am, and a live view of the access token the page holds.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::events::EventRow;
use super::guard::PageUser;
use super::{Layout, PageError, format, render};
use crate::auth::AuthService;
use crate::routes::blocking;
use crate::routes::page;

/// How many events "Recent activity" shows.
const RECENT_ACTIVITY: i64 = 10;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page("/").get(account));
}

#[derive(Template)]
#[template(path = "account/index.html")]
struct AccountPage {
    layout: Layout,
    username: String,
    role: String,
    created: String,
    access_ttl: String,
    is_admin: bool,
    activity: Vec<EventRow>,
}

async fn account(user: PageUser, auth: web::Data<AuthService>) -> Result<HttpResponse, PageError> {
    let ttl = Duration::from_secs(auth.config().tokens.access_ttl_seconds as u64);
    let now = auth.clock().now();
    let user_id = user.user().id.clone();
    let activity = blocking(move || auth.recent_activity(user_id.as_str(), RECENT_ACTIVITY))
        .await?
        .into_iter()
        .map(|view| EventRow::new(view, now))
        .collect();
    let page = AccountPage {
        layout: user.layout(),
        username: user.user().username.clone(),
        role: user.user().role.to_string(),
        created: format::date(user.user().created_at),
        access_ttl: humantime::format_duration(ttl).to_string(),
        is_admin: user.user().is_admin(),
        activity,
    };
    Ok(render(StatusCode::OK, &page))
}
