//! Who is calling the JSON API, as extractors: a handler that needs a live session or an admin
//! says so in its signature and never runs the check itself.
//!
//! `Bearer` (in `extractors.rs`) only verifies the access token offline. `LiveSession` adds the
//! database check that the token's session is live and its user enabled, and `AdminSession`
//! adds the stored role and carries the `Admin` value that admin operations require.

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use crate::auth::AuthService;
use crate::auth::access::{Admin, Caller};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::extractors::{Bearer, client_info};

/// A caller whose access token is valid and whose session is live now.
pub struct LiveSession {
    pub caller: Caller,
}

impl FromRequest for LiveSession {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<LiveSession, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bearer = Bearer::from_request(request, payload);
        let auth = request.app_data::<web::Data<AuthService>>().cloned();
        Box::pin(async move {
            let Bearer(claims) = bearer.await?;
            let auth = auth.ok_or_else(|| ApiError::Internal("AuthService missing".into()))?;
            let caller = blocking(move || auth.live_session(&claims.sid)).await?;
            Ok(LiveSession { caller })
        })
    }
}

/// A caller with a live session whose user is an admin now (the role as stored, not as the
/// token says). Anyone else gets 403, recorded as `access_denied`. A change (any method but
/// GET) also needs the session to be fresh (`reauthentication_required` otherwise), and with
/// `LATCHKEY_REQUIRE_MFA=admins` the admin to have a second factor.
pub struct AdminSession {
    pub admin: Admin,
}

impl FromRequest for AdminSession {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<AdminSession, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let live = LiveSession::from_request(request, payload);
        let auth = request.app_data::<web::Data<AuthService>>().cloned();
        let client = client_info(request);
        let changes = !matches!(*request.method(), Method::GET | Method::HEAD);
        Box::pin(async move {
            let LiveSession { caller } = live.await?;
            let auth = auth.ok_or_else(|| ApiError::Internal("AuthService missing".into()))?;
            let admin = auth.admin_rights(&caller);
            if admin.is_some() && changes {
                auth.fresh(caller.clone())?;
            }
            match admin {
                Some(admin) if auth.config().require_mfa_for_admins => {
                    blocking(move || auth.check_admin_second_factor(&caller)).await?;
                    Ok(AdminSession { admin })
                }
                Some(admin) => Ok(AdminSession { admin }),
                None => {
                    let refused = blocking(move || Ok(auth.refuse_admin(&caller, &client))).await?;
                    Err(refused.into())
                }
            }
        })
    }
}

/// A caller whose session proved who they are within the re-authentication window: what a
/// change to second factors needs. Anyone else gets 403 `reauthentication_required`.
pub struct FreshSession {
    pub fresh: crate::auth::factors::Fresh,
}

impl FromRequest for FreshSession {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<FreshSession, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let live = LiveSession::from_request(request, payload);
        let auth = request.app_data::<web::Data<AuthService>>().cloned();
        Box::pin(async move {
            let LiveSession { caller } = live.await?;
            let auth = auth.ok_or_else(|| ApiError::Internal("AuthService missing".into()))?;
            Ok(FreshSession {
                fresh: auth.fresh(caller)?,
            })
        })
    }
}
