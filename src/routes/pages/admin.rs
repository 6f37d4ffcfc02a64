//! Admin pages: every user, every live session; revoke one session or all of a user's.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::guard::AdminPage;
use super::pager::{PER_PAGE, Pager, page_and_offset};
use super::sessions::SessionRow;
use super::{
    Confirmed, Csrf, Layout, PageError, format, links, local_next, page_session, render, see_other,
};
use crate::auth::accounts::Change;
use crate::auth::sessions::ClientInfo;
use crate::auth::throttle::Scope;
use crate::auth::types::{SessionId, UserId};
use crate::auth::{AuthError, AuthService};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::page;
use crate::wording::count;

/// How many users the session filter offers to pick from.
const FILTER_CHOICES: i64 = 500;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page("/admin/users").get(users))
        .service(
            page("/admin/users/{id}/disable")
                .post(disable_user)
                .get_goes_to("/admin/users")
                .confirm(
                    "Disable this account? Every session of it ends, and it cannot sign in until an admin enables it again.",
                    "Disable",
                ),
        )
        .service(
            page("/admin/users/{id}/enable")
                .post(enable_user)
                .get_goes_to("/admin/users"),
        )
        .service(page("/admin/throttles").get(throttles))
        .service(
            page("/admin/throttles/clear")
                .post(clear_throttle)
                .get_goes_to("/admin/throttles"),
        )
        .service(page("/admin/sessions").get(sessions))
        .service(
            page("/admin/sessions/{id}/revoke")
                .post(revoke_session)
                .get_goes_to("/admin/sessions")
                .confirm(
                    "End this session? Its device has to sign in again.",
                    "End session",
                ),
        )
        .service(
            page("/admin/users/{id}/revoke-sessions")
                .post(revoke_user_sessions)
                .get_goes_to("/admin/users")
                .confirm(
                    "Sign this user out everywhere? Every device of theirs has to sign in again.",
                    "Sign out everywhere",
                ),
        );
}

pub struct UserRow {
    pub sessions_href: String,
    pub revoke_sessions_action: String,
    /// Where the enable or disable button posts.
    pub toggle_action: String,
    pub reset_link_action: String,
    pub role_action: String,
    pub delete_action: String,
    pub reset_factors_action: String,
    /// An authenticator app is set up.
    pub totp: bool,
    pub passkeys: bool,
    /// The role the role button gives.
    pub other_role: &'static str,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub role: String,
    pub created: String,
    pub live_sessions: i64,
    pub disabled: bool,
    pub is_me: bool,
}

pub struct UserOption {
    pub id: String,
    pub username: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
    total: i64,
    pager: Pager,
    back: String,
    search: String,
}

#[derive(Template)]
#[template(path = "admin/sessions.html")]
struct SessionsPage {
    layout: Layout,
    sessions: Vec<SessionRow>,
    total: i64,
    user_options: Vec<UserOption>,
    /// "Sign this user out everywhere", when the list is filtered to one user.
    revoke_all_action: Option<String>,
    pager: Pager,
    back: String,
}

#[derive(Deserialize)]
struct ListQuery {
    page: Option<i64>,
    user_id: Option<String>,
    /// Users: a part of the username or address.
    q: Option<String>,
}

#[derive(Deserialize)]
struct RevokeForm {
    #[serde(default)]
    back: String,
}

fn current_path(request: &HttpRequest) -> String {
    request
        .uri()
        .path_and_query()
        .map_or("/admin/sessions".to_owned(), |p| p.as_str().to_owned())
}

