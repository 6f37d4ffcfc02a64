//! Register, login, refresh, logout, revoke.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::sessions::{ClientInfo, EndedBy};
use crate::auth::types::Role;
use crate::auth::{AuthService, IssuedTokens};
use crate::error::{ApiError, Problem};
use crate::routes::cookies::CookiePolicy;
use crate::routes::extractors::MaybeBearer;
use crate::routes::limits::{Limit, RateLimits};
use crate::routes::{blocking, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/auth/register").post(register))
        .service(resource("/api/auth/login").post(login))
        .service(resource("/api/auth/refresh").post(refresh))
        .service(resource("/api/auth/logout").post(logout))
        .service(resource("/api/auth/revoke").post(revoke));
}

#[derive(Deserialize, ToSchema)]
pub struct Credentials {
    /// 3 to 64 characters (counted after NFKC and trimming), no control or invisible
    /// characters, at least one letter or digit; compared case-insensitively.
    #[schema(
        example = "alice",
        min_length = 3,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"
    )]
    username: String,
    /// `LATCHKEY_PASSWORD_MIN_LENGTH` (12 by default) to 256 characters of any Unicode;
    /// common and guessable passwords are refused (422).
    #[schema(example = "correct horse battery staple", max_length = 256)]
    password: String,
    /// Optional (required where `LATCHKEY_REQUIRE_EMAIL=true`): a verification link is mailed
    /// to it, and once used the address can reset the password.
    #[serde(default)]
    #[schema(example = "alice@example.com", max_length = 254)]
    email: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    #[schema(example = "alice")]
    username: String,
    #[schema(example = "correct horse battery staple")]
    password: String,
    /// For single-page apps on this site: put the refresh token in the HttpOnly cookie
    /// (and leave it out of the body), as the browser pages do.
    #[serde(default)]
    set_cookie: bool,
    /// The `device_token` of this client's last sign-in to the account: its failed sign-ins
    /// then count separately from everyone else's, so nobody can lock it out.
    #[schema(example = json!(null))]
    device_token: Option<String>,
}

/// A logout's body: the refresh token whose session ends, when no Bearer token says which.
#[derive(Deserialize, ToSchema)]
pub struct LogoutBody {
    /// The opaque refresh token from the last login or refresh.
    #[schema(example = "q3Jd9Xw0b6Yt2mNf8Lr1sVu4Hk7Pz5Ce0Ga9Wx2Bn4D")]
    refresh_token: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshTokenBody {
    /// The opaque refresh token from the last login or refresh.
    #[schema(example = "q3Jd9Xw0b6Yt2mNf8Lr1sVu4Hk7Pz5Ce0Ga9Wx2Bn4D")]
    refresh_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenBody {
    /// An EdDSA-signed JWT (`typ: at+jwt`); send it as `Authorization: Bearer ...`.
    #[schema(
        example = "eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiIuLi4ifQ.c2ln"
    )]
    access_token: String,
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    expires_in: i64,
    /// The successor to use next time (absent when `set_cookie` put it in the cookie).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "q3Jd9Xw0b6Yt2mNf8Lr1sVu4Hk7Pz5Ce0Ga9Wx2Bn4D")]
    refresh_token: Option<String>,
    /// Seconds until the session ends if it is not refreshed again.
    #[schema(example = 604800)]
    refresh_expires_in: i64,
    /// After a sign-in: keep it and send it back with the next sign-in to this account (absent
    /// on refresh, and when `set_cookie` put it in a cookie).
    #[serde(skip_serializing_if = "Option::is_none")]
    device_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RegisteredBody {
    #[schema(example = "1b4e28ba-2fa1-4d2b-883f-0016d3cca427")]
    id: String,
    #[schema(example = "alice")]
    username: String,
    role: Role,
    /// The address given at registration (unverified until its link is used), or null.
    #[schema(example = "alice@example.com")]
    email: Option<String>,
    email_verified: bool,
}

/// An empty JSON object.
#[derive(Serialize, ToSchema)]
pub struct Empty {}

impl From<IssuedTokens> for TokenBody {
    fn from(tokens: IssuedTokens) -> TokenBody {
        TokenBody {
            access_token: tokens.access_token,
            token_type: "Bearer",
            expires_in: tokens.expires_in,
            refresh_token: Some(tokens.refresh_token),
            refresh_expires_in: tokens.refresh_expires_in,
            device_token: tokens.device_token,
        }
    }
}

/// Create an account (the `user` role). It does not sign in; call login next.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = Credentials,
    responses(
        (status = 201, description = "Created", body = RegisteredBody),
        (status = 403, description = "Registration is closed", body = Problem),
        (status = 409, description = "Username taken", body = Problem),
        (status = 422, description = "Invalid username or password, with the reasons", body = Problem),
        (status = 429, description = "Too many registrations from this address", body = Problem),
    ))]
pub async fn register(
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    body: web::Json<Credentials>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    limits.check(Limit::Register, client.ip.as_deref())?;
    let Credentials {
        username,
        password,
        email,
    } = body.into_inner();
    let user = blocking(move || auth.register(&username, &password, email.as_deref(), &client))
        .await?
        .account;
    Ok(HttpResponse::Created().json(RegisteredBody {
        id: user.id.to_string(),
        username: user.username,
        role: user.role,
        email: user.email,
        email_verified: user.email_verified,
    }))
}

