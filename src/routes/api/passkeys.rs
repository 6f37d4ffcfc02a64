//! Passkeys over the API: registering them (a fresh session), listing and removing them, and
//! signing in with one, alone or as the second step after a password (with the `mfa_token`).
//! Options and credentials are WebAuthn's JSON as webauthn-rs writes and reads it (binary
//! fields base64url).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::auth::TokenBody;
use super::rfc3339;
use crate::auth::AuthService;
use crate::auth::factors::PasskeyView;
use crate::auth::sessions::ClientInfo;
use crate::error::{ApiError, Problem};
use crate::routes::caller::{FreshSession, LiveSession};
use crate::routes::cookies::CookiePolicy;
use crate::routes::limits::{Limit, RateLimits};
use crate::routes::{blocking, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/me/passkeys").get(list_passkeys))
        .service(resource("/api/me/passkeys/begin").post(begin_registration))
        .service(resource("/api/me/passkeys/finish").post(finish_registration))
        .service(resource("/api/me/passkeys/{id}").delete(remove_passkey))
        .service(resource("/api/auth/passkey/begin").post(begin_sign_in))
        .service(resource("/api/auth/passkey/finish").post(finish_sign_in));
}

#[derive(Serialize, ToSchema)]
pub struct PasskeyBody {
    #[schema(example = "3f0c5a52-8a3e-4c3b-9d7e-2f5b1c9a0e11")]
    id: String,
    #[schema(example = "Work laptop")]
    name: String,
    #[schema(example = "2026-12-03T09:15:00Z")]
    created_at: String,
    #[schema(example = json!(null))]
    last_used_at: Option<String>,
}

impl From<PasskeyView> for PasskeyBody {
    fn from(view: PasskeyView) -> PasskeyBody {
        PasskeyBody {
            id: view.id,
            name: view.name,
            created_at: rfc3339(view.created_at),
            last_used_at: view.last_used_at.map(rfc3339),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct PasskeyRegistration {
    /// What the list calls it ("Work laptop"), 1 to 64 characters.
    #[schema(example = "Work laptop", min_length = 1, max_length = 64)]
    name: String,
    /// The `PublicKeyCredential` from `navigator.credentials.create`, binary fields base64url.
    #[schema(value_type = Object)]
    credential: RegisterPublicKeyCredential,
}

#[derive(Serialize, ToSchema)]
pub struct PasskeyRegistered {
    passkey: PasskeyBody,
    /// The account's first recovery codes, when it had none (shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["abcd-efgh-ijkl", "mnop-qrst-uvwx"]))]
    recovery_codes: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct SignInOptions {
    /// Send it back with the credential.
    #[schema(example = "6f1c0a52-8a3e-4c3b-9d7e-2f5b1c9a0e11")]
    challenge_id: String,
    /// The `publicKey` for `navigator.credentials.get` (binary fields base64url).
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object)]
    public_key: serde_json::Value,
}

#[derive(Deserialize, ToSchema)]
pub struct PasskeySignIn {
    #[schema(example = "6f1c0a52-8a3e-4c3b-9d7e-2f5b1c9a0e11", max_length = 64)]
    challenge_id: String,
    /// The `PublicKeyCredential` from `navigator.credentials.get`, binary fields base64url.
    #[schema(value_type = Object)]
    credential: PublicKeyCredential,
    /// From a login's `mfa_required` answer: the passkey finishes that sign-in.
    #[schema(example = json!(null))]
    mfa_token: Option<String>,
    /// As for login: the refresh token in the HttpOnly cookie instead of the body.
    #[serde(default)]
    set_cookie: bool,
}

/// The caller's passkeys, oldest first.
#[utoipa::path(get, path = "/api/me/passkeys", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "Registered passkeys", body = Vec<PasskeyBody>),
        (status = 401, description = "Invalid token or ended session", body = Problem),
    ))]
pub async fn list_passkeys(
    auth: web::Data<AuthService>,
    LiveSession { caller }: LiveSession,
) -> Result<HttpResponse, ApiError> {
    let passkeys = blocking(move || auth.my_passkeys(&caller)).await?;
    let body: Vec<PasskeyBody> = passkeys.into_iter().map(PasskeyBody::from).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Start registering a passkey: creation options for `navigator.credentials.create`
/// (`{publicKey: ...}`). Needs a recent sign-in.
#[utoipa::path(post, path = "/api/me/passkeys/begin", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "Creation options (`{publicKey: ...}`)", body = Object),
        (status = 401, description = "Invalid token or ended session", body = Problem),
        (status = 403, description = "Not a recent sign-in, or passkeys are unavailable on this server", body = Problem),
        (status = 422, description = "Ten passkeys already", body = Problem),
    ))]
