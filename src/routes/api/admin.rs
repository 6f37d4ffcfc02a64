//! Admin routes: every handler checks that the caller's session is live and that the user is an
//! admin now (the role is read from the database, not trusted from the token).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{PageBody, Paging, SessionBody, rfc3339};
use crate::auth::AuthService;
use crate::auth::sessions::ClientInfo;
use crate::error::ApiError;
use crate::routes::extractors::Bearer;
use crate::routes::{blocking, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/admin/users").route(web::get().to(users)))
        .service(
            resource("/admin/users/{id}/sessions").route(web::delete().to(revoke_user_sessions)),
        )
        .service(resource("/admin/users/{id}/disable").route(web::post().to(disable_user)))
        .service(resource("/admin/users/{id}/enable").route(web::post().to(enable_user)))
        .service(resource("/admin/throttles").route(web::get().to(throttles)))
        .service(resource("/admin/throttles/{username}").route(web::delete().to(clear_throttle)))
        .service(resource("/admin/sessions").route(web::get().to(sessions)))
        .service(resource("/admin/sessions/{id}").route(web::delete().to(revoke_session)));
}

#[derive(Serialize)]
struct UserBody {
    id: String,
    username: String,
    role: String,
    created_at: String,
    live_sessions: i64,
    disabled: bool,
}

#[derive(Serialize)]
struct AdminSessionBody {
    #[serde(flatten)]
    session: SessionBody,
    user_id: String,
    username: String,
}

/// `?user_id=...&page=...&per_page=...` (no `serde(flatten)`: it breaks numbers in query strings).
#[derive(Deserialize)]
struct SessionFilter {
    user_id: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

async fn users(
    auth: web::Data<AuthService>,
    Bearer(claims): Bearer,
    client: ClientInfo,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = paging.limit_offset();
    let page = blocking(move || {
        auth.live_admin_session(&claims.sid, &client)?;
        auth.list_users(limit, offset)
    })
    .await?;
    Ok(
        HttpResponse::Ok().json(PageBody::new(page, &paging, |summary| UserBody {
            disabled: summary.user.disabled_at.is_some(),
            created_at: rfc3339(summary.user.created_at),
            id: summary.user.id,
            username: summary.user.username,
            role: summary.user.role,
            live_sessions: summary.live_sessions,
        })),
    )
}

async fn sessions(
    auth: web::Data<AuthService>,
    Bearer(claims): Bearer,
    client: ClientInfo,
    filter: web::Query<SessionFilter>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter.into_inner();
    let paging = Paging {
        page: filter.page,
        per_page: filter.per_page,
    };
    let (limit, offset) = paging.limit_offset();
    let lifetimes = auth.config().lifetimes;
    let user_id = filter.user_id.clone();
    let page = blocking(move || {
        auth.live_admin_session(&claims.sid, &client)?;
        auth.list_live_sessions(user_id.as_deref(), limit, offset)
    })
    .await?;
    Ok(
        HttpResponse::Ok().json(PageBody::new(page, &paging, |(session, username)| {
            AdminSessionBody {
                user_id: session.user_id.clone(),
                session: SessionBody::new(session, &lifetimes),
                username,
            }
        })),
    )
}

async fn revoke_session(
    auth: web::Data<AuthService>,
    Bearer(claims): Bearer,
    client: ClientInfo,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let target = path.into_inner();
    blocking(move || {
        let (_, admin) = auth.live_admin_session(&claims.sid, &client)?;
        auth.admin_revoke_session(&target, &admin.id, &client)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn revoke_user_sessions(
    auth: web::Data<AuthService>,
    Bearer(claims): Bearer,
    client: ClientInfo,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user_id = path.into_inner();
    let revoked = blocking(move || {
        let (_, admin) = auth.live_admin_session(&claims.sid, &client)?;
        auth.admin_revoke_user_sessions(&user_id, &admin.id, &client)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "revoked": revoked })))
}

/// Ends every session of the user and refuses their sign-ins until enabled again.
async fn disable_user(
    auth: web::Data<AuthService>,
    Bearer(claims): Bearer,
    client: ClientInfo,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user_id = path.into_inner();
    let id = user_id.clone();
    let revoked = blocking(move || {
        let (_, admin) = auth.live_admin_session(&claims.sid, &client)?;
        auth.disable_user(&id, Some(&admin.id), &client)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "id": user_id, "disabled": true, "revoked_sessions": revoked })))
}

async fn enable_user(
    auth: web::Data<AuthService>,
    Bearer(claims): Bearer,
    client: ClientInfo,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user_id = path.into_inner();
    let id = user_id.clone();
    blocking(move || {
        let (_, admin) = auth.live_admin_session(&claims.sid, &client)?;
        auth.enable_user(&id, Some(&admin.id), &client)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "id": user_id, "disabled": false })))
}

/// Accounts (and unknown usernames) with at least 5 failed sign-ins in a row, newest first.
async fn throttles(
    auth: web::Data<AuthService>,
    Bearer(claims): Bearer,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let now = auth.clock().now();
    let rows = blocking(move || {
        auth.live_admin_session(&claims.sid, &client)?;
        auth.throttled_accounts(200)
    })
    .await?;
    let items: Vec<_> = rows
        .into_iter()
        .map(|t| {
            json!({
                "username": t.username_key,
                "failures": t.failures,
                "locked_until": rfc3339(t.locked_until),
                "locked": t.locked_until > now,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn clear_throttle(
    auth: web::Data<AuthService>,
    Bearer(claims): Bearer,
    client: ClientInfo,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let username = path.into_inner();
    blocking(move || {
        auth.live_admin_session(&claims.sid, &client)?;
        auth.clear_throttle(&username)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
