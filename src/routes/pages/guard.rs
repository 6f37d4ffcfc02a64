//! Extractors for pages behind sign-in. Every request checks that the page session's session is
//! still live in the database, so a revoked or expired session leaves at once.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, web};

use super::{Layout, PageError, login_url, page_session};
use crate::auth::sessions::ROLE_ADMIN;
use crate::auth::{AuthError, AuthService};
use crate::db::models::{Session as AuthSession, User};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::extractors::client_info;

type Extracted<T> = Pin<Box<dyn Future<Output = Result<T, PageError>>>>;

/// A signed-in person with a live session.
pub struct PageUser {
    pub user: User,
    pub session: AuthSession,
    pub page: Session,
}

impl PageUser {
    pub fn layout(&self) -> Layout {
        Layout::new(&self.page, Some(&self.user))
    }

    pub fn check_csrf(&self, submitted: &str) -> Result<(), PageError> {
        super::check_csrf(&self.page, submitted, Some(&self.user))
    }
}

impl FromRequest for PageUser {
    type Error = PageError;
    type Future = Extracted<PageUser>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let page = request.get_session();
        let auth = request.app_data::<web::Data<AuthService>>().cloned();
        // After signing in, come back here; form posts come back to the account page.
        let next = match *request.method() {
            Method::GET => request
                .uri()
                .path_and_query()
                .map_or("/".to_owned(), |p| p.as_str().to_owned()),
            _ => "/".to_owned(),
        };
        Box::pin(async move {
            let auth = auth.ok_or_else(|| PageError::Internal("AuthService missing".into()))?;
            let Some((user_id, session_id)) = page_session::signed_in(&page) else {
                return Err(PageError::Redirect(login_url(&next, None)));
            };
            match blocking(move || auth.live_session(&session_id)).await {
                Ok((session, user)) if user.id == user_id => Ok(PageUser {
                    user,
                    session,
                    page,
                }),
                Ok(_) | Err(ApiError::Auth(AuthError::SessionEnded)) => {
                    page_session::sign_out(&page);
                    Err(PageError::Redirect(login_url(&next, Some("ended"))))
                }
                Err(other) => Err(other.into()),
            }
        })
    }
}

/// A signed-in admin (the role as stored now); anyone else gets the 403 page.
pub struct AdminPage(pub PageUser);

impl FromRequest for AdminPage {
    type Error = PageError;
    type Future = Extracted<AdminPage>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = PageUser::from_request(request, payload);
        let client = client_info(request);
        let auth = request.app_data::<web::Data<AuthService>>().cloned();
        Box::pin(async move {
            let user = user.await?;
            if user.user.role != ROLE_ADMIN {
                if let Some(auth) = auth {
                    let (account, session) = (user.user.clone(), user.session.clone());
                    blocking(move || auth.deny_admin_access(&account, &session, &client)).await?;
                }
                let layout = user.layout();
                return Err(PageError::Forbidden(
                    "This page is for administrators. Ask one if you need access.".into(),
                )
                .with_layout(layout));
            }
            Ok(AdminPage(user))
        })
    }
}
