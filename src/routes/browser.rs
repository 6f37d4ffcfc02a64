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
use super::pages::page_session;
use super::{blocking, resource};
use crate::auth::AuthService;
use crate::auth::sessions::{ClientInfo, EndedBy};
use crate::error::{ApiError, Problem};

pub const FETCH_HEADER: &str = "x-latchkey-refresh";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/auth/refresh").post(refresh))
        .service(resource("/auth/logout").post(logout));
}

/// Refuses requests that a page on another site could have made.
pub fn check_fetch_origin(request: &HttpRequest) -> Result<(), ApiError> {
    if !request.headers().contains_key(FETCH_HEADER) {
        return Err(ApiError::Forbidden(format!(
            "Send the header {FETCH_HEADER}: 1 with this request (it protects the cookie from cross-site use)."
        )));
    }
    if let Some(origin) = request.headers().get(ORIGIN) {
        let https = request
            .app_data::<web::Data<CookiePolicy>>()
            .is_some_and(|policy| policy.secure);
        let host = request.headers().get(HOST).and_then(|h| h.to_str().ok());
        let same = origin
            .to_str()
            .ok()
            .zip(host)
            .is_some_and(|(origin, host)| same_origin(origin, host, https));
        if !same {
            return Err(ApiError::Forbidden(
                "This request comes from another site's page and was refused.".into(),
            ));
        }
    }
    Ok(())
}

/// Whether `origin` (the browser's `Origin` header) is this server: the same scheme (https when
/// cookies are secure, http otherwise), host and port (default ports spelled or not).
fn same_origin(origin: &str, host: &str, https: bool) -> bool {
    let scheme = if https { "https" } else { "http" };
    match (
        url::Url::parse(origin),
        url::Url::parse(&format!("{scheme}://{host}")),
    ) {
        (Ok(origin), Ok(ours)) => {
            origin.path() == "/" && ours.path() == "/" && origin.origin() == ours.origin()
        }
        _ => false,
    }
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
#[utoipa::path(post, path = "/auth/refresh", tag = "browser", operation_id = "browser_refresh",
    params(("X-Latchkey-Refresh" = String, Header, description = "Must be present (any value)")),
    security(("refresh_cookie" = [])),
    responses(
        (status = 200, description = "A new access token; the cookie is rotated", body = CookieTokenBody),
        (status = 401, description = "Missing, unknown, expired or reused cookie (the cookie is cleared)", body = Problem),
        (status = 403, description = "Missing header, or a request from another site", body = Problem),
        (status = 429, description = "Rate-limited address; see Retry-After", body = Problem),
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
    let presented = cookies.read_refresh_all(&request);
    if presented.is_empty() {
        return Ok(refused(
            &cookies,
            crate::auth::AuthError::InvalidRefreshToken.into(),
        ));
    }
    let page_session = page_session::signed_in(&request.get_session()).map(|(_, sid)| sid);
    match blocking(move || auth.refresh_cookie(&presented, page_session.as_deref(), &client)).await
    {
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
#[utoipa::path(post, path = "/auth/logout", tag = "browser", operation_id = "browser_logout",
    params(("X-Latchkey-Refresh" = String, Header, description = "Must be present (any value)")),
    security((), ("refresh_cookie" = [])),
    responses(
        (status = 204, description = "Signed out; cookies cleared. Also without a cookie, or with one that is unknown, expired or already ended (as `/api/auth/logout` answers for such a token)"),
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

#[cfg(test)]
mod tests {
    use super::same_origin;

    #[test]
    fn the_origin_must_match_scheme_host_and_port() {
        assert!(same_origin(
            "http://localhost:8080",
            "localhost:8080",
            false
        ));
        assert!(same_origin(
            "https://id.example.com",
            "id.example.com:443",
            true
        ));
        assert!(same_origin(
            "https://ID.example.com:443",
            "id.example.com",
            true
        ));
        assert!(
            !same_origin("https://localhost:8080", "localhost:8080", false),
            "scheme"
        );
        assert!(
            !same_origin("http://id.example.com", "id.example.com", true),
            "scheme"
        );
        assert!(
            !same_origin("http://localhost:8081", "localhost:8080", false),
            "port"
        );
        assert!(
            !same_origin("http://localhost", "localhost:8080", false),
            "port"
        );
        assert!(
            !same_origin("http://evil.example", "localhost:8080", false),
            "host"
        );
        assert!(!same_origin("null", "localhost:8080", false));
        assert!(!same_origin(
            "http://localhost:8080/x",
            "localhost:8080",
            false
        ));
        assert!(!same_origin(
            "http://localhost:8080",
            "localhost:8080/x",
            false
        ));
    }
}
