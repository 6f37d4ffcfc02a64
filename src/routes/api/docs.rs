//! The OpenAPI 3.1 document, generated from the handlers' annotations, and Swagger UI at /docs.

use std::sync::OnceLock;

use actix_web::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpResponse, web};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::docs_answers::{self, StandardAnswers};
use super::{
    admin, auth, events, factors, me, mfa, outbox, passkeys, password, recovery, sessions,
};
use crate::auth::AuthService;
use crate::error::{FieldProblem, Problem};
use crate::routes::{browser, health, jwks, resource};

pub const OPENAPI_PATH: &str = "/api/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latchkey",
        description = "Self-hosted authentication: sign-in, short-lived EdDSA access tokens \
            (verify them offline with /.well-known/jwks.json), rotating refresh tokens, sessions \
            and an audit trail. Errors are RFC 9457 problem details (`application/problem+json`).",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        auth::register, auth::login, auth::refresh, auth::logout, auth::revoke,
        me::me, me::change_email, password::change, events::my_events,
        sessions::list, sessions::revoke_others, sessions::revoke_one,
        admin::users, admin::sessions, admin::revoke_session, admin::revoke_user_sessions,
        admin::disable_user, admin::enable_user, admin::throttles, admin::clear_throttle,
        events::all_events, outbox::outbox,
        recovery::request_reset, recovery::confirm_reset, recovery::verify_email,
        recovery::resend_verification,
        mfa::second_step, factors::factors, factors::begin_totp, factors::confirm_totp,
        factors::remove_totp, factors::new_recovery_codes, factors::reauthenticate,
        admin::reset_factors,
        passkeys::list_passkeys, passkeys::begin_registration, passkeys::finish_registration,
        passkeys::remove_passkey, passkeys::begin_sign_in, passkeys::finish_sign_in,
        browser::refresh, browser::logout,
        jwks::jwks, health::healthz, health::readyz,
    ),
    components(schemas(Problem, FieldProblem)),
    modifiers(&SecuritySchemes, &StandardAnswers),
    tags(
        (name = "auth", description = "Register, sign in, refresh, sign out"),
        (name = "me", description = "The signed-in user"),
        (name = "sessions", description = "The signed-in user's sessions"),
        (name = "admin", description = "Everyone's users, sessions, throttles and audit events (admin role)"),
        (name = "browser", description = "The HttpOnly-cookie flow for JavaScript on this site"),
        (name = "tokens", description = "Keys for verifying access tokens elsewhere"),
        (name = "operations", description = "Health and readiness"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from login or refresh"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "refresh_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "latchkey_refresh",
                "The HttpOnly refresh cookie (`__Host-latchkey_refresh` over HTTPS)",
            ))),
        );
    }
}

/// The document as JSON for a server whose passwords need at least `password_min_chars`
/// characters (the one rule of the document that is a setting), built once per value.
pub fn openapi_json(password_min_chars: usize) -> String {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    let mut document = DOCUMENT.get_or_init(ApiDoc::openapi).clone();
    docs_answers::set_password_minimum(&mut document, password_min_chars);
    document
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/openapi.json").get(document));
}

async fn document(auth: web::Data<AuthService>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json"))
        .body(openapi_json(auth.config().password_min_chars))
}

/// Swagger UI at `/docs/`, from assets compiled into the binary (no CDN). Its scripts are files
/// of our origin, but it sets inline styles and data: images, so only these pages get a CSP
/// that allows them.
pub fn swagger_ui(cfg: &mut web::ServiceConfig) {
    let csp = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
               frame-ancestors 'none'; form-action 'self'";
    cfg.service(web::resource("/docs").route(web::get().to(|| async {
        HttpResponse::PermanentRedirect()
            .insert_header((LOCATION, "/docs/"))
            .finish()
    })))
    .service(
        web::scope("/docs")
            .wrap(DefaultHeaders::new().add((CONTENT_SECURITY_POLICY, csp)))
            .service(
                SwaggerUi::new("/{_:.*}").config(
                    Config::from(OPENAPI_PATH)
                        .persist_authorization(false)
                        .try_it_out_enabled(true),
                ),
            ),
    );
}
