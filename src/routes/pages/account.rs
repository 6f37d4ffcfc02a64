//! The account page: who I am, and a live view of the access token the page holds.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::guard::PageUser;
use super::{Layout, format, render};
use crate::auth::AuthService;
use crate::auth::sessions::ROLE_ADMIN;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(account)));
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
}

async fn account(user: PageUser, auth: web::Data<AuthService>) -> HttpResponse {
    let ttl = Duration::from_secs(auth.config().tokens.access_ttl_seconds as u64);
    let page = AccountPage {
        layout: user.layout(),
        username: user.user.username.clone(),
        role: user.user.role.clone(),
        created: format::date(user.user.created_at),
        access_ttl: humantime::format_duration(ttl).to_string(),
        is_admin: user.user.role == ROLE_ADMIN,
    };
    render(StatusCode::OK, &page)
}
