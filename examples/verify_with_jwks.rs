//! A downstream service that trusts Latchkey's access tokens: what an API behind Latchkey
//! copies. It verifies tokens offline with the keys from `/.well-known/jwks.json`, caches them
//! for the `max-age` the server sends, and fetches again when a token names a `kid` it has not
//! seen (after a key rotation), at most once a second.
//!
//! Run Latchkey (`cargo run --release`), then:
//!
//! ```sh
//! LATCHKEY_URL=http://127.0.0.1:8080 cargo run --example verify_with_jwks
//! curl -H "Authorization: Bearer $ACCESS_TOKEN" http://127.0.0.1:8081/hello
//! ```
//!
//! Settings: `LATCHKEY_URL` (where Latchkey is), `LATCHKEY_ISSUER` and `LATCHKEY_AUDIENCE`
//! (both `latchkey` by default), `DOWNSTREAM_ADDR` (default `127.0.0.1:8081`).

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{App, FromRequest, HttpRequest, HttpResponse, HttpServer, ResponseError, web};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::json;

/// A token naming an unknown `kid` triggers at most one refetch per this interval, so garbage
/// tokens cannot make us hammer the JWKS endpoint (a real rotation is seen within a second).
const MIN_REFETCH: Duration = Duration::from_secs(1);
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// The claims this service uses; Latchkey's tokens carry more (see its README).
#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    name: String,
    role: String,
}

#[derive(Deserialize)]
struct Jwk {
    kid: String,
    x: String,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

struct Keys {
    by_kid: HashMap<String, DecodingKey>,
    fetched: Option<Instant>,
    max_age: Duration,
}

/// Latchkey's public keys, cached.
struct JwksCache {
    url: String,
    client: reqwest::Client,
    keys: RwLock<Keys>,
}

impl JwksCache {
    fn new(latchkey_url: &str) -> JwksCache {
        JwksCache {
            url: format!(
                "{}/.well-known/jwks.json",
                latchkey_url.trim_end_matches('/')
            ),
            client: reqwest::Client::new(),
            keys: RwLock::new(Keys {
                by_kid: HashMap::new(),
                fetched: None,
                max_age: DEFAULT_MAX_AGE,
            }),
        }
    }

    /// The key for `kid`: from the cache while it is fresh, else fetched again.
    async fn key(&self, kid: &str) -> Option<DecodingKey> {
        let (known, fresh, may_refetch) = {
            let keys = self.keys.read().ok()?;
            let age = keys.fetched.map(|at| at.elapsed());
            (
                keys.by_kid.get(kid).cloned(),
                age.is_some_and(|age| age < keys.max_age),
                age.is_none_or(|age| age >= MIN_REFETCH),
            )
        };
        match known {
            Some(key) if fresh => Some(key),
            // Stale, or an unknown kid (a rotation happened): fetch, unless we just did.
            _ if may_refetch => {
                if let Err(error) = self.refresh().await {
                    eprintln!("fetching {} failed: {error}", self.url);
                }
                self.keys.read().ok()?.by_kid.get(kid).cloned()
            }
            known => known,
        }
    }

    async fn refresh(&self) -> Result<(), reqwest::Error> {
        let response = self
            .client
            .get(&self.url)
            .send()
            .await?
            .error_for_status()?;
        let max_age = response
            .headers()
            .get("cache-control")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value
                    .split(',')
                    .find_map(|part| part.trim().strip_prefix("max-age="))
                    .and_then(|seconds| seconds.parse().ok())
            })
            .map_or(DEFAULT_MAX_AGE, Duration::from_secs);
        let set: JwkSet = response.json().await?;
        let by_kid = set
            .keys
            .into_iter()
            .filter_map(|jwk| {
                // Ed25519 public keys: `x` is the raw 32-byte key, base64url.
                let key = DecodingKey::from_ed_components(&jwk.x).ok()?;
                Some((jwk.kid, key))
            })
            .collect();
        if let Ok(mut keys) = self.keys.write() {
            *keys = Keys {
                by_kid,
                fetched: Some(Instant::now()),
                max_age,
            };
        }
        Ok(())
    }
}

struct Verifier {
    jwks: JwksCache,
    validation: Validation,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Unauthorized(&'static str);

impl ResponseError for Unauthorized {
    fn error_response(&self) -> HttpResponse {
        HttpResponse::Unauthorized()
            .insert_header((
                header::WWW_AUTHENTICATE,
                format!(
                    "Bearer error=\"invalid_token\", error_description=\"{}\"",
                    self.0
                ),
            ))
            .json(json!({ "error": "invalid_token", "detail": self.0 }))
    }
}

/// An extractor: the handler runs only for a valid Latchkey access token.
struct Authenticated(Claims);

impl FromRequest for Authenticated {
    type Error = Unauthorized;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Unauthorized>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verifier = request.app_data::<web::Data<Verifier>>().cloned();
        let token = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::to_owned);
        Box::pin(async move {
            let verifier = verifier.ok_or(Unauthorized("not configured"))?;
            let token = token.ok_or(Unauthorized("send Authorization: Bearer <token>"))?;
            let header =
                jsonwebtoken::decode_header(&token).map_err(|_| Unauthorized("malformed"))?;
            if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some("at+jwt") {
                return Err(Unauthorized("not a Latchkey access token"));
            }
            if header.jwk.is_some() || header.jku.is_some() || header.x5u.is_some() {
                return Err(Unauthorized("embedded keys are not trusted"));
            }
            let kid = header.kid.ok_or(Unauthorized("no kid"))?;
            let key = verifier
                .jwks
                .key(&kid)
                .await
                .ok_or(Unauthorized("unknown key"))?;
            let data = jsonwebtoken::decode::<Claims>(&token, &key, &verifier.validation)
                .map_err(|_| Unauthorized("invalid or expired"))?;
            Ok(Authenticated(data.claims))
        })
    }
}

async fn hello(Authenticated(claims): Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "hello": claims.name,
        "user_id": claims.sub,
        "role": claims.role,
    }))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let latchkey = env("LATCHKEY_URL", "http://127.0.0.1:8080");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.leeway = 5;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
    validation.set_issuer(&[env("LATCHKEY_ISSUER", "latchkey")]);
    validation.set_audience(&[env("LATCHKEY_AUDIENCE", "latchkey")]);
    let verifier = web::Data::new(Verifier {
        jwks: JwksCache::new(&latchkey),
        validation,
    });

    let listener = TcpListener::bind(env("DOWNSTREAM_ADDR", "127.0.0.1:8081"))?;
    let addr = listener.local_addr()?;
    println!(
        "verifying Latchkey tokens from {latchkey}; listening on http://{addr} (port {})",
        addr.port()
    );
    HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            .route("/hello", web::get().to(hello))
    })
    .workers(2)
    .listen(listener)?
    .run()
    .await
}
