//! Settings: defaults, then `latchkey.toml` (or the file named by `LATCHKEY_CONFIG`), then
//! `LATCHKEY_*` environment variables. Every key has the same name in both places: `access_ttl`
//! in the file is `LATCHKEY_ACCESS_TTL` in the environment.
//!
//! The table below is the only list of settings: the struct, its defaults, the bounds checked
//! on each value, the keys accepted (others are refused in the file and warned about in the
//! environment), `latchkey config check`'s output and the README's table all come from it.

use std::path::PathBuf;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};

use crate::auth::input::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS_FLOOR};
use crate::auth::refresh::RefreshRetry;
use crate::db::redacted as redacted_url;
use values::{SettingValue, within, within_if_set};

/// Longest access-token lifetime accepted: revocation takes effect at the latest this long
/// after it is made, for services that verify tokens offline.
pub const MAX_ACCESS_TTL: Duration = Duration::from_secs(3600);
pub const MAX_LEEWAY: Duration = Duration::from_secs(5);
pub const PRODUCTION_MIN_BCRYPT_COST: u32 = 10;
/// The generated secret file holds 64 bytes; an inline secret must be as long in production.
pub const PRODUCTION_MIN_SECRET_BYTES: usize = 64;
const DEFAULT_CONFIG_FILE: &str = "latchkey.toml";

/// A value that never appears in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Who may create accounts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter, strum::EnumString, strum::IntoStaticStr,
)]
#[strum(serialize_all = "lowercase")]
pub enum Registration {
    /// Anyone, on the page or through the API.
    Open,
    /// Only the command line (`latchkey user add`).
    Closed,
}
crate::word_setting!(Registration);

/// Who must have a second factor.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter, strum::EnumString, strum::IntoStaticStr,
)]
#[strum(serialize_all = "lowercase")]
pub enum RequireMfa {
    /// Nobody: second factors are each person's choice.
    None,
    /// Admins reach the admin pages and API only once they have set one up.
    Admins,
}
crate::word_setting!(RequireMfa);

/// Production refuses settings that are only fit for a developer's machine.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter, strum::EnumString, strum::IntoStaticStr,
)]
#[strum(serialize_all = "lowercase")]
pub enum Mode {
    Development,
    Production,
}
crate::word_setting!(Mode);

/// How log lines are written.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter, strum::EnumString, strum::IntoStaticStr,
)]
#[strum(serialize_all = "lowercase")]
pub enum LogFormat {
    /// For people.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}
crate::word_setting!(LogFormat);
crate::word_setting!(RefreshRetry);

/// The settings table. Each row: `key: type = default, "what it does"`, then optionally
/// `check` (a bound on the value alone; rules that involve two settings are in `checks.rs`)
/// and `show` (how `config check` prints it, when not as written).
macro_rules! settings {
    ($(
        $key:ident : $ty:ty = $default:expr, $about:literal
        $(, check $check:expr)? $(, show $show:expr)?;
    )*) => {
        /// Every setting (see the table in `config/mod.rs`).
        #[derive(Debug, Clone, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Settings {
            $(
                #[doc = $about]
                #[serde(deserialize_with = "values::setting")]
                pub $key: $ty,
            )*
            /// `--new-database` on the command line (not a setting): start even though the
            /// secret file exists and the SQLite database does not.
            #[serde(skip)]
            pub allow_new_database: bool,
        }

        impl Default for Settings {
            fn default() -> Settings {
                Settings {
                    $($key: $default,)*
                    allow_new_database: false,
                }
            }
        }

        /// Every setting's key; the environment variable is `LATCHKEY_` + the key in upper case.
        pub const KEYS: &[&str] = &[$(stringify!($key)),*];

        impl Settings {
            /// Each setting with its default and what it does, in the table's order.
            pub fn documentation() -> Vec<SettingDoc> {
                let defaults = Settings::default();
                vec![$(SettingDoc {
                    key: stringify!($key),
                    default: defaults.$key.shown(),
                    about: $about,
                    allowed: settings!(@allowed $key: $ty $(, $check)?),
                }),*]
            }

            /// The settings as `(environment variable, value)` rows, secrets redacted.
            pub fn describe(&self) -> Vec<(String, String)> {
                vec![$((
                    env_name(stringify!($key)),
                    settings!(@show self.$key $(, $show)?),
                )),*]
            }

            /// The bound of each setting that has one; a refusal names where the value came
            /// from (`figment`'s record of it).
            fn check_each(&self, figment: &Figment) -> Result<(), ConfigError> {
                $($(
                    values::Bound::<$ty>::check(&$check, &self.$key).map_err(|problem| ConfigError::Invalid {
                        name: source_of(figment, stringify!($key)),
                        value: self.$key.shown(),
                        problem,
                    })?;
                )?)*
                Ok(())
            }
        }
    };
    (@show $value:expr) => { $value.shown() };
    (@allowed $key:ident : $ty:ty) => { None };
    (@allowed $key:ident : $ty:ty, $check:expr) => {
        Some(values::Bound::<$ty>::allowed(&$check))
    };
    (@show $value:expr, $show:expr) => { ($show)(&$value) };
}

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;
const fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

