//! The cookie flow for JavaScript on our own pages (and same-site single-page apps):
//! `POST /auth/refresh` and `POST /auth/logout` read the HttpOnly refresh cookie.
//!
//! CSRF defence fit for fetch calls: the request must carry the `X-Latchkey-Refresh` header
//! (a cross-site form cannot set headers, and a cross-site fetch with it needs a CORS preflight
//! we never grant), and when the browser sends `Origin`, it must be this server's.

use actix_session::SessionExt;
use actix_web::http::header::{HOST, ORIGIN};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::cookies::CookiePolicy;
use super::limits::{Limit, RateLimits};
use super::{blocking, resource};
use crate::auth::AuthService;
use crate::auth::sessions::{ClientInfo, EndedBy};
use crate::error::{ApiError, Problem};

pub const FETCH_HEADER: &str = "x-latchkey-refresh";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/auth/refresh").route(web::post().to(refresh)))
        .service(resource("/auth/logout").route(web::post().to(logout)));
}

/// Refuses requests that a page on another site could have made.
pub fn check_fetch_origin(request: &HttpRequest) -> Result<(), ApiError> {
    if !request.headers().contains_key(FETCH_HEADER) {
        return Err(ApiError::Forbidden(format!(
            "Send the header {FETCH_HEADER}: 1 with this request (it protects the cookie from cross-site use)."
        )));
    }
    if let Some(origin) = request.headers().get(ORIGIN) {
        let host = request.headers().get(HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, authority)| authority);
        if host.is_none() || origin_host != host {
            return Err(ApiError::Forbidden(
                "This request comes from another site's page and was refused.".into(),
            ));
        }
    }
    Ok(())
}

/// An access token for the page, from the HttpOnly refresh cookie (which rotates).
#[derive(Serialize, ToSchema)]
pub struct CookieTokenBody {
    access_token: String,
    #[schema(example = "Bearer")]
    token_type: &'static str,
    #[schema(example = 900)]
    expires_in: i64,
}

/// The cookie flow for JavaScript on this site: exchanges the HttpOnly `latchkey_refresh` cookie
/// for an access token and sets the rotated cookie. Needs `X-Latchkey-Refresh: 1` and, when
/// the browser sends `Origin`, this server's origin.
#[utoipa::path(post, path = "/auth/refresh", tag = "browser",
    params(("X-Latchkey-Refresh" = String, Header, description = "Must be present (any value)")),
    security(("refresh_cookie" = [])),
    responses(
        (status = 200, description = "A new access token; the cookie is rotated", body = CookieTokenBody),
        (status = 401, description = "Missing, unknown, expired or reused cookie (the cookie is cleared)", body = Problem),
        (status = 403, description = "Missing header, or a request from another site", body = Problem),
    ))]
pub async fn refresh(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    cookies: web::Data<CookiePolicy>,
    limits: web::Data<RateLimits>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    check_fetch_origin(&request)?;
    limits.check(Limit::Refresh, client.ip.as_deref())?;
    let Some(presented) = cookies.read_refresh(&request) else {
        return Ok(refused(
            &cookies,
            crate::auth::AuthError::InvalidRefreshToken.into(),
        ));
    };
    match blocking(move || auth.refresh(&presented, &client)).await {
        Ok(tokens) => {
            let mut response = HttpResponse::Ok();
            cookies.set_refresh(
                &mut response,
                tokens.refresh_token,
                tokens.refresh_expires_in,
            );
            Ok(response.json(CookieTokenBody {
                access_token: tokens.access_token,
                token_type: "Bearer",
                expires_in: tokens.expires_in,
            }))
        }
        Err(error) if error.is_client_error() => Ok(refused(&cookies, error)),
        Err(error) => Err(error),
    }
}

/// Ends the cookie's session and drops both cookies.
#[utoipa::path(post, path = "/auth/logout", tag = "browser",
    params(("X-Latchkey-Refresh" = String, Header, description = "Must be present (any value)")),
    security(("refresh_cookie" = [])),
    responses(
        (status = 204, description = "Signed out; cookies cleared"),
        (status = 403, description = "Missing header, or a request from another site", body = Problem),
    ))]
pub async fn logout(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    cookies: web::Data<CookiePolicy>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    check_fetch_origin(&request)?;
    if let Some(presented) = cookies.read_refresh(&request) {
        blocking(move || auth.revoke_by_refresh_token(&presented, EndedBy::Logout, &client))
            .await?;
    }
    request.get_session().purge();
    let mut response = HttpResponse::NoContent();
    cookies.clear_refresh(&mut response);
    Ok(response.finish())
}

/// The error response, with the refresh cookie cleared.
fn refused(cookies: &CookiePolicy, error: ApiError) -> HttpResponse {
    let mut response = actix_web::ResponseError::error_response(&error);
    if let Ok(value) = cookies.expired_refresh_cookie().to_string().parse() {
        response
            .headers_mut()
            .append(actix_web::http::header::SET_COOKIE, value);
    }
    response
}