async fn users(
    AdminPage { admin, user: me }: AdminPage,
    auth: web::Data<AuthService>,
    query: web::Query<ListQuery>,
    request: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (page, offset) = page_and_offset(query.page);
    let search = query.q.clone().unwrap_or_default();
    let wanted = search.clone();
    let listing =
        blocking(move || auth.list_users(&admin, Some(&wanted), PER_PAGE, offset)).await?;
    let users = listing
        .items
        .into_iter()
        .map(|summary| UserRow {
            disabled: summary.user.disabled_at.is_some(),
            is_me: summary.user.id == me.user().id,
            created: format::date(summary.user.created_at),
            sessions_href: links::admin_sessions_of(summary.user.id.as_str()),
            revoke_sessions_action: links::admin_user_action(
                summary.user.id.as_str(),
                "revoke-sessions",
            ),
            toggle_action: links::admin_user_action(
                summary.user.id.as_str(),
                if summary.user.disabled_at.is_some() {
                    "enable"
                } else {
                    "disable"
                },
            ),
            reset_link_action: links::admin_user_action(summary.user.id.as_str(), "reset-link"),
            role_action: links::admin_user_action(summary.user.id.as_str(), "role"),
            delete_action: links::admin_user_action(summary.user.id.as_str(), "delete"),
            reset_factors_action: links::admin_user_action(
                summary.user.id.as_str(),
                "reset-factors",
            ),
            totp: summary.totp,
            passkeys: summary.passkeys,
            other_role: if summary.user.is_admin() {
                "user"
            } else {
                "admin"
            },
            email: summary.user.email.clone(),
            email_verified: summary.user.email_verified,
            username: summary.user.username,
            role: summary.user.role.to_string(),
            live_sessions: summary.live_sessions,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &UsersPage {
            layout: me.layout(),
            users,
            total: listing.total,
            pager: Pager::new(
                "/admin/users",
                &[("q", search.as_str())][..usize::from(!search.is_empty())],
                page,
                listing.total,
            ),
            back: current_path(&request),
            search,
        },
    ))
}

async fn sessions(
    AdminPage { admin, user: me }: AdminPage,
    auth: web::Data<AuthService>,
    query: web::Query<ListQuery>,
    request: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (page, offset) = page_and_offset(query.page);
    let filter = query.user_id.clone().filter(|id| !id.is_empty());
    if filter.as_deref().is_some_and(|id| !links::is_id(id)) {
        return Err(PageError::bad_request(
            "user_id must be a user id; pick the user from the list.",
        )
        .with_layout(me.layout()));
    }
    let now = auth.clock().now();
    let wanted = filter.clone().map(UserId::from);
    let (listing, users) = blocking(move || {
        let listing = auth.list_live_sessions(&admin, wanted.as_ref(), PER_PAGE, offset)?;
        let users = auth.list_users(&admin, None, FILTER_CHOICES, 0)?;
        Ok((listing, users))
    })
    .await?;
    let current = me.session().id.clone();
    let rows = listing
        .items
        .into_iter()
        .map(|(session, username)| {
            let is_current = session.id == current;
            SessionRow::new(session, username, is_current, now)
        })
        .collect();
    let user_options = users
        .items
        .into_iter()
        .map(|summary| UserOption {
            selected: filter.as_deref() == Some(summary.user.id.as_str()),
            id: summary.user.id.to_string(),
            username: summary.user.username,
        })
        .collect();
    let extra: Vec<(&str, &str)> = filter.iter().map(|id| ("user_id", id.as_str())).collect();
    Ok(render(
        StatusCode::OK,
        &SessionsPage {
            layout: me.layout(),
            sessions: rows,
            total: listing.total,
            user_options,
            pager: Pager::new("/admin/sessions", &extra, page, listing.total),
            revoke_all_action: filter
                .as_deref()
                .map(|id| links::admin_user_action(id, "revoke-sessions")),
            back: current_path(&request),
        },
    ))
}

async fn revoke_session(
    auth: web::Data<AuthService>,
    path: web::Path<String>,
    Confirmed {
        by: AdminPage { admin, user: me },
        fields: form,
    }: Confirmed<AdminPage, RevokeForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let target = SessionId::from(path.into_inner());
    let outcome = blocking(move || auth.admin_revoke_session(&admin, &target, &client)).await;
    flash_outcome(&me.page, outcome, |()| "Session revoked.".into())?;
    Ok(see_other(&back_to(&form.back)))
}

async fn revoke_user_sessions(
    auth: web::Data<AuthService>,
    path: web::Path<String>,
    Confirmed {
        by: AdminPage { admin, user: me },
        fields: form,
    }: Confirmed<AdminPage, RevokeForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let user_id = UserId::from(path.into_inner());
    let outcome =
        blocking(move || auth.admin_revoke_user_sessions(&admin, &user_id, &client)).await;
    flash_outcome(&me.page, outcome, |n| {
        format!("Revoked {}.", count(n as u64, "session"))
    })?;
    Ok(see_other(&back_to(&form.back)))
}

