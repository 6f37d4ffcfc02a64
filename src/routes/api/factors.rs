//! The caller's second factors: the authenticator app, recovery codes, and re-authentication
//! (what changing them needs when the sign-in is not recent).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::mfa::TypedCode;
use crate::auth::AuthService;
use crate::auth::factors::Reauthentication;
use crate::auth::sessions::ClientInfo;
use crate::error::{ApiError, Problem};
use crate::routes::caller::{FreshSession, LiveSession};
use crate::routes::limits::{Limit, RateLimits};
use crate::routes::{blocking, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/me/factors").get(factors))
        .service(
            resource("/api/me/totp")
                .post(begin_totp)
                .delete(remove_totp),
        )
        .service(resource("/api/me/totp/confirm").post(confirm_totp))
        .service(resource("/api/me/recovery-codes").post(new_recovery_codes))
        .service(resource("/api/me/reauthenticate").post(reauthenticate));
}

#[derive(Serialize, ToSchema)]
pub struct FactorsBody {
    /// An authenticator app is set up: sign-in asks for its code.
    totp: bool,
    /// A set-up waits for its first code (`POST /api/me/totp/confirm`).
    totp_pending: bool,
    #[schema(example = 10)]
    recovery_codes_left: i64,
    /// Registered passkeys.
    #[schema(example = 1)]
    passkeys: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TotpSetupBody {
    /// Base32, for typing into the app.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    secret: String,
    /// What the QR code holds; most apps open it directly.
    #[schema(
        example = "otpauth://totp/Latchkey:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Latchkey"
    )]
    otpauth_uri: String,
}

#[derive(Deserialize, ToSchema)]
pub struct TotpCode {
    /// The 6 digits the app shows now.
    #[schema(example = "123456", max_length = 16)]
    code: String,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodesBody {
    /// Shown this once: each signs in once when the app is not at hand.
    #[schema(example = json!(["abcd-efgh-ijkl", "mnop-qrst-uvwx"]))]
    recovery_codes: Vec<String>,
}

impl RecoveryCodesBody {
    fn new(recovery_codes: Vec<String>) -> RecoveryCodesBody {
        RecoveryCodesBody { recovery_codes }
    }
}

/// Exactly one of them: `password` for an account without a second factor; `totp` or
/// `recovery_code` for one with.
#[derive(Deserialize, ToSchema)]
pub struct ReauthenticateBody {
    #[schema(example = json!(null))]
    password: Option<String>,
    /// The `device_token` of this client's sign-in (with `password`).
    #[schema(example = json!(null))]
    device_token: Option<String>,
    #[schema(example = "123456", max_length = 16)]
    totp: Option<String>,
    #[schema(example = json!(null), max_length = 64)]
    recovery_code: Option<String>,
}

/// The caller's second factors.
#[utoipa::path(get, path = "/api/me/factors", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "What is set up", body = FactorsBody),
        (status = 401, description = "Invalid token or ended session", body = Problem),
    ))]
pub async fn factors(
    auth: web::Data<AuthService>,
    LiveSession { caller }: LiveSession,
) -> Result<HttpResponse, ApiError> {
    let factors = blocking(move || auth.my_factors(&caller)).await?;
    Ok(HttpResponse::Ok().json(FactorsBody {
        totp: factors.totp,
        totp_pending: factors.totp_pending,
        recovery_codes_left: factors.recovery_codes_left,
        passkeys: factors.passkeys,
    }))
}

/// Start setting up an authenticator app: a new secret, active once its first code is
/// confirmed. Needs a recent sign-in.
#[utoipa::path(post, path = "/api/me/totp", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "The secret to add to the app", body = TotpSetupBody),
        (status = 401, description = "Invalid token or ended session", body = Problem),
        (status = 403, description = "The sign-in is not recent: re-authenticate first", body = Problem),
        (status = 409, description = "An authenticator app is already set up", body = Problem),
    ))]
pub async fn begin_totp(
    auth: web::Data<AuthService>,
    FreshSession { fresh }: FreshSession,
) -> Result<HttpResponse, ApiError> {
    let setup = blocking(move || auth.begin_totp(&fresh)).await?;
    Ok(HttpResponse::Ok().json(TotpSetupBody {
        secret: setup.secret,
        otpauth_uri: setup.otpauth_uri,
    }))
}

