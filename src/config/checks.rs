//! Checks on settings that involve bounds or more than one setting, and their printable form.

use std::time::Duration;

use crate::auth::refresh::RefreshRetry;
use crate::db::{Backend, redacted as redacted_url};

use super::{
    ConfigError, MAX_ACCESS_TTL, MAX_LEEWAY, PRODUCTION_MIN_BCRYPT_COST,
    PRODUCTION_MIN_SECRET_BYTES, Secret, Settings, env_name,
};

impl Settings {
    /// Rules that involve more than one setting, or bounds on durations.
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, value: Duration, problem: String| ConfigError::Invalid {
            name: env_name(key),
            value: humantime::format_duration(value).to_string(),
            problem,
        };
        if self.access_ttl < Duration::from_secs(1) || self.access_ttl > MAX_ACCESS_TTL {
            return Err(invalid(
                "access_ttl",
                self.access_ttl,
                "must be between 1s and 1h; short access tokens are what makes revocation quick"
                    .into(),
            ));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(invalid("leeway", self.leeway, "must be at most 5s".into()));
        }
        if self.idle_ttl < Duration::from_secs(60) {
            return Err(invalid(
                "idle_ttl",
                self.idle_ttl,
                "must be at least 1m".into(),
            ));
        }
        if self.absolute_ttl < self.idle_ttl {
            return Err(invalid(
                "absolute_ttl",
                self.absolute_ttl,
                "must be at least as long as LATCHKEY_IDLE_TTL".into(),
            ));
        }
        if self.absolute_ttl > Duration::from_secs(366 * 24 * 3600) {
            return Err(invalid(
                "absolute_ttl",
                self.absolute_ttl,
                "must be at most 366d".into(),
            ));
        }
        if self.reuse_grace > Duration::from_secs(60) {
            return Err(invalid(
                "reuse_grace",
                self.reuse_grace,
                "must be at most 60s; a long grace window lets a stolen token ride along".into(),
            ));
        }
        if self.jwks_max_age < Duration::from_secs(1)
            || self.jwks_max_age > Duration::from_secs(3600)
        {
            return Err(invalid(
                "jwks_max_age",
                self.jwks_max_age,
                "must be between 1s and 1h; a rotated key waits this long before it signs".into(),
            ));
        }
        if self.body_timeout < Duration::from_secs(1)
            || self.body_timeout > Duration::from_secs(300)
        {
            return Err(invalid(
                "body_timeout",
                self.body_timeout,
                "must be between 1s and 5m".into(),
            ));
        }
        if self.prune_interval < Duration::from_secs(1)
            || self.key_reload_interval < Duration::from_secs(1)
        {
            return Err(invalid(
                "prune_interval",
                self.prune_interval.min(self.key_reload_interval),
                "intervals must be at least 1s".into(),
            ));
        }
        if let Some(addr) = &self.metrics_addr
            && addr.parse::<std::net::SocketAddr>().is_err()
        {
            return Err(ConfigError::Invalid {
                name: env_name("metrics_addr"),
                value: addr.clone(),
                problem: "write an address and port such as 127.0.0.1:9090".into(),
            });
        }
        if self.audit_retention < Duration::from_secs(24 * 3600) {
            return Err(invalid(
                "audit_retention",
                self.audit_retention,
                "must be at least 1d; investigations need the recent history".into(),
            ));
        }
        if self.issuer.trim().is_empty() || self.audience.trim().is_empty() {
            return Err(ConfigError::Invalid {
                name: "LATCHKEY_ISSUER / LATCHKEY_AUDIENCE".into(),
                value: String::new(),
                problem: "must not be empty".into(),
            });
        }
        if self.production {
            self.check_production()?;
        }
        if self.database_url.starts_with("postgres")
            && Backend::of(&self.database_url) != Backend::Postgres
        {
            return Err(ConfigError::Invalid {
                name: "LATCHKEY_DATABASE_URL".into(),
                value: redacted_url(&self.database_url),
                problem: "a PostgreSQL URL starts with postgres:// or postgresql://".into(),
            });
        }
        Ok(())
    }

    /// Production refuses settings that are only safe on a developer's machine.
    fn check_production(&self) -> Result<(), ConfigError> {
        let refuse = |name: &str, value: String, problem: &str| ConfigError::Invalid {
            name: env_name(name),
            value,
            problem: format!("{problem} (LATCHKEY_ENV=production)"),
        };
        if !self.cookie_secure {
            return Err(refuse(
                "cookie_secure",
                "false".into(),
                "production needs HTTPS cookies: serve over HTTPS and set LATCHKEY_COOKIE_SECURE=true \
                 (cookies then get Secure and the __Host- prefix)",
            ));
        }
        if self.bcrypt_cost < PRODUCTION_MIN_BCRYPT_COST {
            return Err(refuse(
                "bcrypt_cost",
                self.bcrypt_cost.to_string(),
                "must be at least 10 in production; 12 (the default) is recommended",
            ));
        }
        if let Some(secret) = &self.secret
            && secret.expose().len() < PRODUCTION_MIN_SECRET_BYTES
        {
            return Err(refuse(
                "secret",
                "<redacted>".into(),
                "the session and cookie keys derive from it: use at least 64 random bytes \
                 (e.g. `openssl rand -base64 64`), or unset it to use the generated secret file",
            ));
        }
        Ok(())
    }

    /// The settings as `(environment variable, value)` rows, secrets redacted.
    pub fn describe(&self) -> Vec<(String, String)> {
        let d = |v: Duration| written_like_a_setting(v.as_secs());
        let redacted =
            |v: &Option<Secret>| v.as_ref().map_or("(not set)", |_| "<redacted>").to_string();
        vec![
            ("addr", self.addr.clone()),
            ("database_url", redacted_url(&self.database_url)),
            ("database_pool_size", self.database_pool_size.to_string()),
            ("secret", redacted(&self.secret)),
            ("secret_file", self.secret_file.display().to_string()),
            ("access_ttl", d(self.access_ttl)),
            ("idle_ttl", d(self.idle_ttl)),
            ("absolute_ttl", d(self.absolute_ttl)),
            ("reuse_grace", d(self.reuse_grace)),
            (
                "refresh_retry",
                match self.refresh_retry {
                    RefreshRetry::SameSuccessor => "same-successor",
                    RefreshRetry::Strict => "strict",
                }
                .into(),
            ),
            ("leeway", d(self.leeway)),
            ("bcrypt_cost", self.bcrypt_cost.to_string()),
            ("password_min_length", self.password_min_length.to_string()),
            ("password_pepper", redacted(&self.password_pepper)),
            ("issuer", self.issuer.clone()),
            ("audience", self.audience.clone()),
            (
                "registration",
                if self.registration_open {
                    "open"
                } else {
                    "closed"
                }
                .into(),
            ),
            ("cookie_secure", self.cookie_secure.to_string()),
            (
                "env",
                if self.production {
                    "production"
                } else {
                    "development"
                }
                .into(),
            ),
            ("prune_interval", d(self.prune_interval)),
            ("audit_retention", d(self.audit_retention)),
            ("key_reload_interval", d(self.key_reload_interval)),
            ("jwks_max_age", d(self.jwks_max_age)),
            (
                "workers",
                self.workers
                    .map_or("(one per core)".into(), |w| w.to_string()),
            ),
            ("body_timeout", d(self.body_timeout)),
            ("log", self.log.clone()),
            (
                "log_format",
                if self.log_json { "json" } else { "pretty" }.into(),
            ),
            ("metrics", self.metrics.to_string()),
            (
                "metrics_addr",
                self.metrics_addr
                    .clone()
                    .unwrap_or_else(|| "(the main address)".into()),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (env_name(k), v))
        .collect()
    }
}

/// A duration in the largest whole unit, as people write it in settings (`90d`, `15m`),
/// rather than humantime's calendar months.
fn written_like_a_setting(seconds: u64) -> String {
    match seconds {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}
