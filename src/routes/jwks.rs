use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};

use super::resource;
use crate::auth::AuthService;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/.well-known/jwks.json").route(web::get().to(jwks)));
}

/// The public keys that verify access tokens. Cacheable for a few minutes: a service that meets
/// an unknown `kid` should fetch again rather than wait.
async fn jwks(auth: web::Data<AuthService>) -> HttpResponse {
    let ring = auth.key_ring();
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/jwk-set+json"))
        .insert_header((CACHE_CONTROL, "public, max-age=300"))
        .body(ring.jwks_json().to_owned())
}
