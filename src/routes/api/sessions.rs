//! The caller's own sessions. Every handler first checks that the caller's session is live.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::json;

use super::SessionBody;
use crate::auth::AuthService;
use crate::auth::sessions::ClientInfo;
use crate::error::ApiError;
use crate::routes::extractors::Bearer;
use crate::routes::{blocking, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/sessions")
            .route(web::get().to(list))
            .route(web::delete().to(revoke_others)),
    )
    .service(resource("/sessions/{id}").route(web::delete().to(revoke_one)));
}

#[derive(Serialize)]
struct MySession {
    #[serde(flatten)]
    session: SessionBody,
    current: bool,
}

async fn list(
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

async fn revoke_one(
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

async fn revoke_others(
    auth: web::Data<AuthService>,
    Bearer(claims): Bearer,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let revoked = blocking(move || {
        auth.live_session(&claims.sid)?;
        auth.revoke_my_other_sessions(&claims.sub, &claims.sid, &client)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "revoked": revoked })))
}
