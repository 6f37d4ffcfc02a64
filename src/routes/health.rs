use actix_web::{HttpResponse, web};
use serde_json::json;

use super::{blocking, resource};
use crate::auth::AuthService;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").route(web::get().to(healthz)));
}

/// 200 when the database answers and its schema is current; 503 otherwise.
async fn healthz(auth: web::Data<AuthService>) -> HttpResponse {
    let ready = blocking(move || Ok(auth.db().is_ready())).await;
    match ready {
        Ok(true) => HttpResponse::Ok().json(json!({ "status": "ok" })),
        _ => HttpResponse::ServiceUnavailable().json(json!({ "status": "unavailable" })),
    }
}
