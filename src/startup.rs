//! Wiring: settings -> storage -> domain -> HTTP server. `main` and the tests share this path;
//! tests bind port 0 and get the real server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_session::SessionMiddleware;
use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{Server, ServerHandle};
use actix_web::http::header;
use actix_web::middleware::{Condition, DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use tokio::task::JoinHandle;
use tracing_actix_web::TracingLogger;

use crate::auth::key_service;
use crate::auth::secret::{SecretError, ServerSecret};
use crate::auth::sessions::Lifetimes;
use crate::auth::tokens::TokenSettings;
use crate::auth::{AuthConfig, AuthError, AuthService, Clock, MailPolicy};
use crate::config::{ConfigError, Mode, Settings};
use crate::db::{Backend, Db, DbError};
use crate::routes;
use crate::routes::cookies::CookiePolicy;
use crate::routes::extractors::TrustedProxies;
use crate::routes::limits::{RateLimits, RatePerMinute};
use crate::routes::metrics::{self, Metrics};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("{0}")]
    Auth(#[from] AuthError),
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: String, reason: String },
    #[error(
        "the server secret {secret} exists but the database {database} does not: data was lost \
         or LATCHKEY_DATABASE_URL points to the wrong place. Restore the database (see \
         `latchkey backup`) or fix the path; to start over with an empty database on purpose, \
         run with --new-database"
    )]
    DatabaseMissing { secret: String, database: String },
}

/// A secret file beside a missing SQLite database means the database was lost or the path is
/// wrong; starting would quietly create an empty one (every user gone, every token refused).
fn refuse_missing_database(settings: &Settings) -> Result<(), StartupError> {
    if settings.allow_new_database
        || settings.secret.is_some()
        || Backend::of(&settings.database_url) != Backend::Sqlite
        || !settings.secret_file.exists()
    {
        return Ok(());
    }
    let database = crate::db::sqlite_path(&settings.database_url);
    if std::path::Path::new(&database).exists() {
        return Ok(());
    }
    Err(StartupError::DatabaseMissing {
        secret: settings.secret_file.display().to_string(),
        database,
    })
}

/// Opens the database, loads the secret and keys: everything but HTTP (the CLI uses this too).
pub fn build_auth_service(settings: &Settings, clock: Clock) -> Result<AuthService, StartupError> {
    settings.check()?;
    refuse_missing_database(settings)?;
    let secret = ServerSecret::load(
        settings.secret.as_ref().map(|s| s.expose()),
        &settings.secret_file,
    )?;
    let db = Db::open(&settings.database_url, settings.database_pool_size)?;
    let seconds = |d: Duration| d.as_secs() as i64;
    let config = AuthConfig {
        tokens: TokenSettings {
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            access_ttl_seconds: seconds(settings.access_ttl),
            leeway_seconds: settings.leeway.as_secs(),
        },
        lifetimes: Lifetimes {
            idle: seconds(settings.idle_ttl),
            absolute: seconds(settings.absolute_ttl),
            reuse_grace: seconds(settings.reuse_grace),
        },
        password_min_chars: settings.password_min_length,
        bcrypt_cost: settings.bcrypt_cost,
        registration_open: settings.registration == crate::config::Registration::Open,
        audit_retention_seconds: seconds(settings.audit_retention),
        key_publish_seconds: key_service::key_publish_seconds(
            settings.key_reload_interval,
            settings.jwks_max_age,
        ),
        jwks_max_age_seconds: seconds(settings.jwks_max_age),
        refresh_retry: settings.refresh_retry,
        reauth_window_seconds: seconds(settings.reauth_window),
        passkey_origin: settings.passkey_origin(),
        require_mfa_for_admins: settings.require_mfa == crate::config::RequireMfa::Admins,
        mail: MailPolicy {
            public_url: settings.public_url(),
            reset_ttl_seconds: seconds(settings.reset_ttl),
            require_email: settings.require_email,
            require_verified_email: settings.require_verified_email,
            recovery_by_email: settings.smtp_url.is_some() || settings.env != Mode::Production,
        },
    };
    let pepper = settings
        .password_pepper
        .as_ref()
        .map(|p| p.expose().as_bytes().to_vec());
    Ok(AuthService::new(
        db,
        config,
        Arc::new(secret),
        pepper,
        clock,
    )?)
}

pub struct Application {
    port: u16,
    server: Server,
    /// `/metrics` on its own address (`LATCHKEY_METRICS_ADDR`), with its port.
    metrics_server: Option<(Server, u16)>,
    auth: web::Data<AuthService>,
    background: Vec<JoinHandle<()>>,
}

