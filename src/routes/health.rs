//! Liveness and readiness, for load balancers and orchestrators.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::{blocking, resource};
use crate::auth::AuthService;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").get(healthz))
        .service(resource("/readyz").get(readyz));
}

#[derive(Serialize, ToSchema)]
pub struct StatusBody {
    /// `ok`, or `unavailable`.
    #[schema(example = "ok")]
    status: &'static str,
}

/// The process is up and answering (no database access).
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Up", body = StatusBody)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(StatusBody { status: "ok" })
}

/// Ready for traffic: the database answers and every migration is applied.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = StatusBody),
        (status = 503, description = "Database unreachable or migrations pending", body = StatusBody),
    ))]
pub async fn readyz(auth: web::Data<AuthService>) -> HttpResponse {
    let ready = blocking(move || Ok(auth.db().is_ready())).await;
    match ready {
        Ok(true) => HttpResponse::Ok().json(StatusBody { status: "ok" }),
        _ => HttpResponse::ServiceUnavailable().json(StatusBody {
            status: "unavailable",
        }),
    }
}
