//! Destructive forms (revoke, sign out others, disable, sign out everywhere) ask first. A
//! handler that takes `Confirmed<T>` runs only once the person said yes: without JavaScript the
//! first post is answered with a page asking the route's question, whose button sends the same
//! form again with `confirmed=yes`; with JavaScript, `static/confirm.js` asks in a dialog
//! before the first post and sends `confirmed=yes` itself. The CSRF token is checked either way.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use askama::Template;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::csrf::check_token;
use super::guard::current_layout;
use super::{Layout, PageError};
use crate::routes::endpoints::FormPage;

/// What a destructive route asks before it acts, set where the route is declared
/// (`Endpoint::confirm`).
#[derive(Clone, Copy)]
pub struct Confirmation {
    pub question: &'static str,
    /// The label of the button that goes ahead ("Revoke", "Disable").
    pub button: &'static str,
}

/// A confirmed form whose CSRF token matched, sent by `by` (`PageUser` or `AdminPage`): that
/// guard is extracted first, so nobody it refuses is asked anything.
pub struct Confirmed<G, T> {
    pub by: G,
    pub fields: T,
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage<'a> {
    layout: Layout,
    question: &'static str,
    button: &'static str,
    action: &'a str,
    fields: Vec<(String, String)>,
    cancel: &'static str,
}

impl<G, T> FromRequest for Confirmed<G, T>
where
    G: FromRequest + 'static,
    G::Error: Into<actix_web::Error>,
    T: DeserializeOwned + 'static,
{
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Confirmed<G, T>, actix_web::Error>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let guard = G::from_request(request, &mut Payload::None);
        let form = web::Form::<Vec<(String, String)>>::from_request(request, payload);
        let request = request.clone();
        Box::pin(async move {
            let by = guard.await.map_err(Into::into)?;
            let pairs = form.await?.into_inner();
            let value = |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.as_str())
            };
            check_token(&request, value("csrf_token").unwrap_or_default()).await?;
            let confirmed = value("confirmed") == Some("yes");
            let fields: Vec<(String, String)> = pairs
                .into_iter()
                .filter(|(key, _)| key != "csrf_token" && key != "confirmed")
                .collect();
            if !confirmed {
                return Err(ask(&request, fields).await.into());
            }
            let unreadable = |e: &dyn std::fmt::Display| {
                PageError::bad_request(format!("The form could not be read: {e}."))
            };
            let encoded = serde_urlencoded::to_string(&fields).map_err(|e| unreadable(&e))?;
            let fields = serde_urlencoded::from_str(&encoded).map_err(|e| unreadable(&e))?;
            Ok(Confirmed { by, fields })
        })
    }
}

/// The page asking the route's question, with the form to send again.
async fn ask(request: &HttpRequest, fields: Vec<(String, String)>) -> PageError {
    let Some(confirmation) = request.app_data::<Confirmation>().copied() else {
        return PageError::Refused(crate::error::ApiError::Internal(
            "a Confirmed form on a route without a confirmation question".into(),
        ));
    };
    let cancel = request.app_data::<FormPage>().map_or("/", |page| page.0);
    let page = ConfirmPage {
        layout: current_layout(request).await,
        question: confirmation.question,
        button: confirmation.button,
        action: request.path(),
        fields,
        cancel,
    };
    match page.render() {
        Ok(body) => PageError::Ask { body },
        Err(error) => PageError::Refused(crate::error::ApiError::Internal(error.to_string())),
    }
}
