use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AuthService;
use crate::auth::sessions::ClientInfo;
use crate::error::{ApiError, Problem};
use crate::routes::extractors::Bearer;
use crate::routes::{blocking, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/me/password").route(web::post().to(change)));
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    #[schema(example = "correct horse battery staple")]
    current_password: String,
    /// The same rules as at registration.
    #[schema(example = "a brand new passphrase for 2027")]
    new_password: String,
}

#[derive(Serialize, ToSchema)]
pub struct PasswordChanged {
    /// How many other sessions were ended.
    #[schema(example = 1)]
    revoked_sessions: usize,
}

/// Needs the current password; every other session of the user ends at once.
#[utoipa::path(post, path = "/api/me/password", tag = "me", security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 200, description = "Changed; every other session ended", body = PasswordChanged),
        (status = 401, description = "Invalid token or ended session", body = Problem),
        (status = 422, description = "Wrong current password or a weak new one", body = Problem),
    ))]
pub async fn change(
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
    Ok(HttpResponse::Ok().json(PasswordChanged {
        revoked_sessions: revoked,
    }))
}
