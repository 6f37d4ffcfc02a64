//! Admin routes: every handler takes an `AdminSession` (a live session of a user whose stored
//! role is admin), and the domain's admin operations take the `Admin` it carries.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{PageBody, Paging, RevokedBody, SessionBody, rfc3339};
use crate::auth::AuthService;
use crate::auth::accounts::Change;
use crate::auth::sessions::ClientInfo;
use crate::auth::types::{Role, SessionId, UserId};
use crate::error::{ApiError, Problem};
use crate::routes::caller::AdminSession;
use crate::routes::extractors::QueryAfterAuth;
use crate::routes::{blocking, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/admin/users").get(users))
        .service(resource("/api/admin/users/{id}/sessions").delete(revoke_user_sessions))
        .service(resource("/api/admin/users/{id}/disable").post(disable_user))
        .service(resource("/api/admin/users/{id}/enable").post(enable_user))
        .service(resource("/api/admin/users/{id}/reset-factors").post(reset_factors))
        .service(resource("/api/admin/throttles").get(throttles))
        .service(resource("/api/admin/throttles/{username}").delete(clear_throttle))
        .service(resource("/api/admin/sessions").get(sessions))
        .service(resource("/api/admin/sessions/{id}").delete(revoke_session));
}

#[derive(Serialize, ToSchema)]
pub struct UserBody {
    #[schema(example = "1b4e28ba-2fa1-4d2b-883f-0016d3cca427")]
    id: String,
    #[schema(example = "alice")]
    username: String,
    role: Role,
    #[schema(example = "2026-11-22T09:15:00Z")]
    created_at: String,
    #[schema(example = 2)]
    live_sessions: i64,
    disabled: bool,
    #[schema(example = "alice@example.com")]
    email: Option<String>,
    email_verified: bool,
    /// An authenticator app is set up (sign-in asks for its code).
    totp: bool,
    /// At least one passkey is registered.
    passkeys: bool,
}

#[derive(Serialize, ToSchema)]
pub struct AdminSessionBody {
    #[serde(flatten)]
    session: SessionBody,
    user_id: String,
    username: String,
}

/// `?user_id=...&page=...&per_page=...` (no `serde(flatten)`: it breaks numbers in query strings).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionFilter {
    /// Only this user's sessions. (No NUL: no address may contain one.)
    #[param(pattern = r"^[^\x00]*$")]
    user_id: Option<String>,
    #[param(minimum = 1, maximum = 2147483647)]
    #[serde(default, deserialize_with = "super::page_number")]
    page: Option<i32>,
    #[param(minimum = 1, maximum = 200)]
    #[serde(default, deserialize_with = "super::rows_per_page")]
    per_page: Option<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct UserStateBody {
    id: String,
    disabled: bool,
    /// False when the user already was in that state (nothing was done or recorded).
    changed: bool,
    /// Sessions ended by disabling (absent when enabling).
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_sessions: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct ThrottleBody {
    /// The account's username; null for a name no account has (what was typed is not kept).
    #[schema(example = "alice")]
    username: Option<String>,
    /// `untrusted`: attempts from clients that never signed in to the account; `device`: one
    /// trusted device, which counts its failures separately; `second_factor`: wrong codes at
    /// the account's second step.
    #[schema(example = "untrusted")]
    scope: &'static str,
    #[schema(example = 7)]
    failures: i32,
    #[schema(example = "2026-11-22T10:05:04Z")]
    locked_until: String,
    /// Whether sign-ins are refused right now.
    locked: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ThrottlesBody {
    items: Vec<ThrottleBody>,
}

/// Every user with their number of live sessions, oldest first.
#[utoipa::path(get, path = "/api/admin/users", tag = "admin", security(("bearer" = [])),
    params(Paging),
    responses(
        (status = 200, description = "One page of users", body = PageBody<UserBody>),
        (status = 401, description = "Invalid token or ended session", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
    ))]
pub async fn users(
    auth: web::Data<AuthService>,
    AdminSession { admin, .. }: AdminSession,
    paging: QueryAfterAuth<Paging>,
) -> Result<HttpResponse, ApiError> {
    let paging = paging.checked()?;
    let (limit, offset) = paging.limit_offset();
    let page = blocking(move || auth.list_users(&admin, None, limit, offset)).await?;
    Ok(
        HttpResponse::Ok().json(PageBody::new(page, &paging, |summary| UserBody {
            disabled: summary.user.disabled_at.is_some(),
            email_verified: summary.user.email_verified,
            email: summary.user.email.clone(),
            created_at: rfc3339(summary.user.created_at),
            id: summary.user.id.to_string(),
            username: summary.user.username,
            role: summary.user.role,
            live_sessions: summary.live_sessions,
            totp: summary.totp,
            passkeys: summary.passkeys,
        })),
    )
}

/// Every live session (or one user's), newest sign-in first.
#[utoipa::path(get, path = "/api/admin/sessions", tag = "admin", security(("bearer" = [])),
    params(SessionFilter),
    responses(
        (status = 200, description = "One page of live sessions", body = PageBody<AdminSessionBody>),
        (status = 401, description = "Invalid token or ended session", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
    ))]
pub async fn sessions(
    auth: web::Data<AuthService>,
    AdminSession { admin, .. }: AdminSession,
    filter: QueryAfterAuth<SessionFilter>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter.checked()?;
    let paging = Paging {
        page: filter.page,
        per_page: filter.per_page,
    };
    let (limit, offset) = paging.limit_offset();
    let lifetimes = auth.config().lifetimes;
    let user_id = filter.user_id.clone().map(UserId::from);
    let page =
        blocking(move || auth.list_live_sessions(&admin, user_id.as_ref(), limit, offset)).await?;
    Ok(
        HttpResponse::Ok().json(PageBody::new(page, &paging, |(session, username)| {
            AdminSessionBody {
                user_id: session.user_id.to_string(),
                session: SessionBody::new(session, &lifetimes),
                username,
            }
        })),
    )
}

