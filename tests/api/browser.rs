//! A cookie-keeping HTTP client that uses the pages the way a browser without JavaScript does.

use reqwest::{Response, StatusCode};

use crate::helpers::{PASSWORD, TestApp};

pub const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

impl TestApp {
    pub fn browser(&self) -> Browser {
        self.browser_as(FIREFOX)
    }

    pub fn browser_as(&self, user_agent: &str) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(user_agent)
                .build()
                .unwrap(),
            base: self.address.clone(),
        }
    }
}

impl Browser {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// The CSRF token from the form on `path`.
    pub async fn csrf(&self, path: &str) -> String {
        let html = self.get(path).await.text().await.unwrap();
        csrf_in(&html).unwrap_or_else(|| panic!("no CSRF token on {path}: {html}"))
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Posts a form from `page`, with that page's CSRF token.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf(page).await;
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", &token));
        self.post_form(action, &fields).await
    }

    pub async fn sign_in(&self, username: &str) -> Response {
        let response = self
            .submit(
                "/login",
                "/login",
                &[("username", username), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in failed");
        response
    }

    pub async fn register(&self, username: &str) -> Response {
        self.submit(
            "/register",
            "/register",
            &[
                ("username", username),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await
    }

    /// The page's HTML after following nothing: status must be 200.
    pub async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.text().await.unwrap()
    }

    pub async fn cookie_refresh(&self) -> Response {
        self.fetch_post("/auth/refresh", true, None).await
    }

    /// A POST as the page's script makes it: with or without the custom header and an Origin.
    pub async fn fetch_post(
        &self,
        path: &str,
        custom_header: bool,
        origin: Option<&str>,
    ) -> Response {
        let mut request = self.client.post(self.url(path));
        if custom_header {
            request = request.header("X-Latchkey-Refresh", "1");
        }
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send().await.unwrap()
    }
}

pub fn csrf_in(html: &str) -> Option<String> {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// Every Set-Cookie line of a response.
pub fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The Set-Cookie line for the cookie called `name`.
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    set_cookies(response)
        .into_iter()
        .find(|line| line.starts_with(&format!("{name}=")))
}

/// The value the response sets for the cookie called `name`.
pub fn cookie_value(response: &Response, name: &str) -> Option<String> {
    let line = set_cookie(response, name)?;
    let pair = line.split(';').next()?;
    Some(pair.split_once('=')?.1.to_owned())
}

pub fn location(response: &Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}