async fn disable_user(
    auth: web::Data<AuthService>,
    path: web::Path<String>,
    Confirmed {
        by: AdminPage { admin, user: me },
        fields: form,
    }: Confirmed<AdminPage, RevokeForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let user_id = UserId::from(path.into_inner());
    let outcome = blocking(move || auth.disable_user(&admin, &user_id, false, &client)).await;
    flash_outcome(&me.page, outcome, |change| match change {
        Change::Done(n) => {
            format!(
                "User disabled; {} ended. They cannot sign in until enabled.",
                count(n as u64, "session")
            )
        }
        Change::Already => "That user was already disabled.".into(),
    })?;
    Ok(see_other(&back_to(&form.back)))
}

async fn enable_user(
    AdminPage { admin, user: me }: AdminPage,
    auth: web::Data<AuthService>,
    path: web::Path<String>,
    Csrf(form): Csrf<RevokeForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let user_id = UserId::from(path.into_inner());
    let outcome = blocking(move || auth.enable_user(&admin, &user_id, &client)).await;
    flash_outcome(&me.page, outcome, |change| match change {
        Change::Done(()) => "User enabled; they can sign in again.".into(),
        Change::Already => "That user was already enabled.".into(),
    })?;
    Ok(see_other(&back_to(&form.back)))
}

pub struct ThrottleRow {
    pub key: String,
    pub username: Option<String>,
    pub trusted_device: bool,
    pub failures: i32,
    pub locked: bool,
    pub locked_until: String,
    pub locked_until_iso: String,
}

#[derive(Template)]
#[template(path = "admin/throttles.html")]
struct ThrottlesPage {
    layout: Layout,
    rows: Vec<ThrottleRow>,
}

async fn throttles(
    AdminPage { admin, user: me }: AdminPage,
    auth: web::Data<AuthService>,
) -> Result<HttpResponse, PageError> {
    let now = auth.clock().now();
    let throttles = blocking(move || auth.throttled_accounts(&admin, 200)).await?;
    let rows = throttles
        .into_iter()
        .map(|t| ThrottleRow {
            trusted_device: t.scope == Scope::Device,
            key: t.key,
            username: t.username,
            failures: t.failures,
            locked: t.locked_until > now,
            locked_until: format::date_time(t.locked_until),
            locked_until_iso: crate::routes::api::rfc3339(t.locked_until),
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &ThrottlesPage {
            layout: me.layout(),
            rows,
        },
    ))
}

#[derive(Deserialize)]
struct ClearThrottleForm {
    key: String,
}

async fn clear_throttle(
    AdminPage { admin, user: me }: AdminPage,
    auth: web::Data<AuthService>,
    Csrf(form): Csrf<ClearThrottleForm>,
) -> Result<HttpResponse, PageError> {
    let outcome = blocking(move || auth.clear_throttle_by_key(&admin, &form.key)).await;
    flash_outcome(&me.page, outcome, |()| "Cleared the throttle.".into())?;
    Ok(see_other("/admin/throttles"))
}

/// Shows how an admin action went as a flash message: success, or a refusal the admin can act
/// on (already ended, no such user...). Only our own failures become an error page.
pub(super) fn flash_outcome<T>(
    page: &actix_session::Session,
    outcome: Result<T, ApiError>,
    success: impl FnOnce(T) -> String,
) -> Result<(), PageError> {
    let (kind, text) = match outcome {
        Ok(value) => ("success", success(value)),
        // Someone else got there first: nothing left to do.
        Err(refused @ ApiError::Auth(AuthError::SessionNotFound | AuthError::NotThrottled)) => {
            ("info", refused.description().message)
        }
        Err(refused) if refused.is_client_error() => ("error", refused.description().message),
        Err(other) => return Err(other.into()),
    };
    page_session::flash(page, kind, text);
    Ok(())
}

/// Back to the admin page the form was on (a local path only).
pub(super) fn back_to(back: &str) -> String {
    match local_next(Some(back)) {
        path if path.starts_with("/admin/") => path,
        _ => "/admin/sessions".into(),
    }
}
