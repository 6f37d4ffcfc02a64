//! The account page (who I am, what happened lately) and, for developers, a page that calls the
//! API with the access token `latchkey.js` holds.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::events::EventRow;
use super::guard::PageUser;
use super::{Layout, PageError, format, render};
use crate::auth::AuthService;
use crate::routes::blocking;
use crate::routes::cookies::CookiePolicy;
use crate::routes::page;

/// How many events "Recent activity" shows.
const RECENT_ACTIVITY: i64 = 10;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page("/").get(account))
        .service(page("/developer").get(developer));
}

#[derive(Template)]
#[template(path = "account/index.html")]
struct AccountPage {
    layout: Layout,
    username: String,
    role: String,
    created: String,
    is_admin: bool,
    email: Option<String>,
    email_verified: bool,
    two_factor: bool,
    activity: Vec<EventRow>,
}

#[derive(Template)]
#[template(path = "account/developer.html")]
struct DeveloperPage {
    layout: Layout,
    access_ttl: String,
    /// Whether the refresh cookie is `Secure` (what the page says about it must be true).
    secure_cookie: bool,
}

async fn developer(
    user: PageUser,
    auth: web::Data<AuthService>,
    cookies: web::Data<CookiePolicy>,
) -> HttpResponse {
    let ttl = Duration::from_secs(auth.config().tokens.access_ttl_seconds as u64);
    let page = DeveloperPage {
        layout: user.layout(),
        access_ttl: humantime::format_duration(ttl).to_string(),
        secure_cookie: cookies.secure,
    };
    render(StatusCode::OK, &page)
}

async fn account(user: PageUser, auth: web::Data<AuthService>) -> Result<HttpResponse, PageError> {
    let now = auth.clock().now();
    let caller = user.caller.clone();
    let (activity, factors) = blocking(move || {
        let activity = auth.recent_activity(caller.user().id.as_str(), RECENT_ACTIVITY)?;
        Ok((activity, auth.my_factors(&caller)?))
    })
    .await?;
    let activity = activity
        .into_iter()
        .map(|view| EventRow::new(view, now))
        .collect();
    let page = AccountPage {
        layout: user.layout(),
        username: user.user().username.clone(),
        role: user.user().role.to_string(),
        created: format::date(user.user().created_at),
        is_admin: user.user().is_admin(),
        email: user.user().email.clone(),
        email_verified: user.user().email_verified,
        two_factor: factors.any(),
        activity,
    };
    Ok(render(StatusCode::OK, &page))
}
