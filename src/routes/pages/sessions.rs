//! "Where you're signed in": my live sessions, revoke one, sign out all other devices.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::guard::PageUser;
use super::login::signed_out;
use super::{
    Confirmed, Layout, NoFields, PageError, format, links, page_session, render, see_other,
};
use crate::auth::sessions::ClientInfo;
use crate::auth::types::{SessionId, SessionInfo};
use crate::auth::{AuthError, AuthService};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::cookies::CookiePolicy;
use crate::routes::page;
use crate::wording::count;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page("/sessions").get(list))
        .service(
            page("/sessions/revoke-others")
                .post(revoke_others)
                .get_goes_to("/sessions")
                .confirm(
                    "Sign out every other device? Each of them has to sign in again.",
                    "Sign out other devices",
                ),
        )
        .service(
            page("/sessions/{id}/revoke")
                .post(revoke_one)
                .get_goes_to("/sessions")
                .confirm(
                    "Sign out this session? That device has to sign in again.",
                    "Sign out",
                ),
        );
}

/// A session as a row on a page.
pub struct SessionRow {
    pub id: String,
    pub username: String,
    pub device: String,
    pub ip: String,
    /// In UTC, saying so; `signed_in_iso` lets the page script show the viewer's own zone.
    pub signed_in: String,
    pub signed_in_iso: String,
    /// The first block of the id: two sessions of one kind of browser, signed in the same
    /// minute from the same address, still have buttons with different names.
    pub short_id: String,
    pub last_active: String,
    pub last_active_iso: String,
    pub current: bool,
    /// How it signed in ("password and a one-time code").
    pub signed_in_with: &'static str,
    /// Where this session's revoke button posts on the person's own page, and on the admin's.
    pub own_revoke_action: String,
    pub admin_revoke_action: String,
    /// The admin's list of this user's sessions.
    pub user_sessions_href: String,
}

impl SessionRow {
    pub fn new(session: SessionInfo, username: String, current: bool, now: i64) -> SessionRow {
        SessionRow {
            device: format::describe_device(session.user_agent.as_deref()),
            ip: session.ip.unwrap_or_else(|| "unknown address".into()),
            signed_in: format::date_time(session.created_at),
            signed_in_iso: crate::routes::api::rfc3339(session.created_at),
            short_id: format::short_id(session.id.as_str()),
            last_active: format::relative_time(session.last_used_at, now),
            last_active_iso: crate::routes::api::rfc3339(session.last_used_at),
            own_revoke_action: links::own_session_revoke(session.id.as_str()),
            admin_revoke_action: links::admin_session_revoke(session.id.as_str()),
            user_sessions_href: links::admin_sessions_of(session.user_id.as_str()),
            signed_in_with: crate::auth::factors::describe_amr(&session.amr),
            id: session.id.to_string(),
            username,
            current,
        }
    }
}

#[derive(Template)]
#[template(path = "account/sessions.html")]
struct SessionsPage {
    layout: Layout,
    sessions: Vec<SessionRow>,
}

async fn list(user: PageUser, auth: web::Data<AuthService>) -> Result<HttpResponse, PageError> {
    let caller = user.caller.clone();
    let now = auth.clock().now();
    let mut sessions = blocking(move || auth.my_sessions(&caller)).await?;
    // This device first, then the most recently active.
    sessions.sort_by_key(|view| !view.current);
    let rows = sessions
        .into_iter()
        .map(|view| {
            SessionRow::new(
                view.session,
                user.user().username.clone(),
                view.current,
                now,
            )
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &SessionsPage {
            layout: user.layout(),
            sessions: rows,
        },
    ))
}

async fn revoke_one(
    Confirmed { by: user, .. }: Confirmed<PageUser, NoFields>,
    auth: web::Data<AuthService>,
    cookies: web::Data<CookiePolicy>,
    path: web::Path<String>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let target = SessionId::from(path.into_inner());
    let is_current = target == user.session().id;
    let caller = user.caller.clone();
    match blocking(move || auth.revoke_my_session(&caller, &target, &client)).await {
        Ok(()) if is_current => Ok(signed_out(&user.page, &cookies)),
        Ok(()) => {
            page_session::flash(&user.page, "success", "Session revoked.");
            Ok(see_other("/sessions"))
        }
        Err(refused @ ApiError::Auth(AuthError::SessionNotFound)) => {
            page_session::flash(&user.page, "info", refused.description().message);
            Ok(see_other("/sessions"))
        }
        Err(other) => Err(other.into()),
    }
}

async fn revoke_others(
    Confirmed { by: user, .. }: Confirmed<PageUser, NoFields>,
    auth: web::Data<AuthService>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let caller = user.caller.clone();
    let revoked = blocking(move || auth.revoke_my_other_sessions(&caller, &client)).await?;
    let text = match revoked {
        0 => "There were no other devices to sign out.".to_owned(),
        n => format!("Signed out {}.", count(n as u64, "other device")),
    };
    page_session::flash(&user.page, "success", text);
    Ok(see_other("/sessions"))
}
