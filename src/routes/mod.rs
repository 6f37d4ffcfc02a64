//! HTTP routes. Handlers parse, call the domain on a blocking thread, and map the result.

pub mod addresses;
pub mod api;
mod assets;
pub mod body_timeout;
mod browser;
pub mod caller;
pub mod cookies;
pub mod endpoints;
pub mod extractors;
pub mod health;
pub mod jwks;
pub mod limits;
pub mod metrics;
pub mod pages;
pub mod request_id;

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::sessions::ClientInfo;
use crate::auth::{AuthError, AuthService, IssuedTokens};
use crate::error::ApiError;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json_config())
        .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .configure(health::configure)
        .configure(jwks::configure)
        .configure(api::docs::swagger_ui)
        .configure(api::configure)
        .configure(browser::configure)
        .configure(assets::configure)
        .configure(pages::configure);
}

/// Answers every path no route matched: a problem body for machine paths, a page for people.
pub async fn not_found(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = request.path();
    if ["/api/", "/auth/", "/.well-known/", "/static/"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
    {
        return Err(ApiError::NotFound(format!("Nothing lives at {path}.")));
    }
    Ok(pages::not_found(request).await)
}

pub use endpoints::{page, resource};

fn remember(path: &'static str) {
    if let Ok(mut paths) = registered().lock() {
        paths.insert(path);
    }
}

fn remember_page(path: &'static str) {
    if let Ok(mut paths) = registered_pages().lock() {
        paths.insert(path);
    }
}

type PathSet = Mutex<BTreeSet<&'static str>>;

fn registered() -> &'static PathSet {
    static PATHS: OnceLock<PathSet> = OnceLock::new();
    PATHS.get_or_init(Default::default)
}

fn registered_pages() -> &'static PathSet {
    static PATHS: OnceLock<PathSet> = OnceLock::new();
    PATHS.get_or_init(Default::default)
}

/// Every path built with `resource` in this process.
pub fn registered_paths() -> Vec<&'static str> {
    registered()
        .lock()
        .map(|paths| paths.iter().copied().collect())
        .unwrap_or_default()
}

/// Every path built with `page` in this process.
pub fn registered_page_paths() -> Vec<&'static str> {
    registered_pages()
        .lock()
        .map(|paths| paths.iter().copied().collect())
        .unwrap_or_default()
}

/// Runs domain work (Diesel, bcrypt) on the blocking pool, never on an async worker. The
/// request's span goes along, so the domain's log lines carry the request id.
pub async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, AuthError> + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    web::block(move || span.in_scope(work))
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
        .map_err(ApiError::from)
}

/// A refresh. On SQLite the rotation waits for its group commit without holding a thread, and
/// the first refresh to find nobody applying the queue starts the one who does; on PostgreSQL
/// it runs on a blocking thread like any write.
pub async fn refresh_tokens(
    auth: web::Data<AuthService>,
    presented: String,
    client: ClientInfo,
) -> Result<IssuedTokens, ApiError> {
    let Some(queued) = auth.queue_refresh(&presented, &client)? else {
        return blocking(move || auth.refresh(&presented, &client)).await;
    };
    if queued.lead {
        let leader = auth.clone();
        // Detached: the leader answers every queued refresh itself.
        drop(actix_web::rt::task::spawn_blocking(move || {
            leader.lead_rotations()
        }));
    }
    Ok(auth.finish_refresh(queued).await?)
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .error_handler(|error, _request| json_error(error).into())
}

fn json_error(error: JsonPayloadError) -> ApiError {
    match error {
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType(
            "Send the body as JSON with the header Content-Type: application/json.".into(),
        ),
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge
        }
        JsonPayloadError::Payload(error) if body_timeout::timed_out(&error) => {
            ApiError::RequestTimeout
        }
        JsonPayloadError::Deserialize(error) if error.is_data() => ApiError::Unprocessable(
            format!("The JSON body does not fit this endpoint: {error}."),
        ),
        JsonPayloadError::Deserialize(error) => {
            ApiError::BadRequest(format!("The body is not valid JSON: {error}."))
        }
        other => ApiError::BadRequest(format!("The request body could not be read: {other}.")),
    }
}

fn query_error(error: QueryPayloadError, _request: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(format!("The query string is not valid: {error}.")).into()
}

fn path_error(_error: PathError, request: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound(format!("Nothing lives at {}.", request.path())).into()
}
