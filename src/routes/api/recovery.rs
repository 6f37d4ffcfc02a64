//! Password reset and address verification for apps: the same rules as the pages.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Empty;
use crate::auth::AuthService;
use crate::auth::input::USERNAME_MAX_CHARS;
use crate::auth::sessions::ClientInfo;
use crate::error::{ApiError, Problem};
use crate::routes::limits::{Limit, RateLimits};
use crate::routes::{blocking, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/auth/password-reset").post(request_reset))
        .service(resource("/api/auth/password-reset/confirm").post(confirm_reset))
        .service(resource("/api/auth/verify-email").post(verify_email))
        .service(resource("/api/auth/verify-email/resend").post(resend_verification));
}

#[derive(Deserialize, ToSchema)]
pub struct ResetRequestBody {
    /// A username, or the account's verified email address.
    #[schema(example = "alice@example.com", min_length = 1, max_length = 254)]
    identifier: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ResetConfirmBody {
    /// The `token` parameter of the link in the reset mail.
    #[schema(
        example = "q3Jd9Xw0b6Yt2mNf8Lr1sVu4Hk7Pz5Ce0Ga9Wx2Bn4D",
        max_length = 64
    )]
    token: String,
    /// The new password: the same rules as at registration.
    #[schema(example = "a brand new passphrase", max_length = 256)]
    new_password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct VerifyBody {
    /// The `token` parameter of the link in the verification mail.
    #[schema(
        example = "q3Jd9Xw0b6Yt2mNf8Lr1sVu4Hk7Pz5Ce0Ga9Wx2Bn4D",
        max_length = 64
    )]
    token: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ResendBody {
    #[schema(example = "alice", min_length = 1, max_length = 64)]
    username: String,
}

#[derive(Serialize, ToSchema)]
pub struct VerifiedBody {
    #[schema(example = "alice")]
    username: String,
    #[schema(example = "alice@example.com")]
    email: Option<String>,
    email_verified: bool,
}

/// Longest identifier looked at (an email address has at most 254 characters).
const IDENTIFIER_MAX_CHARS: usize = 254;

/// Work that must not show in the answer's timing: done after the answer, on the blocking pool.
fn after_answer(work: impl FnOnce() -> Result<(), crate::auth::AuthError> + Send + 'static) {
    actix_web::rt::spawn(async move {
        if let Err(error) = blocking(work).await {
            tracing::warn!(%error, "could not finish a reset or verification request");
        }
    });
}

/// Mail a password-reset link. The answer is the same (202, same body, same time) whether or
/// not the identifier names an account with a verified address: the work happens after it.
#[utoipa::path(post, path = "/api/auth/password-reset", tag = "auth", request_body = ResetRequestBody,
    responses(
        (status = 202, description = "If an account has this username or verified address, a link is on its way", body = Empty),
        (status = 403, description = "This server cannot send mail (production without SMTP)", body = Problem),
        (status = 429, description = "Too many requests for this identifier or from this address", body = Problem),
    ))]
pub async fn request_reset(
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    body: web::Json<ResetRequestBody>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    if !auth.email_recovery_available() {
        return Err(crate::auth::AuthError::EmailRecoveryOff.into());
    }
    let identifier = body.into_inner().identifier;
    if identifier.trim().is_empty() || identifier.chars().count() > IDENTIFIER_MAX_CHARS {
        return Err(ApiError::Unprocessable(
            "Enter your username or email address (at most 254 characters).".into(),
        ));
    }
    limits.check(Limit::Recovery, client.ip.as_deref())?;
    limits.check_identifier("reset", &identifier)?;
    after_answer(move || auth.request_password_reset(&identifier, &client));
    Ok(HttpResponse::Accepted().json(Empty {}))
}

/// Set a new password with the token from a reset mail. Every session of the account ends.
#[utoipa::path(post, path = "/api/auth/password-reset/confirm", tag = "auth", request_body = ResetConfirmBody,
    responses(
        (status = 204, description = "The password is set; sign in with it"),
        (status = 400, description = "The link is invalid, expired, used, or void", body = Problem),
        (status = 422, description = "The new password breaks a rule", body = Problem),
        (status = 429, description = "Too many attempts with this token or from this address", body = Problem),
    ))]
pub async fn confirm_reset(
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    body: web::Json<ResetConfirmBody>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let ResetConfirmBody {
        token,
        new_password,
    } = body.into_inner();
    limits.check(Limit::Recovery, client.ip.as_deref())?;
    limits.check_token(&token)?;
    blocking(move || auth.confirm_password_reset(&token, &new_password, &client)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Confirm an email address with the token from a verification mail.
#[utoipa::path(post, path = "/api/auth/verify-email", tag = "auth", request_body = VerifyBody,
    responses(
        (status = 200, description = "The address is the account's, verified", body = VerifiedBody),
        (status = 400, description = "The link is invalid, expired or used", body = Problem),
        (status = 422, description = "Another account already uses the address", body = Problem),
        (status = 429, description = "Too many attempts from this address", body = Problem),
    ))]
pub async fn verify_email(
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    body: web::Json<VerifyBody>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let token = body.into_inner().token;
    limits.check(Limit::Recovery, client.ip.as_deref())?;
    limits.check_token(&token)?;
    let account = blocking(move || auth.verify_email(&token, &client)).await?;
    Ok(HttpResponse::Ok().json(VerifiedBody {
        username: account.username,
        email: account.email,
        email_verified: account.email_verified,
    }))
}

/// Mail a new verification link to the account's unverified address. The same answer whether
/// or not there is such an account or address.
#[utoipa::path(post, path = "/api/auth/verify-email/resend", tag = "auth", request_body = ResendBody,
    responses(
        (status = 202, description = "If the account has an unverified address, a new link is on its way", body = Empty),
        (status = 429, description = "Too many requests for this username or from this address", body = Problem),
    ))]
pub async fn resend_verification(
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    body: web::Json<ResendBody>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let username = body.into_inner().username;
    if username.trim().is_empty() || username.chars().count() > USERNAME_MAX_CHARS {
        return Err(ApiError::Unprocessable(
            "Enter your username (at most 64 characters).".into(),
        ));
    }
    limits.check(Limit::Recovery, client.ip.as_deref())?;
    limits.check_identifier("verify", &username)?;
    after_answer(move || auth.resend_verification(&username, &client));
    Ok(HttpResponse::Accepted().json(Empty {}))
}
