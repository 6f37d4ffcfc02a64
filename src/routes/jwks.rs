use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::resource;
use crate::auth::AuthService;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/.well-known/jwks.json").get(jwks));
}

/// One public key (RFC 8037 OKP key).
#[derive(Serialize, ToSchema)]
pub struct Jwk {
    #[schema(example = "OKP")]
    kty: String,
    #[schema(example = "Ed25519")]
    crv: String,
    #[schema(example = "EdDSA")]
    alg: String,
    #[schema(example = "sig")]
    r#use: String,
    /// The RFC 7638 thumbprint of the key; access tokens name it in their header.
    kid: String,
    /// The public key, base64url.
    x: String,
}

/// RFC 7517 JWK Set.
#[derive(Serialize, ToSchema)]
pub struct JwkSet {
    keys: Vec<Jwk>,
}

/// The public keys that verify access tokens. Cacheable for a few minutes (with an ETag for
/// cheap revalidation): a service that meets an unknown `kid` should fetch again rather than wait.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "tokens",
    responses(
        (status = 200, description = "The key set", body = JwkSet, content_type = "application/jwk-set+json"),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
    ))]
pub async fn jwks(auth: web::Data<AuthService>, request: HttpRequest) -> HttpResponse {
    let ring = auth.key_ring();
    let etag = ring.jwks_etag();
    let cached = request
        .headers()
        .get_all(IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == etag || tag.trim() == "*");
    let mut response = if cached {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((ETAG, etag.to_owned()))
        .insert_header((
            CACHE_CONTROL,
            format!("public, max-age={}", auth.config().jwks_max_age_seconds),
        ));
    if cached {
        return response.finish();
    }
    response
        .insert_header((CONTENT_TYPE, "application/jwk-set+json"))
        .body(ring.jwks_json().to_owned())
}
