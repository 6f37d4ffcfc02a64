//! Extractors for pages behind sign-in. Every request checks that the page session's session is
//! still live in the database, so a revoked or expired session leaves at once.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, web};

use super::{Layout, PageError, login_url, page_session};
use crate::auth::access::{Admin, Caller};
use crate::auth::types::{Account, SessionInfo};
use crate::auth::{AuthError, AuthService};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::endpoints::FormPage;
use crate::routes::extractors::client_info;

type Extracted<T> = Pin<Box<dyn Future<Output = Result<T, PageError>>>>;

/// A signed-in person with a live session.
pub struct PageUser {
    pub caller: Caller,
    pub page: Session,
}

impl PageUser {
    pub fn user(&self) -> &Account {
        self.caller.user()
    }

    pub fn session(&self) -> &SessionInfo {
        self.caller.session()
    }

    pub fn layout(&self) -> Layout {
        Layout::signed_in(&self.page, self.user())
    }
}

impl FromRequest for PageUser {
    type Error = PageError;
    type Future = Extracted<PageUser>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let page = request.get_session();
        let auth = request.app_data::<web::Data<AuthService>>().cloned();
        // After signing in, come back here; a form post comes back to the page of its form,
        // told that nothing was sent.
        let (next, ended) = match *request.method() {
            Method::GET => (
                request
                    .uri()
                    .path_and_query()
                    .map_or("/".to_owned(), |p| p.as_str().to_owned()),
                "ended",
            ),
            _ => (
                request
                    .app_data::<FormPage>()
                    .map_or("/", |page| page.0)
                    .to_owned(),
                "ended_form",
            ),
        };
        Box::pin(async move {
            let Some((user_id, session_id)) = page_session::signed_in(&page) else {
                return Err(PageError::Redirect(login_url(&next, None)));
            };
            match live_caller(auth, session_id).await {
                Ok(caller) if caller.user().id == *user_id => Ok(PageUser { caller, page }),
                Ok(_) | Err(ApiError::Auth(AuthError::SessionEnded)) => {
                    page_session::sign_out(&page);
                    Err(PageError::Redirect(login_url(&next, Some(ended))))
                }
                Err(other) => Err(other.into()),
            }
        })
    }
}

async fn live_caller(
    auth: Option<web::Data<AuthService>>,
    session_id: String,
) -> Result<Caller, ApiError> {
    let auth = auth.ok_or_else(|| ApiError::Internal("AuthService missing".into()))?;
    blocking(move || auth.live_session(&session_id)).await
}

/// The layout of whoever is signed in to this page session (nobody if its session ended), for
/// pages that do not require sign-in but should still show the right menu.
pub async fn current_layout(request: &HttpRequest) -> Layout {
    let page = request.get_session();
    let auth = request.app_data::<web::Data<AuthService>>().cloned();
    let caller = match page_session::signed_in(&page) {
        Some((user_id, session_id)) => live_caller(auth, session_id)
            .await
            .ok()
            .filter(|caller| caller.user().id == *user_id),
        None => None,
    };
    match &caller {
        Some(caller) => Layout::signed_in(&page, caller.user()),
        None => Layout::signed_out(request),
    }
}

/// A signed-in admin (the role as stored now) and the `Admin` value admin operations need;
/// anyone else gets the 403 page, recorded as `access_denied`. A form post also needs a recent
/// sign-in (else: confirm who you are, then back to the form's page).
pub struct AdminPage {
    pub admin: Admin,
    pub user: PageUser,
}

