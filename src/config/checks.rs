//! Checks on settings that involve more than one setting, or production mode.

use crate::db::{Backend, redacted as redacted_url};

use super::values::SettingValue;
use super::{
    ConfigError, Mode, PRODUCTION_MIN_BCRYPT_COST, PRODUCTION_MIN_SECRET_BYTES, Settings, env_name,
};

impl Settings {
    /// Rules that involve more than one setting (each setting's own bounds are in the table).
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.absolute_ttl < self.idle_ttl {
            return Err(ConfigError::Invalid {
                name: env_name("absolute_ttl"),
                value: self.absolute_ttl.shown(),
                problem: "must be at least as long as LATCHKEY_IDLE_TTL".into(),
            });
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
        if self.issuer.trim().is_empty() || self.audience.trim().is_empty() {
            return Err(ConfigError::Invalid {
                name: "LATCHKEY_ISSUER / LATCHKEY_AUDIENCE".into(),
                value: String::new(),
                problem: "must not be empty".into(),
            });
        }
        if self.env == Mode::Production {
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
}
