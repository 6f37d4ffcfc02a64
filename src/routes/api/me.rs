use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::routes::extractors::Bearer;
use crate::routes::resource;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/me").route(web::get().to(me)));
}

/// Who the access token belongs to. Answered from the token alone, without the database.
async fn me(Bearer(claims): Bearer) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "id": claims.sub,
        "username": claims.name,
        "role": claims.role,
        "session_id": claims.sid,
    }))
}