pub async fn begin_registration(
    auth: web::Data<AuthService>,
    FreshSession { fresh }: FreshSession,
) -> Result<HttpResponse, ApiError> {
    let options = blocking(move || auth.begin_passkey_registration(&fresh)).await?;
    Ok(HttpResponse::Ok().json(options))
}

/// Finish registering with the authenticator's answer; the first factor of an account also
/// returns its recovery codes.
#[utoipa::path(post, path = "/api/me/passkeys/finish", tag = "me", security(("bearer" = [])),
    request_body = PasskeyRegistration,
    responses(
        (status = 201, description = "Registered", body = PasskeyRegistered),
        (status = 400, description = "No registration under way (expired or used)", body = Problem),
        (status = 401, description = "Invalid token or ended session, or the answer did not verify", body = Problem),
        (status = 403, description = "Not a recent sign-in, or passkeys are unavailable", body = Problem),
        (status = 409, description = "That passkey is registered already", body = Problem),
        (status = 422, description = "Unusable name", body = Problem),
    ))]
pub async fn finish_registration(
    auth: web::Data<AuthService>,
    FreshSession { fresh }: FreshSession,
    body: web::Json<PasskeyRegistration>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let PasskeyRegistration { name, credential } = body.into_inner();
    let registered =
        blocking(move || auth.finish_passkey_registration(&fresh, &name, &credential, &client))
            .await?;
    Ok(HttpResponse::Created().json(PasskeyRegistered {
        passkey: registered.passkey.into(),
        recovery_codes: registered.recovery_codes,
    }))
}

/// Remove one of the caller's passkeys (with the last second factor, the recovery codes go).
#[utoipa::path(delete, path = "/api/me/passkeys/{id}", tag = "me", security(("bearer" = [])),
    params(("id" = String, Path, description = "Passkey id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Invalid token or ended session", body = Problem),
        (status = 403, description = "Not a recent sign-in", body = Problem),
        (status = 404, description = "No such passkey of yours", body = Problem),
    ))]
pub async fn remove_passkey(
    auth: web::Data<AuthService>,
    FreshSession { fresh }: FreshSession,
    path: web::Path<String>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    blocking(move || auth.remove_passkey(&fresh, &id, &client)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Start a sign-in with a passkey (no username: the passkey says whose it is).
#[utoipa::path(post, path = "/api/auth/passkey/begin", tag = "auth",
    responses(
        (status = 200, description = "Request options and the ceremony's id", body = SignInOptions),
        (status = 403, description = "Passkeys are unavailable on this server", body = Problem),
        (status = 429, description = "Too many attempts from this address", body = Problem),
    ))]
pub async fn begin_sign_in(
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    limits.check(Limit::Login, client.ip.as_deref())?;
    let options = blocking(move || auth.begin_passkey_sign_in()).await?;
    Ok(HttpResponse::Ok().json(SignInOptions {
        challenge_id: options.challenge_id,
        public_key: options.public_key,
    }))
}

/// Finish a passkey sign-in; answers like a login (the session's `amr` is `hwk`, `mfa`).
#[utoipa::path(post, path = "/api/auth/passkey/finish", tag = "auth", request_body = PasskeySignIn,
    responses(
        (status = 200, description = "Signed in", body = TokenBody),
        (status = 400, description = "Unknown, expired or used ceremony", body = Problem),
        (status = 401, description = "The passkey did not verify or is not registered here; or the mfa_token is void", body = Problem),
        (status = 403, description = "Passkeys are unavailable on this server", body = Problem),
        (status = 429, description = "Too many attempts from this address", body = Problem),
    ))]
pub async fn finish_sign_in(
    auth: web::Data<AuthService>,
    cookies: web::Data<CookiePolicy>,
    limits: web::Data<RateLimits>,
    body: web::Json<PasskeySignIn>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    limits.check(Limit::Login, client.ip.as_deref())?;
    let PasskeySignIn {
        challenge_id,
        credential,
        mfa_token,
        set_cookie,
    } = body.into_inner();
    let tokens = blocking(move || {
        auth.finish_passkey_sign_in(&challenge_id, &credential, mfa_token.as_deref(), &client)
    })
    .await?;
    Ok(TokenBody::respond(tokens, set_cookie, &cookies))
}
