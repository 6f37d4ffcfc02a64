//! Forms that change something carry the page session's CSRF token. `Csrf<T>` reads the form
//! and checks the token before the handler runs, so a handler cannot forget it: its signature
//! says `Csrf<T>` or it gets no form at all.

use actix_session::SessionExt;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::guard::current_layout;
use super::{PageError, page_session};

/// A form whose CSRF token matched; `T` is the rest of its fields (text fields only: the
/// token is split off with `serde(flatten)`, which reads every value as a string).
pub struct Csrf<T>(pub T);

/// A form with nothing but the CSRF token.
#[derive(Deserialize)]
pub struct NoFields {}

#[derive(Deserialize)]
struct WithToken<T> {
    #[serde(default)]
    csrf_token: String,
    #[serde(flatten)]
    fields: T,
}

impl<T: DeserializeOwned + 'static> FromRequest for Csrf<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Csrf<T>, actix_web::Error>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = web::Form::<WithToken<T>>::from_request(request, payload);
        let request = request.clone();
        Box::pin(async move {
            let WithToken { csrf_token, fields } = form.await?.into_inner();
            check_token(&request, &csrf_token).await?;
            Ok(Csrf(fields))
        })
    }
}

/// The one CSRF check of every page form (`Csrf<T>`, `Confirmed<G, T>`): a missing or wrong
/// token gets the 403 page in the layout of whoever sent it.
pub(super) async fn check_token(request: &HttpRequest, token: &str) -> Result<(), PageError> {
    if page_session::csrf_matches(&request.get_session(), token) {
        return Ok(());
    }
    let layout = current_layout(request).await;
    Err(PageError::CsrfRejected.with_layout(layout))
}
