//! The stylesheet and scripts, compiled into the binary so it runs from any directory.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};

use super::resource;

const APP_CSS: &str = include_str!("../../static/app.css");
const LATCHKEY_JS: &str = include_str!("../../static/latchkey.js");
const CONFIRM_JS: &str = include_str!("../../static/confirm.js");
const PASSKEYS_JS: &str = include_str!("../../static/passkeys.js");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/static/app.css").get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
    )
    .service(
        resource("/static/latchkey.js")
            .get(|| async { asset("text/javascript; charset=utf-8", LATCHKEY_JS) }),
    )
    .service(
        resource("/static/confirm.js")
            .get(|| async { asset("text/javascript; charset=utf-8", CONFIRM_JS) }),
    )
    .service(
        resource("/static/passkeys.js")
            .get(|| async { asset("text/javascript; charset=utf-8", PASSKEYS_JS) }),
    );
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        // Short: a new release's assets reach browsers within minutes.
        .insert_header((CACHE_CONTROL, "public, max-age=300"))
        .body(body)
}