impl Application {
    pub fn build(settings: Settings) -> Result<Application, StartupError> {
        Application::build_with_clock(settings, Clock::system())
    }

    /// Must be called inside a Tokio runtime (actix's or a test's).
    pub fn build_with_clock(
        mut settings: Settings,
        clock: Clock,
    ) -> Result<Application, StartupError> {
        settings.check()?;
        let listen_failed = |e: std::io::Error| StartupError::Listen {
            addr: settings.addr.clone(),
            reason: e.to_string(),
        };
        let listener = TcpListener::bind(&settings.addr).map_err(listen_failed)?;
        let bound = listener.local_addr().map_err(listen_failed)?;
        let port = bound.port();
        // Links in mails point at the address actually bound (`:0` becomes the real port).
        if settings.public_url.is_none() {
            settings.public_url = Some(format!("http://{bound}"));
        }
        let auth = web::Data::new(build_auth_service(&settings, clock)?);

        let cookie_policy = CookiePolicy {
            secure: settings.cookie_secure,
        };
        let session_key = Key::from(auth.page_cookie_key().as_slice());
        let page_session_ttl = CookieDuration::seconds(settings.absolute_ttl.as_secs() as i64);
        let rate_limits = web::Data::new(RateLimits::new(settings.rate_limit.then_some(
            RatePerMinute {
                login: settings.rate_limit_login,
                register: settings.rate_limit_register,
                refresh: settings.rate_limit_refresh,
                recovery: settings.rate_limit_recovery,
            },
        )));
        let trusted_proxies = web::Data::new(TrustedProxies(settings.trusted_proxies.clone()));
        let metrics = settings
            .metrics
            .then(|| web::Data::new(Metrics::new(auth.clone())));
        let scrape_here = settings.metrics_addr.is_none();
        let body_timeout = settings.body_timeout;
        let app_metrics = metrics.clone();
        let app_auth = auth.clone();
        let app_limits = rate_limits.clone();
        let mut server = HttpServer::new(move || {
            let page_session =
                SessionMiddleware::builder(CookieSessionStore::default(), session_key.clone())
                    .cookie_name(cookie_policy.page_cookie_name())
                    .cookie_secure(cookie_policy.secure)
                    .cookie_http_only(true)
                    // Lax: following a link to this site from elsewhere keeps the person signed in;
                    // forms still need the CSRF token.
                    .cookie_same_site(SameSite::Lax)
                    .cookie_path("/".into())
                    .cookie_content_security(CookieContentSecurity::Private)
                    .session_lifecycle(PersistentSession::default().session_ttl(page_session_ttl))
                    .build();
            let app_metrics = app_metrics.clone();
            App::new()
                .wrap(routes::body_timeout::BodyTimeout(body_timeout))
                .wrap(routes::addresses::RefuseNul)
                .wrap(page_session)
                .wrap(security_headers(cookie_policy.secure))
                .wrap(Condition::new(
                    app_metrics.is_some(),
                    from_fn(metrics::record),
                ))
                .wrap(from_fn(routes::request_id::echo))
                .wrap(TracingLogger::default())
                .app_data(app_auth.clone())
                .app_data(web::Data::new(cookie_policy))
                .app_data(app_limits.clone())
                .app_data(trusted_proxies.clone())
                .configure(|cfg| {
                    if let Some(metrics) = app_metrics {
                        cfg.app_data(metrics);
                        if scrape_here {
                            cfg.route("/metrics", web::get().to(metrics::scrape));
                        }
                    }
                })
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
        })
        .shutdown_timeout(10);
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        let server = server.listen(listener).map_err(listen_failed)?.run();
        let metrics_server = match (metrics, &settings.metrics_addr) {
            (Some(metrics), Some(addr)) => Some(metrics_server(addr, metrics, auth.clone())?),
            _ => None,
        };

        let mut background = vec![
            spawn_every(settings.prune_interval, auth.clone(), "prune", |auth| {
                auth.prune().map(|p| {
                    format!(
                        "deleted {} ended sessions, {} stale throttles, {} old audit events, {} expired \
                         links, {} old mails",
                        p.sessions, p.throttles, p.events, p.links, p.mails
                    )
                })
            }),
            spawn_every(
                settings.key_reload_interval,
                auth.clone(),
                "key reload",
                |auth| auth.reload_keys().map(|_| String::new()),
            ),
            spawn_every(
                key_service::KEY_WATCH_INTERVAL,
                auth.clone(),
                "key watch",
                |auth| {
                    // Every second: a broken database is reported by requests and the
                    // periodic reload, not here each time.
                    if let Err(error) = auth.watch_keys() {
                        tracing::debug!(%error, "could not check the signing keys");
                    }
                    Ok(String::new())
                },
            ),
        ];
        background.push(start_mail_sender(&settings, &auth)?);
        // Users from before the look-alike rule get their skeleton; the server does not wait.
        let backfill = auth.clone();
        background.push(tokio::spawn(async move {
            match tokio::task::spawn_blocking(move || backfill.backfill_username_skeletons()).await
            {
                Ok(Ok(0)) => {}
                Ok(Ok(users)) => {
                    tracing::info!(
                        users,
                        "recorded the look-alike skeleton of existing usernames"
                    )
                }
                Ok(Err(error)) => tracing::warn!(%error, "could not record username skeletons"),
                Err(error) => tracing::warn!(%error, "recording username skeletons panicked"),
            }
        }));
        background.push(tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_secs(60));
            loop {
                ticker.tick().await;
                rate_limits.forget_idle_clients();
            }
        }));
        Ok(Application {
            port,
            server,
            metrics_server,
            auth,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate metrics listener, if there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server.as_ref().map(|(_, port)| *port)
    }

    /// The domain service this server uses (tests inspect storage through it).
    pub fn auth(&self) -> web::Data<AuthService> {
        self.auth.clone()
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM or `handle().stop()`, finishing requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics_server.map(|(server, _)| {
            let handle = server.handle();
            (handle, tokio::spawn(server))
        });
        let result = self.server.await;
        if let Some((handle, task)) = metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        for task in self.background {
            task.abort();
        }
        result
    }
}

