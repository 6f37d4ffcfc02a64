//! Request extractors: the caller's access token and where the request came from.

use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::{Either, LocalBoxFuture};

use crate::auth::AuthService;
use crate::auth::sessions::ClientInfo;
use crate::auth::tokens::{AccessClaims, TokenError};
use crate::error::ApiError;

/// Ready at once when the token verifies in memory (nearly always); a boxed future only when
/// the keys must be re-read first.
type Extracted<T> =
    Either<Ready<Result<T, ApiError>>, LocalBoxFuture<'static, Result<T, ApiError>>>;

/// A request with a valid access token. Checked offline: the session may have been revoked
/// since the token was issued (handlers that manage sessions check that too).
pub struct Bearer(pub AccessClaims);

impl FromRequest for Bearer {
    type Error = ApiError;
    type Future = Extracted<Bearer>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        bearer(request, |claims| claims.map(Bearer))
    }
}

/// Like `Bearer`, but absent credentials are `None` instead of an error.
pub struct MaybeBearer(pub Option<AccessClaims>);

impl FromRequest for MaybeBearer {
    type Error = ApiError;
    type Future = Extracted<MaybeBearer>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        bearer(request, |claims| match claims {
            Ok(claims) => Ok(MaybeBearer(Some(claims))),
            Err(ApiError::Token(TokenError::Missing)) => Ok(MaybeBearer(None)),
            Err(other) => Err(other),
        })
    }
}

/// Verifies the bearer token in memory. Only a token naming a key this instance has not
/// loaded (one another instance just created) goes on to a blocking thread to re-read the keys.
fn bearer<T: 'static>(
    request: &HttpRequest,
    extracted: fn(Result<AccessClaims, ApiError>) -> Result<T, ApiError>,
) -> Extracted<T> {
    match check_bearer(request) {
        Ok(verified) => Either::Left(ready(extracted(verified))),
        Err(Refetch(auth, token)) => Either::Right(Box::pin(async move {
            let verified = web::block(move || auth.verify_access_token_refetching(&token))
                .await
                .map_err(|_| ApiError::Internal("the blocking pool is gone".into()))
                .and_then(|verified| verified.map_err(ApiError::from));
            extracted(verified)
        })),
    }
}

struct Refetch(web::Data<AuthService>, String);

fn check_bearer(request: &HttpRequest) -> Result<Result<AccessClaims, ApiError>, Refetch> {
    let Some(auth) = request.app_data::<web::Data<AuthService>>() else {
        return Ok(Err(ApiError::Internal(
            "AuthService is not registered".into(),
        )));
    };
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Ok(Err(TokenError::Missing.into()));
    };
    let Ok(value) = value.to_str() else {
        return Ok(Err(TokenError::Malformed.into()));
    };
    let Some((scheme, token)) = value.split_once(' ') else {
        return Ok(Err(TokenError::Malformed.into()));
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(Err(TokenError::Missing.into()));
    }
    match auth.verify_access_token(token.trim()) {
        Err(TokenError::UnknownKey) => Err(Refetch(auth.clone(), token.trim().to_owned())),
        verified => Ok(verified.map_err(ApiError::from)),
    }
}

/// A query string that is read only after the caller's authorisation was checked: a caller
/// without the right gets 403, never a 400 that describes the route's parameters.
pub struct QueryAfterAuth<T>(Result<T, ApiError>);

impl<T> QueryAfterAuth<T> {
    pub fn checked(self) -> Result<T, ApiError> {
        self.0
    }
}

impl<T: serde::de::DeserializeOwned> FromRequest for QueryAfterAuth<T> {
    type Error = ApiError;
    type Future = Ready<Result<QueryAfterAuth<T>, ApiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let parsed = serde_urlencoded::from_str(request.query_string()).map_err(|error| {
            ApiError::BadRequest(format!("The query string is not valid: {error}."))
        });
        ready(Ok(QueryAfterAuth(parsed)))
    }
}

/// Proxies whose `X-Forwarded-For` header is believed (`LATCHKEY_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<ipnet::IpNet>);

impl TrustedProxies {
    fn trusts(&self, ip: &IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the rightmost
/// `X-Forwarded-For` entry that is not itself a trusted proxy. Entries further left are whatever
/// the client claimed, and are never used: walking from the right, an entry that is not an
/// address (`unknown`, an obfuscated name) ends the trusted chain, and the client is then the
/// last trusted hop seen.
pub fn client_ip(request: &HttpRequest) -> Option<IpAddr> {
    let peer = request.peer_addr()?.ip();
    let Some(proxies) = request.app_data::<web::Data<TrustedProxies>>() else {
        return Some(peer);
    };
    if !proxies.trusts(&peer) {
        return Some(peer);
    }
    let headers: Vec<&str> = request
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .collect();
    let entries = headers.iter().rev().flat_map(|value| value.rsplit(','));
    let mut last_trusted = peer;
    for entry in entries {
        match forwarded_address(entry) {
            Some(ip) if proxies.trusts(&ip) => last_trusted = ip,
            Some(ip) => return Some(ip),
            None => break,
        }
    }
    Some(last_trusted)
}

/// One `X-Forwarded-For` entry as an address: `203.0.113.7`, `203.0.113.7:5555`, `2001:db8::1`
/// or `[2001:db8::1]:443`. IPv4-mapped IPv6 addresses are the IPv4 address.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            let inside = entry.strip_prefix('[')?.split_once(']')?.0;
            inside.parse::<IpAddr>().ok()
        })?;
    Some(ip.to_canonical())
}

/// The client's address and User-Agent, as the domain records them.
pub fn client_info(request: &HttpRequest) -> ClientInfo {
    let ip = client_ip(request).map(|ip| ip.to_string());
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    ClientInfo::new(ip, user_agent)
}

impl FromRequest for ClientInfo {
    type Error = ApiError;
    type Future = Ready<Result<ClientInfo, ApiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(Ok(client_info(request)))
    }
}

#[cfg(test)]
mod tests {
    use super::forwarded_address;

    #[test]
    fn forwarded_entries_with_ports_and_brackets_are_addresses() {
        let ip = |text: &str| forwarded_address(text).map(|ip| ip.to_string());
        assert_eq!(ip(" 9.9.9.8 ").as_deref(), Some("9.9.9.8"));
        assert_eq!(ip("9.9.9.8:5555").as_deref(), Some("9.9.9.8"));
        assert_eq!(ip("2001:db8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("[2001:db8::1]:443").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("[2001:db8::1]").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("::ffff:9.9.9.8").as_deref(), Some("9.9.9.8"));
        for junk in ["unknown", "_hidden", "", "9.9.9.8:x", "[::1", "1.2.3"] {
            assert_eq!(ip(junk), None, "{junk:?}");
        }
    }
}
