//! The refresh-token cookie of the browser flow: HttpOnly (never visible to JavaScript),
//! SameSite=Strict, Path=/, no Domain; on HTTPS also Secure with the `__Host-` prefix.

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponseBuilder};

const REFRESH_COOKIE: &str = "latchkey_refresh";
const PAGE_COOKIE: &str = "latchkey_session";
const DEVICE_COOKIE: &str = "latchkey_device";

/// Cookie settings shared by the page session and the refresh cookie.
#[derive(Debug, Clone, Copy)]
pub struct CookiePolicy {
    pub secure: bool,
}

impl CookiePolicy {
    fn name(&self, base: &str) -> String {
        if self.secure {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    pub fn refresh_cookie_name(&self) -> String {
        self.name(REFRESH_COOKIE)
    }

    pub fn page_cookie_name(&self) -> String {
        self.name(PAGE_COOKIE)
    }

    /// The refresh cookie, living exactly as long as what is left of its session.
    pub fn refresh_cookie(&self, token: String, max_age_seconds: i64) -> Cookie<'static> {
        Cookie::build(self.refresh_cookie_name(), token)
            .http_only(true)
            .same_site(SameSite::Strict)
            .path("/")
            .secure(self.secure)
            .max_age(CookieDuration::seconds(max_age_seconds.max(0)))
            .finish()
    }

    /// A cookie that makes the browser drop the refresh cookie.
    pub fn expired_refresh_cookie(&self) -> Cookie<'static> {
        let mut cookie = self.refresh_cookie(String::new(), 0);
        cookie.make_removal();
        cookie
    }

    /// Every refresh cookie the browser sent (normally one), in the order it sent them.
    pub fn read_refresh_all(&self, request: &HttpRequest) -> Vec<String> {
        let name = self.refresh_cookie_name();
        request
            .cookies()
            .map(|cookies| {
                cookies
                    .iter()
                    .filter(|c| c.name() == name && !c.value().is_empty())
                    .map(|c| c.value().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn read_refresh(&self, request: &HttpRequest) -> Option<String> {
        request
            .cookie(&self.refresh_cookie_name())
            .map(|c| c.value().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn set_refresh(&self, response: &mut HttpResponseBuilder, token: String, max_age: i64) {
        response.cookie(self.refresh_cookie(token, max_age));
    }

    pub fn clear_refresh(&self, response: &mut HttpResponseBuilder) {
        response.cookie(self.expired_refresh_cookie());
    }

    /// The trusted-device cookie: this browser signed in to the account before, so its failed
    /// sign-ins count on a counter of their own (see `auth/devices.rs`).
    pub fn set_device(&self, response: &mut HttpResponseBuilder, token: String) {
        response.cookie(
            Cookie::build(self.name(DEVICE_COOKIE), token)
                .http_only(true)
                .same_site(SameSite::Strict)
                .path("/")
                .secure(self.secure)
                .max_age(CookieDuration::seconds(
                    crate::auth::devices::DEVICE_TOKEN_LIFETIME_SECONDS,
                ))
                .finish(),
        );
    }

    pub fn read_device(&self, request: &HttpRequest) -> Option<String> {
        request
            .cookie(&self.name(DEVICE_COOKIE))
            .map(|c| c.value().to_owned())
            .filter(|v| !v.is_empty())
    }
}