/// End any live session.
#[utoipa::path(delete, path = "/api/admin/sessions/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such live session", body = Problem),
    ))]
pub async fn revoke_session(
    auth: web::Data<AuthService>,
    AdminSession { admin, .. }: AdminSession,
    client: ClientInfo,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let target = SessionId::from(path.into_inner());
    blocking(move || auth.admin_revoke_session(&admin, &target, &client)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// End every live session of a user.
#[utoipa::path(delete, path = "/api/admin/users/{id}/sessions", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "How many ended", body = RevokedBody),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such user", body = Problem),
    ))]
pub async fn revoke_user_sessions(
    auth: web::Data<AuthService>,
    AdminSession { admin, .. }: AdminSession,
    client: ClientInfo,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user_id = UserId::from(path.into_inner());
    let revoked =
        blocking(move || auth.admin_revoke_user_sessions(&admin, &user_id, &client)).await?;
    Ok(HttpResponse::Ok().json(RevokedBody { revoked }))
}

#[derive(Serialize, ToSchema)]
pub struct FactorsResetBody {
    /// Whether an authenticator app was removed.
    had_totp: bool,
    /// How many passkeys were removed.
    #[schema(example = 1)]
    passkeys: usize,
    #[schema(example = 2)]
    revoked: usize,
}

/// Remove every second factor of a user (authenticator app, recovery codes) for someone who
/// lost them; their sessions end and they sign in with the password alone.
#[utoipa::path(post, path = "/api/admin/users/{id}/reset-factors", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Reset", body = FactorsResetBody),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such user", body = Problem),
    ))]
pub async fn reset_factors(
    auth: web::Data<AuthService>,
    AdminSession { admin, .. }: AdminSession,
    client: ClientInfo,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user_id = UserId::from(path.into_inner());
    let reset = blocking(move || auth.reset_factors(&admin, &user_id, &client)).await?;
    Ok(HttpResponse::Ok().json(FactorsResetBody {
        had_totp: reset.had_totp,
        passkeys: reset.passkeys,
        revoked: reset.sessions_ended,
    }))
}

/// Ends every session of the user and refuses their sign-ins (with the generic 401) until
/// enabled again.
#[utoipa::path(post, path = "/api/admin/users/{id}/disable", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Disabled", body = UserStateBody),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such user", body = Problem),
        (status = 409, description = "Admins cannot disable themselves; and the last enabled admin is not disabled", body = Problem),
    ))]
pub async fn disable_user(
    auth: web::Data<AuthService>,
    AdminSession { admin, .. }: AdminSession,
    client: ClientInfo,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user_id = path.into_inner();
    let id = UserId::from(user_id.as_str());
    let outcome = blocking(move || auth.disable_user(&admin, &id, false, &client)).await?;
    Ok(HttpResponse::Ok().json(UserStateBody {
        id: user_id,
        disabled: true,
        changed: outcome != Change::Already,
        revoked_sessions: Some(match outcome {
            Change::Done(revoked) => revoked,
            Change::Already => 0,
        }),
    }))
}

/// Lets a disabled user sign in again.
#[utoipa::path(post, path = "/api/admin/users/{id}/enable", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Enabled", body = UserStateBody),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such user", body = Problem),
    ))]
pub async fn enable_user(
    auth: web::Data<AuthService>,
    AdminSession { admin, .. }: AdminSession,
    client: ClientInfo,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user_id = path.into_inner();
    let id = UserId::from(user_id.as_str());
    let outcome = blocking(move || auth.enable_user(&admin, &id, &client)).await?;
    Ok(HttpResponse::Ok().json(UserStateBody {
        id: user_id,
        disabled: false,
        changed: outcome != Change::Already,
        revoked_sessions: None,
    }))
}

/// Accounts (and unknown usernames) with at least 5 failed sign-ins in a row, newest first.
#[utoipa::path(get, path = "/api/admin/throttles", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, description = "Throttled usernames (at most 200)", body = ThrottlesBody),
        (status = 403, description = "Not an admin", body = Problem),
    ))]
pub async fn throttles(
    auth: web::Data<AuthService>,
    AdminSession { admin, .. }: AdminSession,
) -> Result<HttpResponse, ApiError> {
    let now = auth.clock().now();
    let rows = blocking(move || auth.throttled_accounts(&admin, 200)).await?;
    let items = rows
        .into_iter()
        .map(|t| ThrottleBody {
            locked: t.locked_until > now,
            locked_until: rfc3339(t.locked_until),
            username: t.username,
            scope: t.scope.as_str(),
            failures: t.failures,
        })
        .collect();
    Ok(HttpResponse::Ok().json(ThrottlesBody { items }))
}

/// Lift the sign-in throttle of a username.
#[utoipa::path(delete, path = "/api/admin/throttles/{username}", tag = "admin", security(("bearer" = [])),
    params(("username" = String, Path, description = "The throttled username")),
    responses(
        (status = 204, description = "Cleared"),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "That username has no failures on record", body = Problem),
    ))]
pub async fn clear_throttle(
    auth: web::Data<AuthService>,
    AdminSession { admin, .. }: AdminSession,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let username = path.into_inner();
    blocking(move || auth.clear_throttle(&admin, &username)).await?;
    Ok(HttpResponse::NoContent().finish())
}