/// Sign in: starts a session and returns an access token and a refresh token.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in", body = TokenBody),
        (status = 401, description = "Same answer for an unknown user, a wrong password and a disabled user; or, after the right password of an account with a second factor, `mfa_required` with an `mfa_token` and `methods` for POST /api/auth/mfa", body = Problem),
        (status = 429, description = "Throttled account or rate-limited address; see Retry-After", body = Problem),
    ))]
pub async fn login(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    cookies: web::Data<CookiePolicy>,
    limits: web::Data<RateLimits>,
    body: web::Json<LoginBody>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    limits.check(Limit::Login, client.ip.as_deref())?;
    let LoginBody {
        username,
        password,
        set_cookie,
        device_token,
    } = body.into_inner();
    let device_token = device_token.or_else(|| cookies.read_device(&request));
    let tokens =
        blocking(move || auth.login(&username, &password, device_token.as_deref(), &client))
            .await?;
    Ok(TokenBody::respond(tokens, set_cookie, &cookies))
}

impl TokenBody {
    /// The 200 answer of a finished sign-in; with `set_cookie` the refresh and device tokens
    /// go into their HttpOnly cookies instead of the body.
    pub fn respond(tokens: IssuedTokens, set_cookie: bool, cookies: &CookiePolicy) -> HttpResponse {
        let mut response = HttpResponse::Ok();
        let mut body = TokenBody::from(tokens);
        if set_cookie {
            if let Some(token) = body.refresh_token.take() {
                cookies.set_refresh(&mut response, token, body.refresh_expires_in);
            }
            if let Some(token) = body.device_token.take() {
                cookies.set_device(&mut response, token);
            }
        }
        response.json(body)
    }
}

/// Exchange a refresh token for a new access token and the token's successor. Presenting a used
/// token again (outside a short grace window) ends the whole session.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshTokenBody,
    responses(
        (status = 200, description = "Rotated", body = TokenBody),
        (status = 401, description = "Unknown, expired, revoked or reused token", body = Problem),
        (status = 429, description = "Rate-limited address", body = Problem),
    ))]
pub async fn refresh(
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    body: web::Json<RefreshTokenBody>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    limits.check(Limit::Refresh, client.ip.as_deref())?;
    let presented = body.into_inner().refresh_token;
    let tokens = crate::routes::refresh_tokens(auth, presented, client).await?;
    Ok(HttpResponse::Ok().json(TokenBody::from(tokens)))
}

/// Ends the session named by the Bearer token, or else by `{refresh_token}` in the body.
/// Ending an already ended session is fine; an unknown refresh token is not.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    request_body(content = Option<LogoutBody>, description = "Needed only without a Bearer token"),
    security((), ("bearer" = [])),
    responses(
        (status = 204, description = "Signed out; also when the refresh token was unknown, expired or already ended (as `/auth/logout` answers for such a cookie)"),
        (status = 401, description = "Neither a Bearer token nor a body with a refresh token", body = Problem),
    ))]
pub async fn logout(
    auth: web::Data<AuthService>,
    bearer: MaybeBearer,
    body: web::Bytes,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    // A body is checked even beside a Bearer token: a malformed request is refused whole.
    let presented = match body.is_empty() {
        true => None,
        false => parse_refresh_body(&body)?,
    };
    if let Some(claims) = bearer.0 {
        blocking(move || auth.logout(&claims.sid, &client)).await?;
        return Ok(HttpResponse::NoContent().finish());
    }
    let Some(presented) = presented else {
        return Err(crate::auth::tokens::TokenError::Missing.into());
    };
    // Signing out is idempotent, as in the cookie flow: a token that is unknown, expired or
    // already ended is just as signed out afterwards.
    blocking(move || auth.revoke_by_refresh_token(&presented, EndedBy::Logout, &client)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// RFC 7009 token revocation: answers 200 whether or not the token was known, so it reveals
/// nothing; a known token's session ends.
#[utoipa::path(post, path = "/api/auth/revoke", tag = "auth", request_body = RefreshTokenBody,
    responses((status = 200, description = "Revoked, or unknown", body = Empty)))]
pub async fn revoke(
    auth: web::Data<AuthService>,
    body: web::Json<RefreshTokenBody>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let presented = body.into_inner().refresh_token;
    blocking(move || auth.revoke_by_refresh_token(&presented, EndedBy::ClientRevocation, &client))
        .await?;
    Ok(HttpResponse::Ok().json(Empty {}))
}

/// The refresh token of a logout body; `null` (which the document allows) is no body at all.
fn parse_refresh_body(body: &[u8]) -> Result<Option<String>, ApiError> {
    serde_json::from_slice::<Option<LogoutBody>>(body)
        .map(|b| b.and_then(|b| b.refresh_token))
        .map_err(|e| {
            ApiError::BadRequest(format!(
                "Send a Bearer access token or a JSON body {{\"refresh_token\": \"...\"}}: {e}."
            ))
        })
}
