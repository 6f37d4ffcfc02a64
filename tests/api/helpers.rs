//! Spawns the real server on port 0 with its own temporary database, and drives it over HTTP.

use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::web::Data;
use latchkey::auth::sessions::ClientInfo;
use latchkey::auth::{AuthService, Clock};
use latchkey::config::{Secret, Settings};
use latchkey::startup::Application;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

pub use crate::test_db::TestDir;

pub const PASSWORD: &str = "correct horse battery staple";
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: Clock,
    pub settings: Settings,
    pub dir: Arc<TestDir>,
    /// The separate metrics listener's port, when `metrics_addr` is set.
    pub metrics_port: Option<u16>,
    auth: Data<AuthService>,
    handle: ServerHandle,
}

/// Tokens from a successful login or refresh.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

impl Tokens {
    pub fn from_body(body: &Value) -> Tokens {
        Tokens {
            access: body["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
            refresh: body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned(),
        }
    }
}

pub fn test_settings(dir: &TestDir) -> Settings {
    Settings {
        addr: "127.0.0.1:0".into(),
        database_url: dir.database.url.clone(),
        secret: Some(Secret::new(TEST_SECRET)),
        secret_file: dir.path().join("secret.key"),
        // Cost 4 keeps the suite fast; production defaults to 12.
        bcrypt_cost: 4,
        workers: Some(2),
        ..Settings::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = Arc::new(TestDir::new());
    let mut settings = test_settings(&dir);
    customize(&mut settings);
    start(settings, dir, Clock::frozen()).await
}

/// Starts a server on an existing database (a restart, or a second instance).
pub async fn start(settings: Settings, dir: Arc<TestDir>, clock: Clock) -> TestApp {
    let app = Application::build_with_clock(settings.clone(), clock.clone()).expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let auth = app.auth();
    let handle = app.handle();
    let metrics_port = app.metrics_port();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("latchkey-tests/1.0")
        .build()
        .unwrap();
    TestApp {
        address,
        client,
        clock,
        settings,
        dir,
        metrics_port,
        auth,
        handle,
    }
}

impl TestApp {
    /// Stops this server; its data stays.
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }

    /// Stops this server and starts a new one on the same database and secret.
    pub async fn restart(self) -> TestApp {
        self.handle.stop(true).await;
        start(self.settings.clone(), self.dir.clone(), self.clock.clone()).await
    }

    /// The domain service behind the server, for checking stored state.
    pub fn auth(&self) -> Data<AuthService> {
        self.auth.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn register(&self, username: &str, password: &str) -> Response {
        self.post_json(
            "/api/auth/register",
            &json!({ "username": username, "password": password }),
        )
        .await
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.post_json(
            "/api/auth/login",
            &json!({ "username": username, "password": password }),
        )
        .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post_json(
            "/api/auth/refresh",
            &json!({ "refresh_token": refresh_token }),
        )
        .await
    }

    /// Registers `username` (if new) and signs in; panics unless both work.
    pub async fn signed_in(&self, username: &str) -> Tokens {
        let registered = self.register(username, PASSWORD).await.status();
        assert!(
            registered == StatusCode::CREATED || registered == StatusCode::CONFLICT,
            "register answered {registered}"
        );
        self.login_ok(username).await
    }

    pub async fn login_ok(&self, username: &str) -> Tokens {
        let response = self.login(username, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        Tokens::from_body(&response.json().await.unwrap())
    }

    pub async fn refresh_ok(&self, refresh_token: &str) -> Tokens {
        let response = self.refresh(refresh_token).await;
        assert_eq!(response.status(), StatusCode::OK);
        Tokens::from_body(&response.json().await.unwrap())
    }

    /// Creates an admin through the domain (as `latchkey user add --admin` does) and signs in.
    pub async fn admin_signed_in(&self, username: &str) -> Tokens {
        let auth = self.auth();
        let name = username.to_owned();
        let cli = ClientInfo::command_line();
        tokio::task::spawn_blocking(move || {
            auth.create_user(
                &name,
                PASSWORD,
                None,
                latchkey::auth::types::Role::Admin,
                &cli,
            )
        })
        .await
        .unwrap()
        .expect("admin created");
        self.login_ok(username).await
    }

    pub async fn unused_refresh_tokens(&self, session_id: &str) -> i64 {
        let auth = self.auth();
        let sid = session_id.to_owned();
        tokio::task::spawn_blocking(move || auth.unused_refresh_tokens(&sid))
            .await
            .unwrap()
            .unwrap()
    }

    pub async fn logout(&self, access: &str) -> Response {
        self.client
            .post(self.url("/api/auth/logout"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
    }

    pub async fn jwks(&self) -> Value {
        let response = self
            .client
            .get(self.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn me(&self, access: &str) -> Value {
        let response = self.get("/api/me", access).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

/// Asserts an RFC 9457 problem response with this status, returning its body.
pub async fn assert_problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "problem without detail: {body}"
    );
    body
}

/// Asserts a 401 with an RFC 6750 `invalid_token` challenge; returns the challenge.
pub fn assert_invalid_token(response: &Response) -> String {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response
        .headers()
        .get("www-authenticate")
        .expect("WWW-Authenticate header")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert!(challenge.contains("error_description="), "{challenge}");
    challenge
}
