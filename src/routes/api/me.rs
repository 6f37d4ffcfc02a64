use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Problem;
use crate::routes::extractors::Bearer;
use crate::routes::resource;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/me").get(me));
}

#[derive(Serialize, ToSchema)]
pub struct MeBody {
    /// The user id (`sub`).
    #[schema(example = "1b4e28ba-2fa1-4d2b-883f-0016d3cca427")]
    id: String,
    #[schema(example = "alice")]
    username: String,
    /// `user` or `admin`.
    #[schema(example = "user")]
    role: String,
    /// The session the token belongs to (`sid`).
    #[schema(example = "6f1c0a52-8a3e-4c3b-9d7e-2f5b1c9a0e11")]
    session_id: String,
    /// The account's email address when the token was issued (null: none).
    #[schema(example = "alice@example.com")]
    email: Option<String>,
    /// Whether that address was verified when the token was issued. Tokens carry the state of
    /// their issue: a refresh brings a change made since.
    email_verified: bool,
}

/// Who the access token belongs to. Answered from the token alone, without the database (the
/// email fields are the token's `email` and `email_verified` claims).
#[utoipa::path(get, path = "/api/me", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "The token's user and session", body = MeBody),
        (status = 401, description = "Missing, invalid or expired token", body = Problem),
    ))]
pub async fn me(Bearer(claims): Bearer) -> HttpResponse {
    HttpResponse::Ok().json(MeBody {
        id: claims.sub,
        username: claims.name,
        role: claims.role,
        session_id: claims.sid,
        email: claims.email,
        email_verified: claims.email_verified,
    })
}
