use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::auth::AuthService;
use crate::auth::sessions::ClientInfo;
use crate::error::ApiError;
use crate::routes::extractors::Bearer;
use crate::routes::{blocking, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/me/password").route(web::post().to(change)));
}

#[derive(Deserialize)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Needs the current password; every other session of the user ends at once.
async fn change(
    auth: web::Data<AuthService>,
    Bearer(claims): Bearer,
    body: web::Json<PasswordChange>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let PasswordChange {
        current_password,
        new_password,
    } = body.into_inner();
    let revoked = blocking(move || {
        auth.live_session(&claims.sid)?;
        auth.change_password(
            &claims.sub,
            &claims.sid,
            &current_password,
            &new_password,
            &client,
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "revoked_sessions": revoked })))
}
