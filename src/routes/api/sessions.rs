//! The caller's own sessions. Every handler takes a `LiveSession`: the token's session is live now.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::{RevokedBody, SessionBody};
use crate::auth::AuthService;
use crate::auth::sessions::ClientInfo;
use crate::auth::types::SessionId;
use crate::error::{ApiError, Problem};
use crate::routes::caller::LiveSession;
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
    LiveSession { caller, .. }: LiveSession,
) -> Result<HttpResponse, ApiError> {
    let lifetimes = auth.config().lifetimes;
    let sessions = blocking(move || auth.my_sessions(&caller)).await?;
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
    LiveSession { caller, .. }: LiveSession,
    path: web::Path<String>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let target = SessionId::from(path.into_inner());
    blocking(move || auth.revoke_my_session(&caller, &target, &client)).await?;
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
    LiveSession { caller, .. }: LiveSession,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let revoked = blocking(move || auth.revoke_my_other_sessions(&caller, &client)).await?;
    Ok(HttpResponse::Ok().json(RevokedBody { revoked }))
}
