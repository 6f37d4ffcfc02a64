use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AuthService;
use crate::auth::sessions::ClientInfo;
use crate::error::{ApiError, Problem};
use crate::routes::caller::LiveSession;
use crate::routes::extractors::Bearer;
use crate::routes::limits::{Limit, RateLimits};
use crate::routes::{blocking, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/me").get(me))
        .service(resource("/api/me/email").post(change_email));
}

#[derive(Deserialize, ToSchema)]
pub struct EmailChange {
    /// The new address; it takes effect once the link mailed to it is used.
    #[schema(example = "alice@new.example", max_length = 254)]
    email: String,
    #[schema(example = "correct horse battery staple")]
    current_password: String,
    /// The `device_token` from this client's sign-in (as for a password change).
    #[schema(example = json!(null))]
    device_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EmailChangeAsked {
    /// Where the confirmation link went.
    #[schema(example = "alice@new.example")]
    pending_email: String,
}

/// Change the account's address: needs the current password (and, with a second factor, a
/// recent sign-in or re-authentication); a link goes to the new address,
/// and the change takes effect (and the old address is told) once it is used.
#[utoipa::path(post, path = "/api/me/email", tag = "me", security(("bearer" = [])),
    request_body = EmailChange,
    responses(
        (status = 202, description = "A confirmation link is on its way to the new address", body = EmailChangeAsked),
        (status = 401, description = "Invalid token or ended session", body = Problem),
        (status = 403, description = "The account has a second factor and the sign-in is not recent: re-authenticate first (`POST /api/me/reauthenticate`)", body = Problem),
        (status = 422, description = "Wrong current password, or not an address", body = Problem),
        (status = 429, description = "Too many wrong current passwords, or too many attempts from this address", body = Problem),
    ))]
pub async fn change_email(
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    LiveSession { caller, .. }: LiveSession,
    body: web::Json<EmailChange>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    // Checking the current password is a sign-in attempt: the same per-address limit.
    limits.check(Limit::Login, client.ip.as_deref())?;
    let EmailChange {
        email,
        current_password,
        device_token,
    } = body.into_inner();
    let pending = blocking(move || {
        auth.change_email(
            &caller,
            &email,
            &current_password,
            device_token.as_deref(),
            &client,
        )
    })
    .await?;
    Ok(HttpResponse::Accepted().json(EmailChangeAsked {
        pending_email: pending,
    }))
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