impl FromRequest for AdminPage {
    type Error = PageError;
    type Future = Extracted<AdminPage>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = PageUser::from_request(request, payload);
        let client = client_info(request);
        let auth = request.app_data::<web::Data<AuthService>>().cloned();
        // A change (a form post) needs a recent sign-in; the confirmation brings the admin back
        // to the page of the form.
        let changes_return_to = (!matches!(*request.method(), Method::GET | Method::HEAD))
            .then(|| page_of_form(request));
        Box::pin(async move {
            let user = user.await?;
            let auth = auth.ok_or_else(|| ApiError::Internal("AuthService missing".into()))?;
            if let Some(admin) = auth.admin_rights(&user.caller) {
                if let Some(back) = changes_return_to
                    && auth.fresh(user.caller.clone()).is_err()
                {
                    return Err(PageError::Redirect(super::links::confirm_identity(&back)));
                }
                if auth.config().require_mfa_for_admins {
                    let caller = user.caller.clone();
                    let service = auth.clone();
                    match blocking(move || service.check_admin_second_factor(&caller)).await {
                        Ok(()) => {}
                        Err(refused @ ApiError::Auth(AuthError::SecondFactorEnrolmentRequired)) => {
                            page_session::flash(&user.page, "info", refused.description().message);
                            return Err(PageError::Redirect("/account/two-factor".into()));
                        }
                        Err(other) => return Err(other.into()),
                    }
                }
                return Ok(AdminPage { admin, user });
            }
            let caller = user.caller.clone();
            let refused = blocking(move || Ok(auth.refuse_admin(&caller, &client))).await?;
            Err(PageError::from(refused).with_layout(user.layout()))
        })
    }
}

/// A signed-in person whose session proved who they are within the re-authentication window:
/// what pages that change second factors need. Anyone else is sent to confirm who they are,
/// and from there back to the page of the form.
pub struct FreshPageUser {
    pub fresh: crate::auth::factors::Fresh,
    pub user: PageUser,
}

impl FromRequest for FreshPageUser {
    type Error = PageError;
    type Future = Extracted<FreshPageUser>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = PageUser::from_request(request, payload);
        let auth = request.app_data::<web::Data<AuthService>>().cloned();
        let back = page_of_form(request);
        Box::pin(async move {
            let user = user.await?;
            let auth = auth.ok_or_else(|| ApiError::Internal("AuthService missing".into()))?;
            match auth.fresh(user.caller.clone()) {
                Ok(fresh) => Ok(FreshPageUser { fresh, user }),
                Err(refused) => Err(confirm_identity_or(refused, &back)),
            }
        })
    }
}

/// A signed-in person who may change their password or address on this page: an account with
/// a second factor must have a fresh session (the current password the form asks for is not
/// enough on its own); anyone else goes to confirm who they are first, and comes back here.
pub struct CredentialPageUser(pub PageUser);

impl FromRequest for CredentialPageUser {
    type Error = PageError;
    type Future = Extracted<CredentialPageUser>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = PageUser::from_request(request, payload);
        let auth = request.app_data::<web::Data<AuthService>>().cloned();
        let back = page_of_form(request);
        Box::pin(async move {
            let user = user.await?;
            let auth = auth.ok_or_else(|| ApiError::Internal("AuthService missing".into()))?;
            let caller = user.caller.clone();
            let checked = blocking(move || Ok(auth.step_up_for_credential_change(&caller))).await?;
            match checked {
                Ok(()) => Ok(CredentialPageUser(user)),
                Err(refused) => Err(confirm_identity_or(refused, &back)),
            }
        })
    }
}

/// The page a request belongs to: its own path for a GET, the page of the form for a post.
fn page_of_form(request: &HttpRequest) -> String {
    match *request.method() {
        Method::GET => request.uri().path().to_owned(),
        _ => request
            .app_data::<FormPage>()
            .map_or("/", |page| page.0)
            .to_owned(),
    }
}

/// A stale session goes to "confirm it's you" and from there back to `back`.
fn confirm_identity_or(refused: AuthError, back: &str) -> PageError {
    match refused {
        AuthError::ReauthenticationRequired => {
            PageError::Redirect(super::links::confirm_identity(back))
        }
        other => ApiError::from(other).into(),
    }
}
