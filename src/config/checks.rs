//! Checks on settings that involve more than one setting, or production mode.

use crate::db::{Backend, redacted as redacted_url};
use crate::mail::SmtpTarget;

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
        self.check_mail()?;
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
        match &self.public_url {
            Some(url) if url.starts_with("https://") => {}
            Some(url) => {
                return Err(refuse(
                    "public_url",
                    url.clone(),
                    "links in mails must be https:// in production",
                ));
            }
            None => {
                return Err(refuse(
                    "public_url",
                    String::new(),
                    "set the address people reach this server at (https://auth.example.com): \
                     links in mails are made from it",
                ));
            }
        }
        if let Some(target) = self.smtp_target()?
            && target.security == crate::mail::smtp::Security::None
            && !target.is_loopback()
        {
            return Err(refuse(
                "smtp_url",
                target.describe(),
                "tls=none sends passwords and reset links in clear text; production allows it \
                 only to a server on this machine (localhost)",
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

impl Settings {
    /// Where links in mails point: `LATCHKEY_PUBLIC_URL`, else this server's own address.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.addr),
        }
    }

    /// The origin passkeys belong to: the public URL, except that in development a loopback
    /// address becomes `localhost` (WebAuthn refuses IP addresses as relying-party ids, and
    /// browsers treat `http://localhost` as a secure context).
    pub fn passkey_origin(&self) -> String {
        let public = self.public_url();
        let Ok(mut url) = url::Url::parse(&public) else {
            return public;
        };
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            _ => false,
        };
        if loopback && self.env != Mode::Production && url.set_host(Some("localhost")).is_ok() {
            return url.as_str().trim_end_matches('/').to_owned();
        }
        public
    }

    /// `LATCHKEY_SMTP_URL`, read.
    pub fn smtp_target(&self) -> Result<Option<SmtpTarget>, ConfigError> {
        let Some(url) = &self.smtp_url else {
            return Ok(None);
        };
        SmtpTarget::parse(url.expose())
            .map(Some)
            .map_err(|problem| ConfigError::Invalid {
                name: env_name("smtp_url"),
                value: "<redacted>".into(),
                problem,
            })
    }

    /// The mail settings' own rules (production's are in `check_production`).
    fn check_mail(&self) -> Result<(), ConfigError> {
        self.smtp_target()?;
        if let Some(url) = &self.public_url {
            let parsed = url::Url::parse(url).ok().filter(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some()
                    && u.query().is_none()
                    && u.fragment().is_none()
            });
            if parsed.is_none() {
                return Err(ConfigError::Invalid {
                    name: env_name("public_url"),
                    value: url.clone(),
                    problem: "write the address people open, like https://auth.example.com".into(),
                });
            }
        }
        if self.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::Invalid {
                name: env_name("mail_from"),
                value: self.mail_from.clone(),
                problem: "write an address, or a name and an address: Latchkey <auth@example.com>"
                    .into(),
            });
        }
        Ok(())
    }
}