settings! {
    addr: String = "127.0.0.1:8080".into(), "listen address";
    database_url: String = "data/latchkey.db".into(),
        "a SQLite file (a `sqlite://` prefix is accepted; folder created if needed), or `postgres://user:password@host/database` for PostgreSQL (many instances; see docs/deploy.md, \"Scaling out\")",
        show |url: &String| redacted_url(url);
    database_pool_size: u32 = 8, "connections in the pool; with PostgreSQL, per instance",
        check within(1, 64, "");
    secret: Option<Secret> = None,
        "the server secret (at least 32 bytes); when unset, `LATCHKEY_SECRET_FILE` is used";
    secret_file: PathBuf = PathBuf::from("data/secret.key"),
        "created with 64 random bytes and mode 0600 on first start";
    access_ttl: Duration = secs(15 * 60), "access-token lifetime",
        check within(secs(1), MAX_ACCESS_TTL, "short access tokens are what makes revocation quick");
    idle_ttl: Duration = secs(7 * DAY), "a session ends after this long without a refresh",
        check within(secs(60), secs(366 * DAY), "");
    absolute_ttl: Duration = secs(30 * DAY),
        "a session ends this long after sign-in (at least `LATCHKEY_IDLE_TTL`)",
        check within(secs(60), secs(366 * DAY), "");
    reuse_grace: Duration = secs(10),
        "how long a just-used refresh token still returns its successor",
        check within(secs(0), secs(60), "a long grace window lets a stolen token ride along");
    refresh_retry: RefreshRetry = RefreshRetry::SameSuccessor,
        "`same-successor`: a refresh token whose successor was never used gets it again for as long as the session lives (a lost answer); `strict`: only within the grace window (see the security model)";
    leeway: Duration = secs(5), "clock-skew allowance for `exp`, `nbf` and `iat`",
        check within(secs(0), MAX_LEEWAY, "");
    bcrypt_cost: u32 = 12,
        "bcrypt cost (about 0.35 s per sign-in at 12 on the 2-core development VM)",
        check within(4, 31, "");
    password_min_length: usize = 12, "minimum password length in characters",
        check within(PASSWORD_MIN_CHARS_FLOOR, PASSWORD_MAX_CHARS, "");
    password_pepper: Option<Secret> = None,
        "optional key for the password pre-hash; old hashes keep working when it is added";
    issuer: String = "latchkey".into(), "`iss` of issued tokens, checked on verification";
    audience: String = "latchkey".into(), "`aud` of issued tokens, checked on verification";
    registration: Registration = Registration::Open,
        "`open` or `closed` (`closed`: only the CLI creates users)";
    cookie_secure: bool = false,
        "`true` behind HTTPS: cookies get `Secure` and the `__Host-` prefix, responses get HSTS";
    env: Mode = Mode::Development, "`production` refuses unsafe settings (see the security model)";
    rate_limit: bool = true,
        "`false` disables the per-IP limits below (not the per-account throttle)";
    rate_limit_login: u32 = 30,
        "sign-ins per minute per client address (also the burst; 0 = unlimited)",
        check within(0, 100_000, "");
    rate_limit_register: u32 = 10, "registrations per minute per client address",
        check within(0, 100_000, "");
    rate_limit_refresh: u32 = 120, "refreshes per minute per client address",
        check within(0, 100_000, "");
    trusted_proxies: Vec<ipnet::IpNet> = Vec::new(),
        "comma-separated addresses or CIDR ranges whose `X-Forwarded-For` is believed";
    prune_interval: Duration = secs(HOUR),
        "how often the server deletes long-ended sessions, stale throttles and old audit events",
        check within(secs(1), secs(366 * DAY), "");
    audit_retention: Duration = secs(90 * DAY),
        "audit events older than this are deleted by prune",
        check within(secs(DAY), secs(3660 * DAY), "investigations need the recent history");
    key_reload_interval: Duration = secs(30),
        "how often the server re-reads signing keys in full (changes are also noticed within a second); a token signed by a key it has not loaded yet also makes it re-read them, at most once a second",
        check within(secs(1), secs(DAY), "");
    jwks_max_age: Duration = secs(300),
        "`Cache-Control: max-age` of the JWKS; a new key signs only `max(reload interval, this) + 2 s` after it was published",
        check within(secs(1), secs(HOUR), "a rotated key waits this long before it signs");
    workers: Option<usize> = None, "HTTP worker threads (unset: one per core)",
        check within_if_set(1, 256);
    log: Option<String> = None,
        "log filter (`RUST_LOG` syntax, e.g. `latchkey=debug,info`); unset: `info` for the server, `warn` for the other commands, which print their outcome themselves";
    log_format: LogFormat = LogFormat::Pretty,
        "`json`: one JSON object per line (with the request id), for log shippers";
    metrics: bool = false, "`true` serves Prometheus metrics at `/metrics`";
    metrics_addr: Option<String> = None,
        "serve `/metrics` on this address (e.g. `127.0.0.1:9464`) instead of the main one";
    public_url: Option<String> = None,
        "the address people reach this server at (`https://auth.example.com`): links in mails and the passkey origin are made from it; required in production (unset: `http://` + `LATCHKEY_ADDR`)";
    smtp_url: Option<Secret> = None,
        "where mail is sent: `smtps://user:password@host` (implicit TLS, port 465) or `smtp://user:password@host` (STARTTLS required, port 587); plain text only with `?tls=none`, and in production only to a loopback host. Unset: mails stay in the outbox, and in development their links are logged",
        show |url: &Option<Secret>| match url {
            None => "–".to_owned(),
            Some(url) => crate::mail::SmtpTarget::parse(url.expose())
                .map_or_else(|_| "<redacted>".to_owned(), |target| target.describe()),
        };
    mail_from: String = "Latchkey <latchkey@localhost>".into(),
        "the `From` of every mail (`Name <address>` or an address)";
    require_email: bool = false, "`true`: registering needs an email address";
    require_verified_email: bool = false,
        "`true`: signing in needs a verified email address (the refusal offers a new link)";
    reset_ttl: Duration = secs(30 * 60), "how long a password-reset link works",
        check within(secs(5 * 60), secs(DAY), "a reset link in a mailbox is a key to the account");
    require_mfa: RequireMfa = RequireMfa::None,
        "`admins`: admins must set up a second factor before they reach the admin pages and API";
    reauth_window: Duration = secs(10 * 60),
        "sensitive changes (second factors, recovery codes; with a second factor also the password and address) need a sign-in or a re-authentication this recent",
        check within(secs(10), secs(DAY), "");
    rate_limit_recovery: u32 = 10,
        "password-reset requests, reset confirmations and new verification links per minute per client address",
        check within(0, 100_000, "");
    body_timeout: Duration = secs(10),
        "a request body must arrive in full this soon after its headers, else 408",
        check within(secs(1), secs(300), "");
}

