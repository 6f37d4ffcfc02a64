//! The caller's own sessions. Every handler first checks that the caller's session is live.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::{RevokedBody, SessionBody};
use crate::auth::AuthService;
use crate::auth::sessions::ClientInfo;
use crate::error::{ApiError, Problem};
use crate::routes::extractors::Bearer;
use crate::routes::{blocking, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/sessions").get(list).delete(revoke_others))
        .service(resource("/api/sessions/{id}").delete(revoke_one));
}

#[derive(Serialize, ToSchema)]
pub struct MySession {
    #[serde(flatten)]
    session: SessionBody,
    /// True for the session of the token making the request.
    current: bool,
}

/// The caller's live sessions, the current one marked.
#[utoipa::path(get, path = "/api/sessions", tag = "sessions", security(("bearer" = [])),
    responses(
        (status = 200, description = "Live sessions, most recently used first", body = Vec<MySession>),
        (status = 401, description = "Invalid token or ended session", body = Problem),
    ))]
pub async fn list(
    auth: web::Data<AuthService>,
    Bearer(claims): Bearer,
) -> Result<HttpResponse, ApiError> {
    let lifetimes = auth.config().lifetimes;
    let sessions = blocking(move || {
        auth.live_session(&claims.sid)?;
        auth.my_sessions(&claims.sub, &claims.sid)
    })
    .await?;
    let body: Vec<MySession> = sessions
        .into_iter()
        .map(|view| MySession {
            session: SessionBody::new(view.session, &lifetimes),
            current: view.current,
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// End one of the caller's own live sessions.
#[utoipa::path(delete, path = "/api/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "Invalid token or ended session", body = Problem),
        (status = 404, description = "Not one of the caller's live sessions", body = Problem),
    ))]
pub async fn revoke_one(
    auth: web::Data<AuthService>,
    Bearer(claims): Bearer,
    path: web::Path<String>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let target = path.into_inner();
    blocking(move || {
        auth.live_session(&claims.sid)?;
        auth.revoke_my_session(&claims.sub, &target, &client)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sign out every other device: end all the caller's sessions but the current one.
#[utoipa::path(delete, path = "/api/sessions", tag = "sessions", security(("bearer" = [])),
    responses(
        (status = 200, description = "How many ended", body = RevokedBody),
        (status = 401, description = "Invalid token or ended session", body = Problem),
    ))]
pub async fn revoke_others(
    auth: web::Data<AuthService>,
    Bearer(claims): Bearer,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let revoked = blocking(move || {
        auth.live_session(&claims.sid)?;
        auth.revoke_my_other_sessions(&claims.sub, &claims.sid, &client)
    })
    .await?;
    Ok(HttpResponse::Ok().json(RevokedBody { revoked }))
}
