use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AuthService;
use crate::auth::sessions::ClientInfo;
use crate::error::{ApiError, Problem};
use crate::routes::caller::LiveSession;
use crate::routes::limits::{Limit, RateLimits};
use crate::routes::{blocking, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/me/password").post(change));
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    #[schema(example = "correct horse battery staple")]
    current_password: String,
    /// The same rules as at registration, and not the current password.
    #[schema(example = "a brand new passphrase for 2027", max_length = 256)]
    new_password: String,
    /// The `device_token` from this client's sign-in: wrong guesses then count on this device's
    /// own counter, as at sign-in.
    #[schema(example = json!(null))]
    device_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PasswordChanged {
    /// How many other sessions were ended.
    #[schema(example = 1)]
    revoked_sessions: usize,
}

/// Needs the current password, and with a second factor also a recent sign-in or
/// re-authentication; every other session of the user ends at once.
#[utoipa::path(post, path = "/api/me/password", tag = "me", security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 200, description = "Changed; every other session ended", body = PasswordChanged),
        (status = 401, description = "Invalid token or ended session", body = Problem),
        (status = 403, description = "The account has a second factor and the sign-in is not recent: re-authenticate first (`POST /api/me/reauthenticate`)", body = Problem),
        (status = 422, description = "Wrong current password, or a weak or unchanged new one", body = Problem),
        (status = 429, description = "Too many wrong current passwords (the sign-in throttle), or too many attempts from this address; see Retry-After", body = Problem),
    ))]
pub async fn change(
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    LiveSession { caller, .. }: LiveSession,
    body: web::Json<PasswordChange>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    // Checking the current password is a sign-in attempt: the same per-address limit.
    limits.check(Limit::Login, client.ip.as_deref())?;
    let PasswordChange {
        current_password,
        new_password,
        device_token,
    } = body.into_inner();
    let revoked = blocking(move || {
        auth.change_password(
            &caller,
            &current_password,
            &new_password,
            device_token.as_deref(),
            &client,
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(PasswordChanged {
        revoked_sessions: revoked,
    }))
}