/// One row of the settings' documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingDoc {
    pub key: &'static str,
    pub default: String,
    pub about: &'static str,
    /// The values allowed, when the setting has a bound.
    pub allowed: Option<String>,
}

/// The README's settings table, made from the settings table.
pub fn markdown_table() -> String {
    let mut table =
        String::from("| variable (file key) | default | what it does |\n|---|---|---|\n");
    for doc in Settings::documentation() {
        let default = match doc.default.as_str() {
            "–" => "–".to_owned(),
            shown => format!("`{shown}`"),
        };
        let allowed = doc
            .allowed
            .map_or_else(String::new, |allowed| format!(" ({allowed})"));
        table.push_str(&format!(
            "| `{}` (`{}`) | {default} | {}{allowed} |\n",
            env_name(doc.key),
            doc.key,
            doc.about
        ));
    }
    table
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("config file {path}: unknown setting `{key}` (known: {known})")]
    UnknownKey {
        path: String,
        key: String,
        known: String,
    },
    #[error("{name} = {value:?}: {problem}")]
    Invalid {
        name: String,
        value: String,
        problem: String,
    },
}

/// `LATCHKEY_*` variables that match no setting: almost always a typo worth a warning.
pub fn unknown_env_vars() -> Vec<String> {
    std::env::vars()
        .map(|(name, _)| name)
        .filter(|name| name.starts_with("LATCHKEY_") && name != "LATCHKEY_CONFIG")
        .filter(|name| !name.starts_with("LATCHKEY_TEST_"))
        .filter(|name| !KEYS.iter().any(|key| env_name(key) == *name))
        .collect()
}

