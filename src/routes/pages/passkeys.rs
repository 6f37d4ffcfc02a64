//! Passkeys on the pages. `static/passkeys.js` fetches the options (a form post with the CSRF
//! token, answered with JSON) and posts the authenticator's answer as a form; these answer it
//! like any form: a redirect with a message, or the page of recovery codes.

use actix_session::SessionExt;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::guard::FreshPageUser;
use super::login::signed_in;
use super::two_factor::codes_page;
use super::{Confirmed, Csrf, NoFields, PageError, page_session, see_other};
use crate::auth::sessions::ClientInfo;
use crate::auth::{AuthError, AuthService};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::cookies::CookiePolicy;
use crate::routes::limits::{Limit, RateLimits};
use crate::routes::page;

const OVERVIEW: &str = "/account/two-factor";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        page("/account/passkeys/begin")
            .post(begin_registration)
            .get_goes_to(OVERVIEW),
    )
    .service(
        page("/account/passkeys")
            .post(finish_registration)
            .get_goes_to(OVERVIEW),
    )
    .service(
        page("/account/passkeys/{id}/remove")
            .post(remove)
            .get_goes_to(OVERVIEW)
            .confirm(
                "Remove this passkey? It will not sign in here any more; if it is your last second factor, signing in needs only your password and your recovery codes stop working.",
                "Remove",
            ),
    )
    .service(page("/login/passkey/begin").post(begin_sign_in).get_goes_to("/login"))
    .service(page("/login/passkey").post(finish_sign_in).get_goes_to("/login"));
}

#[derive(Deserialize)]
struct RegisterForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    credential: String,
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    challenge_id: String,
    #[serde(default)]
    credential: String,
}

const NEEDS_SCRIPT: &str =
    "Passkeys need JavaScript in this browser (the page asks the browser to create or use one).";

/// Creation options as JSON (`static/passkeys.js` asks for them).
async fn begin_registration(
    FreshPageUser { fresh, .. }: FreshPageUser,
    auth: web::Data<AuthService>,
    _: Csrf<NoFields>,
) -> Result<HttpResponse, ApiError> {
    let options = blocking(move || auth.begin_passkey_registration(&fresh)).await?;
    Ok(HttpResponse::Ok().json(options))
}

async fn finish_registration(
    FreshPageUser { fresh, user }: FreshPageUser,
    auth: web::Data<AuthService>,
    Csrf(form): Csrf<RegisterForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let Ok(credential) = serde_json::from_str::<RegisterPublicKeyCredential>(&form.credential)
    else {
        page_session::flash(&user.page, "error", NEEDS_SCRIPT);
        return Ok(see_other(OVERVIEW));
    };
    let outcome = blocking(move || {
        auth.finish_passkey_registration(&fresh, &form.name, &credential, &client)
    })
    .await;
    match outcome {
        Ok(registered) => match registered.recovery_codes {
            Some(codes) => Ok(codes_page(&user, codes, true)),
            None => {
                let text = format!("The passkey \"{}\" is added.", registered.passkey.name);
                page_session::flash(&user.page, "success", text);
                Ok(see_other(OVERVIEW))
            }
        },
        Err(ApiError::Auth(AuthError::Invalid(errors))) => {
            for error in errors {
                page_session::flash(&user.page, "error", error.message);
            }
            Ok(see_other(OVERVIEW))
        }
        Err(
            refused @ ApiError::Auth(
                AuthError::PasskeyRefused
                | AuthError::PasskeyCeremonyInvalid
                | AuthError::PasskeyExists
                | AuthError::PasskeysUnavailable,
            ),
        ) => {
            page_session::flash(&user.page, "error", refused.description().message);
            Ok(see_other(OVERVIEW))
        }
        Err(other) => Err(other.into()),
    }
}

async fn remove(
    auth: web::Data<AuthService>,
    path: web::Path<String>,
    Confirmed {
        by: FreshPageUser { fresh, user },
        ..
    }: Confirmed<FreshPageUser, NoFields>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    match blocking(move || auth.remove_passkey(&fresh, &id, &client)).await {
        Ok(()) => page_session::flash(&user.page, "success", "The passkey is removed."),
        Err(refused @ ApiError::Auth(AuthError::PasskeyNotFound)) => {
            page_session::flash(&user.page, "info", refused.description().message);
        }
        Err(other) => return Err(other.into()),
    }
    Ok(see_other(OVERVIEW))
}

/// Request options as JSON, and the ceremony's id.
async fn begin_sign_in(
    auth: web::Data<AuthService>,
    limits: web::Data<RateLimits>,
    _: Csrf<NoFields>,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    limits.check(Limit::Login, client.ip.as_deref())?;
    let options = blocking(move || auth.begin_passkey_sign_in()).await?;
    Ok(HttpResponse::Ok().json(options))
}

/// Signs in with the passkey; when a password sign-in waits for its second factor in this
/// browser, the passkey finishes that one (it must be the same account's).
async fn finish_sign_in(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    cookies: web::Data<CookiePolicy>,
    limits: web::Data<RateLimits>,
    Csrf(form): Csrf<SignInForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let page = request.get_session();
    limits.check(Limit::Login, client.ip.as_deref())?;
    let pending = page_session::pending_sign_in(&page);
    let back = if pending.is_some() {
        "/login/second-factor"
    } else {
        "/login"
    };
    let Ok(credential) = serde_json::from_str::<PublicKeyCredential>(&form.credential) else {
        page_session::flash(&page, "error", NEEDS_SCRIPT);
        return Ok(see_other(back));
    };
    let replaced = page_session::signed_in(&page).map(|(_, session_id)| session_id);
    let mfa_token = pending.as_ref().map(|p| p.mfa_token.clone());
    let outcome = blocking(move || {
        let tokens = auth.finish_passkey_sign_in(
            &form.challenge_id,
            &credential,
            mfa_token.as_deref(),
            &client,
        )?;
        if let Some(old) = replaced {
            auth.logout(&old, &client)?;
        }
        Ok(tokens)
    })
    .await;
    match outcome {
        Ok(tokens) => {
            let next = pending.map_or_else(|| "/".to_owned(), |p| p.next);
            Ok(signed_in(&page, &cookies, tokens, &next))
        }
        Err(
            refused @ ApiError::Auth(
                AuthError::PasskeyRefused
                | AuthError::PasskeyCeremonyInvalid
                | AuthError::PasskeysUnavailable
                | AuthError::SignInStepInvalid,
            ),
        ) => {
            page_session::flash(&page, "error", refused.description().message);
            Ok(see_other(back))
        }
        Err(other) => Err(other.into()),
    }
}