/// Activate the authenticator app with its first code; returns the recovery codes (once).
#[utoipa::path(post, path = "/api/me/totp/confirm", tag = "me", security(("bearer" = [])),
    request_body = TotpCode,
    responses(
        (status = 200, description = "Active; keep the recovery codes somewhere safe", body = RecoveryCodesBody),
        (status = 401, description = "Invalid token or ended session", body = Problem),
        (status = 403, description = "The sign-in is not recent: re-authenticate first", body = Problem),
        (status = 409, description = "Nothing waits for a first code, or an app is already active", body = Problem),
        (status = 422, description = "Wrong code", body = Problem),
    ))]
pub async fn confirm_totp(
    auth: web::Data<AuthService>,
    FreshSession { fresh }: FreshSession,
    body: web::Json<TotpCode>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let code = body.into_inner().code;
    let codes = blocking(move || auth.confirm_totp(&fresh, &code, &client)).await?;
    Ok(HttpResponse::Ok().json(RecoveryCodesBody::new(codes)))
}

/// Remove the authenticator app and its recovery codes: sign-in then needs only the password.
#[utoipa::path(delete, path = "/api/me/totp", tag = "me", security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Invalid token or ended session", body = Problem),
        (status = 403, description = "The sign-in is not recent: re-authenticate first", body = Problem),
        (status = 409, description = "No authenticator app is set up", body = Problem),
    ))]
pub async fn remove_totp(
    auth: web::Data<AuthService>,
    FreshSession { fresh }: FreshSession,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    blocking(move || auth.remove_totp(&fresh, &client)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new set of recovery codes (the old set stops working).
#[utoipa::path(post, path = "/api/me/recovery-codes", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "The new codes, shown once", body = RecoveryCodesBody),
        (status = 401, description = "Invalid token or ended session", body = Problem),
        (status = 403, description = "The sign-in is not recent: re-authenticate first", body = Problem),
        (status = 409, description = "No second factor to back up", body = Problem),
    ))]
pub async fn new_recovery_codes(
    auth: web::Data<AuthService>,
    FreshSession { fresh }: FreshSession,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let codes = blocking(move || auth.regenerate_recovery_codes(&fresh, &client)).await?;
    Ok(HttpResponse::Ok().json(RecoveryCodesBody::new(codes)))
}

/// Prove again who you are, so this session may change second factors (and, with one, the
/// password or address) for the next
/// `LATCHKEY_REAUTH_WINDOW` (10 minutes by default).
#[utoipa::path(post, path = "/api/me/reauthenticate", tag = "me", security(("bearer" = [])),
    request_body = ReauthenticateBody,
    responses(
        (status = 204, description = "Confirmed"),
        (status = 401, description = "Invalid token or ended session, or a wrong code", body = Problem),
        (status = 409, description = "A code was sent for an account without a second factor", body = Problem),
        (status = 422, description = "Wrong password, or not exactly one of password, totp and recovery_code", body = Problem),
        (status = 429, description = "Too many wrong attempts", body = Problem),
    ))]
pub async fn reauthenticate(
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    LiveSession { caller }: LiveSession,
    body: web::Json<ReauthenticateBody>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    limits.check(Limit::Login, client.ip.as_deref())?;
    let ReauthenticateBody {
        password,
        device_token,
        totp,
        recovery_code,
    } = body.into_inner();
    let typed = match (password, totp.is_some() || recovery_code.is_some()) {
        (Some(password), false) => Typed::Password(password),
        (None, true) => Typed::Code(TypedCode::new(totp, recovery_code)?),
        _ => {
            return Err(ApiError::Unprocessable(
                "Send exactly one of password, totp and recovery_code.".into(),
            ));
        }
    };
    blocking(move || {
        let proof = match &typed {
            Typed::Code(code) => Reauthentication::SecondFactor(code.proof()),
            Typed::Password(password) => Reauthentication::Password {
                password,
                device_token: device_token.as_deref(),
            },
        };
        auth.reauthenticate(&caller, proof, &client)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// What a re-authentication request carried: exactly one of the two.
enum Typed {
    Password(String),
    Code(TypedCode),
}