pub fn env_name(key: &str) -> String {
    format!("LATCHKEY_{}", key.to_ascii_uppercase())
}

impl Settings {
    /// Reads the config file (if any) and the process environment.
    pub fn load() -> Result<Settings, ConfigError> {
        let (path, required) = match std::env::var("LATCHKEY_CONFIG") {
            Ok(path) => (PathBuf::from(path), true),
            Err(_) => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        let mut figment = Figment::new();
        if required || path.exists() {
            figment = figment.merge(file(&path)?);
        }
        Settings::extract(figment.merge(Env::prefixed("LATCHKEY_").only(KEYS)))
    }

    /// Builds settings from `key -> value` pairs (as the environment would give them).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let figment = pairs.iter().fold(Figment::new(), |figment, (key, value)| {
            figment.merge(Serialized::default(key, value))
        });
        Settings::extract(figment)
    }

    fn extract(figment: Figment) -> Result<Settings, ConfigError> {
        let settings: Settings = figment
            .extract()
            .map_err(|error| explain(&figment, error))?;
        settings.check_each(&figment)?;
        settings.check()?;
        Ok(settings)
    }
}

/// The TOML file; read once here so that a missing or unreadable file is an error naming it
/// (keys it should not have are refused by `deny_unknown_fields`).
fn file(path: &std::path::Path) -> Result<figment::providers::Data<Toml>, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(Toml::file_exact(path))
}

/// Where a setting was read from: `latchkey.toml: key` or its environment variable.
fn source_of(figment: &Figment, key: &str) -> String {
    match figment.find_metadata(key).and_then(|m| m.source.as_ref()) {
        Some(figment::Source::File(path)) => format!("{}: {key}", path.display()),
        _ => env_name(key),
    }
}

/// A refusal from figment as our error: which variable (or file key) and what to write.
fn explain(figment: &Figment, error: figment::Error) -> ConfigError {
    let Some(key) = error.path.first().cloned() else {
        return ConfigError::File {
            path: "settings".into(),
            reason: error.to_string(),
        };
    };
    let name = match error.metadata.as_ref().and_then(|m| m.source.as_ref()) {
        Some(figment::Source::File(path)) => format!("{}: {key}", path.display()),
        _ => source_of(figment, &key),
    };
    let secret = key.contains("secret") || key.contains("pepper");
    let value = match figment.find_value(&key) {
        _ if secret => "<redacted>".into(),
        Ok(figment::value::Value::String(_, text)) => text,
        Ok(other) => format!("{other:?}"),
        Err(_) => String::new(),
    };
    let problem = match &error.kind {
        figment::error::Kind::Message(message) => message.clone(),
        other => other.to_string(),
    };
    ConfigError::Invalid {
        name,
        value,
        problem,
    }
}

mod checks;
#[cfg(test)]
mod tests;
pub mod values;
