//! Where mail goes: `LATCHKEY_SMTP_URL` read into a target, and the lettre transport made from
//! it. Encrypted unless the URL says `tls=none` in so many words.

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, Tokio1Executor};

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (`smtps://`, port 465).
    ImplicitTls,
    /// Plain connection upgraded with STARTTLS, which the server must offer (`smtp://`, 587).
    StartTls,
    /// No encryption (`?tls=none`): a test server on this machine.
    None,
}

#[derive(Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub security: Security,
    credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.describe())
    }
}

/// How long one connection (and each SMTP command) may take before the attempt counts as failed.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

impl SmtpTarget {
    /// Reads `smtps://[user:password@]host[:port]` or `smtp://...[?tls=required|none]`.
    pub fn parse(text: &str) -> Result<SmtpTarget, String> {
        let url = url::Url::parse(text.trim()).map_err(|_| {
            "not a URL; write it like smtps://user:password@mail.example.com or \
             smtp://127.0.0.1:2525?tls=none"
                .to_owned()
        })?;
        let mut tls = None;
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "none") => tls = Some(Security::None),
                ("tls", "required" | "starttls") => tls = Some(Security::StartTls),
                ("tls", other) => {
                    return Err(format!(
                        "tls={other} is not known: leave it out (encrypted), or write tls=none \
                         for a plain-text test server"
                    ));
                }
                (other, _) => {
                    return Err(format!("unknown option `{other}` (only `tls` is known)"));
                }
            }
        }
        let security = match (url.scheme(), tls) {
            ("smtps", None) => Security::ImplicitTls,
            ("smtps", Some(_)) => {
                return Err("smtps:// is always TLS; drop the tls option".into());
            }
            ("smtp", Some(security)) => security,
            ("smtp", None) => Security::StartTls,
            (other, _) => {
                return Err(format!("scheme `{other}` is not smtp:// or smtps://"));
            }
        };
        let host = url
            .host_str()
            .filter(|host| !host.is_empty())
            .ok_or("the URL names no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url.port().unwrap_or(match security {
            Security::ImplicitTls => 465,
            Security::StartTls => 587,
            Security::None => 25,
        });
        let decode = |part: &str| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8_lossy()
                .into_owned()
        };
        let credentials = (!url.username().is_empty()).then(|| {
            (
                decode(url.username()),
                decode(url.password().unwrap_or_default()),
            )
        });
        Ok(SmtpTarget {
            host,
            port,
            security,
            credentials,
        })
    }

    /// True for `localhost` and loopback addresses (the only plain-text targets production takes).
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The target without its password, for logs and `config check`.
    pub fn describe(&self) -> String {
        let scheme = match self.security {
            Security::ImplicitTls => "smtps",
            _ => "smtp",
        };
        let user = match &self.credentials {
            Some((user, _)) => format!("{user}:<redacted>@"),
            None => String::new(),
        };
        let option = match self.security {
            Security::None => "?tls=none",
            _ => "",
        };
        format!("{scheme}://{user}{}:{}{option}", self.host, self.port)
    }

    pub fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let builder = match self.security {
            Security::ImplicitTls => AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host),
            Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host),
            Security::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &self.host,
            )),
        }
        .map_err(|e| format!("cannot use {}: {e}", self.describe()))?;
        let builder = builder.port(self.port).timeout(Some(SMTP_TIMEOUT));
        let builder = match &self.credentials {
            Some((user, password)) => {
                builder.credentials(Credentials::new(user.clone(), password.clone()))
            }
            None => builder,
        };
        Ok(builder.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_smtp_url_means_starttls_and_only_tls_none_means_plain_text() {
        let starttls = SmtpTarget::parse("smtp://mail.example.com").unwrap();
        assert_eq!(
            (starttls.security, starttls.port),
            (Security::StartTls, 587)
        );
        let implicit = SmtpTarget::parse("smtps://u:p%40ss@mail.example.com").unwrap();
        assert_eq!(
            (implicit.security, implicit.port),
            (Security::ImplicitTls, 465)
        );
        assert_eq!(implicit.credentials, Some(("u".into(), "p@ss".into())));
        assert!(!implicit.describe().contains("p@ss"));
        let plain = SmtpTarget::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!((plain.security, plain.port), (Security::None, 2525));
        assert!(plain.is_loopback());
        assert!(SmtpTarget::parse("smtp://h?tls=off").is_err());
        assert!(SmtpTarget::parse("smtps://h?tls=none").is_err());
        assert!(SmtpTarget::parse("http://h").is_err());
        assert!(SmtpTarget::parse("mail.example.com").is_err());
    }
}
