//! The second step of a sign-in: `POST /api/auth/login` answered 401 `mfa_required` with an
//! `mfa_token`; this finishes it with a code.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::TokenBody;
use crate::auth::AuthService;
use crate::auth::factors::Proof;
use crate::auth::sessions::ClientInfo;
use crate::error::{ApiError, Problem};
use crate::routes::cookies::CookiePolicy;
use crate::routes::limits::{Limit, RateLimits};
use crate::routes::{blocking, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/auth/mfa").post(second_step));
}

/// Exactly one of `totp` and `recovery_code`.
#[derive(Deserialize, ToSchema)]
pub struct SecondStep {
    /// From the login's `mfa_required` answer.
    #[schema(example = "Yk3v8Qm1Zt0b6Lr2sVu4Hk7Pz5Ce0Ga9Wx2Bn4Dq3J")]
    mfa_token: String,
    /// The 6 digits the authenticator app shows now.
    #[schema(example = "123456", max_length = 16)]
    totp: Option<String>,
    /// An unused recovery code (case, spaces and dashes do not matter).
    #[schema(example = json!(null), max_length = 64)]
    recovery_code: Option<String>,
    /// As for login: put the refresh token in the HttpOnly cookie instead of the body.
    #[serde(default)]
    set_cookie: bool,
}

/// The code a second step or re-authentication was given, when it was given exactly one.
pub struct TypedCode {
    recovery: bool,
    code: String,
}

impl TypedCode {
    pub fn new(totp: Option<String>, recovery_code: Option<String>) -> Result<TypedCode, ApiError> {
        match (totp, recovery_code) {
            (Some(code), None) => Ok(TypedCode {
                recovery: false,
                code,
            }),
            (None, Some(code)) => Ok(TypedCode {
                recovery: true,
                code,
            }),
            _ => Err(ApiError::Unprocessable(
                "Send exactly one of totp (the 6 digits of your authenticator app) and \
                 recovery_code."
                    .into(),
            )),
        }
    }

    pub fn proof(&self) -> Proof<'_> {
        match self.recovery {
            true => Proof::RecoveryCode(&self.code),
            false => Proof::Totp(&self.code),
        }
    }
}

/// Finish a sign-in with a second factor; answers like a login.
#[utoipa::path(post, path = "/api/auth/mfa", tag = "auth", request_body = SecondStep,
    responses(
        (status = 200, description = "Signed in", body = TokenBody),
        (status = 401, description = "Wrong or used code (`invalid_second_factor`), or an expired or used `mfa_token` (`mfa_token_invalid`)", body = Problem),
        (status = 422, description = "Neither or both of totp and recovery_code", body = Problem),
        (status = 429, description = "Too many wrong codes for this account, or too many attempts from this address", body = Problem),
    ))]
pub async fn second_step(
    auth: web::Data<AuthService>,
    cookies: web::Data<CookiePolicy>,
    limits: web::Data<RateLimits>,
    body: web::Json<SecondStep>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    limits.check(Limit::Login, client.ip.as_deref())?;
    let SecondStep {
        mfa_token,
        totp,
        recovery_code,
        set_cookie,
    } = body.into_inner();
    let code = TypedCode::new(totp, recovery_code)?;
    let tokens = blocking(move || auth.complete_sign_in(&mfa_token, code.proof(), &client)).await?;
    Ok(TokenBody::respond(tokens, set_cookie, &cookies))
}
