//! Register, login, refresh, logout, revoke.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::sessions::{ClientInfo, EndedBy};
use crate::auth::{AuthService, IssuedTokens};
use crate::error::ApiError;
use crate::routes::cookies::CookiePolicy;
use crate::routes::extractors::MaybeBearer;
use crate::routes::limits::{Limit, RateLimits};
use crate::routes::{blocking, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/auth/register").route(web::post().to(register)))
        .service(resource("/auth/login").route(web::post().to(login)))
        .service(resource("/auth/refresh").route(web::post().to(refresh)))
        .service(resource("/auth/logout").route(web::post().to(logout)))
        .service(resource("/auth/revoke").route(web::post().to(revoke)));
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
    /// For single-page apps on this site: put the refresh token in the HttpOnly cookie
    /// (and leave it out of the body), as the browser pages do.
    #[serde(default)]
    set_cookie: bool,
}

#[derive(Deserialize)]
struct RefreshTokenBody {
    refresh_token: String,
}

#[derive(Serialize)]
struct TokenBody {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    refresh_expires_in: i64,
}

impl From<IssuedTokens> for TokenBody {
    fn from(tokens: IssuedTokens) -> TokenBody {
        TokenBody {
            access_token: tokens.access_token,
            token_type: "Bearer",
            expires_in: tokens.expires_in,
            refresh_token: Some(tokens.refresh_token),
            refresh_expires_in: tokens.refresh_expires_in,
        }
    }
}

async fn register(
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    body: web::Json<Credentials>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    limits.check(Limit::Register, client.ip.as_deref())?;
    let Credentials { username, password } = body.into_inner();
    let user = blocking(move || auth.register(&username, &password, &client)).await?;
    Ok(HttpResponse::Created().json(json!({
        "id": user.id,
        "username": user.username,
        "role": user.role,
    })))
}

async fn login(
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
    } = body.into_inner();
    let tokens = blocking(move || auth.login(&username, &password, &client)).await?;
    let mut response = HttpResponse::Ok();
    let mut body = TokenBody::from(tokens);
    if set_cookie && let Some(token) = body.refresh_token.take() {
        cookies.set_refresh(&mut response, token, body.refresh_expires_in);
    }
    Ok(response.json(body))
}

async fn refresh(
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    body: web::Json<RefreshTokenBody>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    limits.check(Limit::Refresh, client.ip.as_deref())?;
    let presented = body.into_inner().refresh_token;
    let tokens = blocking(move || auth.refresh(&presented, &client)).await?;
    Ok(HttpResponse::Ok().json(TokenBody::from(tokens)))
}

/// Ends the session named by the Bearer token, or else by `{refresh_token}` in the body.
/// Ending an already ended session is fine; an unknown refresh token is not.
async fn logout(
    auth: web::Data<AuthService>,
    bearer: MaybeBearer,
    body: web::Bytes,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    if let Some(claims) = bearer.0 {
        blocking(move || auth.logout(&claims.sid, &client)).await?;
        return Ok(HttpResponse::NoContent().finish());
    }
    if body.is_empty() {
        return Err(crate::auth::tokens::TokenError::Missing.into());
    }
    let presented = parse_refresh_body(&body)?;
    let found =
        blocking(move || auth.revoke_by_refresh_token(&presented, EndedBy::Logout, &client))
            .await?;
    if found {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(crate::auth::AuthError::InvalidRefreshToken.into())
    }
}

/// RFC 7009: answers 200 whether or not the token was known, so it reveals nothing.
async fn revoke(
    auth: web::Data<AuthService>,
    body: web::Json<RefreshTokenBody>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let presented = body.into_inner().refresh_token;
    blocking(move || auth.revoke_by_refresh_token(&presented, EndedBy::ClientRevocation, &client))
        .await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

fn parse_refresh_body(body: &[u8]) -> Result<String, ApiError> {
    serde_json::from_slice::<RefreshTokenBody>(body)
        .map(|b| b.refresh_token)
        .map_err(|e| {
            ApiError::BadRequest(format!(
                "Send a Bearer access token or a JSON body {{\"refresh_token\": \"...\"}}: {e}."
            ))
        })
}
