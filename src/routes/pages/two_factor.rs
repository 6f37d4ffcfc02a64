//! "Two-factor authentication" on the account: set up an authenticator app (QR code, first
//! code), see and renew recovery codes, remove the app. Changes need a recent sign-in
//! (`FreshPageUser`); recovery codes are shown once, on the answer to the post that made them.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::guard::{FreshPageUser, PageUser};
use super::{
    Confirmed, Csrf, Layout, NoFields, PageError, format, links, page_session, render, see_other,
};
use crate::auth::factors::{Factors, RECOVERY_CODES_LOW, TotpSetup};
use crate::auth::sessions::ClientInfo;
use crate::auth::{AuthError, AuthService};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::page;

const OVERVIEW: &str = "/account/two-factor";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page(OVERVIEW).get(overview))
        .service(page("/account/two-factor/totp").get(setup).post(begin))
        .service(page("/account/two-factor/totp/qr.svg").get(qr_code))
        .service(
            page("/account/two-factor/totp/confirm")
                .post(confirm)
                .get_goes_to("/account/two-factor/totp"),
        )
        .service(
            page("/account/two-factor/totp/remove")
                .post(remove)
                .get_goes_to(OVERVIEW)
                .confirm(
                    "Remove the authenticator app? Signing in will need only your password again, and your recovery codes stop working.",
                    "Remove",
                ),
        )
        .service(
            page("/account/two-factor/recovery-codes")
                .post(new_codes)
                .get_goes_to(OVERVIEW)
                .confirm(
                    "Make new recovery codes? The ones you have now stop working.",
                    "Make new codes",
                ),
        );
}

#[derive(Template)]
#[template(path = "account/two_factor.html")]
struct OverviewPage {
    layout: Layout,
    factors: Factors,
    low: bool,
    passkeys: Vec<PasskeyRow>,
    passkeys_available: bool,
}

/// One passkey in the list, with its remove button's action.
struct PasskeyRow {
    name: String,
    created: String,
    last_used: String,
    remove_action: String,
}

#[derive(Template)]
#[template(path = "account/totp_setup.html")]
struct SetupPage {
    layout: Layout,
    setup: TotpSetup,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "account/recovery_codes.html")]
struct CodesPage {
    layout: Layout,
    codes: Vec<String>,
    /// Just after the app was set up (not a renewal).
    first: bool,
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn overview(user: PageUser, auth: web::Data<AuthService>) -> Result<HttpResponse, PageError> {
    let caller = user.caller.clone();
    let passkeys_available = auth.passkeys_available();
    let now = auth.clock().now();
    let (factors, passkeys) =
        blocking(move || Ok((auth.my_factors(&caller)?, auth.my_passkeys(&caller)?))).await?;
    let passkeys = passkeys
        .into_iter()
        .map(|view| PasskeyRow {
            created: format::date(view.created_at),
            last_used: view
                .last_used_at
                .map_or_else(|| "never".to_owned(), |at| format::relative_time(at, now)),
            remove_action: format!("/account/passkeys/{}/remove", links::segment(&view.id)),
            name: view.name,
        })
        .collect();
    let page = OverviewPage {
        layout: user.layout(),
        low: factors.any() && factors.recovery_codes_left <= RECOVERY_CODES_LOW,
        factors,
        passkeys,
        passkeys_available,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The page that shows new recovery codes, once.
pub(super) fn codes_page(user: &PageUser, codes: Vec<String>, first: bool) -> HttpResponse {
    render(
        StatusCode::OK,
        &CodesPage {
            layout: user.layout(),
            codes,
            first,
        },
    )
}

async fn begin(
    FreshPageUser { fresh, user }: FreshPageUser,
    auth: web::Data<AuthService>,
    _: Csrf<NoFields>,
) -> Result<HttpResponse, PageError> {
    match blocking(move || auth.begin_totp(&fresh)).await {
        Ok(_) => Ok(see_other("/account/two-factor/totp")),
        Err(refused @ ApiError::Auth(AuthError::TotpAlreadyActive)) => {
            page_session::flash(&user.page, "info", refused.description().message);
            Ok(see_other(OVERVIEW))
        }
        Err(other) => Err(other.into()),
    }
}

async fn setup(user: PageUser, auth: web::Data<AuthService>) -> Result<HttpResponse, PageError> {
    let caller = user.caller.clone();
    match blocking(move || auth.pending_totp(&caller)).await? {
        Some(setup) => Ok(render(
            StatusCode::OK,
            &SetupPage {
                layout: user.layout(),
                setup,
                error: None,
            },
        )),
        None => Ok(see_other(OVERVIEW)),
    }
}

/// The waiting set-up's QR code, as an SVG image from this origin (what the CSP allows). It
/// holds the secret: never cached.
async fn qr_code(user: PageUser, auth: web::Data<AuthService>) -> Result<HttpResponse, PageError> {
    let caller = user.caller.clone();
    let Some(setup) = blocking(move || auth.pending_totp(&caller)).await? else {
        return Err(ApiError::NotFound("No set-up is waiting for its first code.".into()).into());
    };
    let svg = qrcode::QrCode::new(setup.otpauth_uri.as_bytes())
        .map_err(|e| ApiError::Internal(format!("QR code: {e}")))?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "image/svg+xml"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(svg))
}

async fn confirm(
    FreshPageUser { fresh, user }: FreshPageUser,
    auth: web::Data<AuthService>,
    Csrf(form): Csrf<CodeForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let service = auth.clone();
    match blocking(move || service.confirm_totp(&fresh, &form.code, &client)).await {
        Ok(codes) => Ok(codes_page(&user, codes, true)),
        Err(ApiError::Auth(AuthError::Invalid(errors))) => {
            let caller = user.caller.clone();
            let Some(setup) = blocking(move || auth.pending_totp(&caller)).await? else {
                return Ok(see_other(OVERVIEW));
            };
            let page = SetupPage {
                layout: user.layout(),
                setup,
                error: errors.into_iter().next().map(|e| e.message),
            };
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(refused @ ApiError::Auth(AuthError::TotpAlreadyActive | AuthError::TotpNotStarted)) => {
            page_session::flash(&user.page, "info", refused.description().message);
            Ok(see_other(OVERVIEW))
        }
        Err(other) => Err(other.into()),
    }
}

async fn remove(
    auth: web::Data<AuthService>,
    Confirmed {
        by: FreshPageUser { fresh, user },
        ..
    }: Confirmed<FreshPageUser, NoFields>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let message = match blocking(move || auth.remove_totp(&fresh, &client)).await {
        Ok(()) => ("success", "The authenticator app is removed.".into()),
        Err(refused @ ApiError::Auth(AuthError::NoSecondFactor)) => {
            ("info", refused.description().message)
        }
        Err(other) => return Err(other.into()),
    };
    page_session::flash(&user.page, message.0, message.1);
    Ok(see_other(OVERVIEW))
}

async fn new_codes(
    auth: web::Data<AuthService>,
    Confirmed {
        by: FreshPageUser { fresh, user },
        ..
    }: Confirmed<FreshPageUser, NoFields>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    match blocking(move || auth.regenerate_recovery_codes(&fresh, &client)).await {
        Ok(codes) => Ok(codes_page(&user, codes, false)),
        Err(refused @ ApiError::Auth(AuthError::NoSecondFactor)) => {
            page_session::flash(&user.page, "info", refused.description().message);
            Ok(see_other(OVERVIEW))
        }
        Err(other) => Err(other.into()),
    }
}