/// The background sender of the mail outbox.
fn start_mail_sender(
    settings: &Settings,
    auth: &web::Data<AuthService>,
) -> Result<JoinHandle<()>, StartupError> {
    let sender = crate::mail::MailSender::new(
        auth.db().clone(),
        auth.clock().clone(),
        auth.postbox(),
        crate::mail::SenderSettings {
            smtp: settings.smtp_target()?,
            from: settings.mail_from.clone(),
            log_held_mail: settings.env == Mode::Development,
        },
    )
    .map_err(|problem| ConfigError::Invalid {
        name: "LATCHKEY_SMTP_URL / LATCHKEY_MAIL_FROM".into(),
        value: String::new(),
        problem,
    })?;
    Ok(tokio::spawn(sender.run()))
}

/// A second, minimal server that only answers `GET /metrics` (one worker).
fn metrics_server(
    addr: &str,
    metrics: web::Data<Metrics>,
    auth: web::Data<AuthService>,
) -> Result<(Server, u16), StartupError> {
    let failed = |e: std::io::Error| StartupError::Listen {
        addr: addr.to_owned(),
        reason: e.to_string(),
    };
    let listener = TcpListener::bind(addr).map_err(failed)?;
    let port = listener.local_addr().map_err(failed)?.port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(metrics.clone())
            .app_data(auth.clone())
            .route("/metrics", web::get().to(metrics::scrape))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)
    .map_err(failed)?
    .run();
    Ok((server, port))
}

/// Headers every response carries. `no-store` keeps tokens out of caches; routes that are safe
/// to cache (the JWKS) set their own Cache-Control, which this does not override.
fn security_headers(https: bool) -> DefaultHeaders {
    let headers = if https {
        // Only behind HTTPS: browsers then refuse plain HTTP to this host for a year.
        DefaultHeaders::new().add((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"))
    } else {
        DefaultHeaders::new()
    };
    headers
        .add((header::CACHE_CONTROL, "no-store"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ))
}

/// Runs `job` on the blocking pool every `interval` (not at start), logging the outcome.
fn spawn_every(
    interval: Duration,
    auth: web::Data<AuthService>,
    name: &'static str,
    job: fn(&AuthService) -> Result<String, AuthError>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let auth = auth.clone();
            match tokio::task::spawn_blocking(move || job(&auth)).await {
                Ok(Ok(outcome)) if !outcome.is_empty() => tracing::info!(task = name, "{outcome}"),
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::error!(task = name, %error, "background task failed"),
                Err(error) => tracing::error!(task = name, %error, "background task panicked"),
            }
        }
    })
}
