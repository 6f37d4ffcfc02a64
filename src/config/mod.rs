//! Settings: defaults, then `latchkey.toml` (or the file named by `LATCHKEY_CONFIG`), then
//! `LATCHKEY_*` environment variables. Every key has the same name in both places: `access_ttl`
//! in the file is `LATCHKEY_ACCESS_TTL` in the environment.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::auth::input::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS_FLOOR};
use crate::auth::refresh::RefreshRetry;

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

#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: String,
    pub database_url: String,
    pub database_pool_size: u32,
    /// The server secret itself; when absent it is read from (or created in) `secret_file`.
    pub secret: Option<Secret>,
    pub secret_file: PathBuf,
    pub access_ttl: Duration,
    pub idle_ttl: Duration,
    pub absolute_ttl: Duration,
    pub reuse_grace: Duration,
    /// `same-successor`: a refresh token whose successor was never used gets that successor
    /// again, for as long as the session lives; `strict`: only inside `reuse_grace`.
    pub refresh_retry: RefreshRetry,
    pub leeway: Duration,
    pub bcrypt_cost: u32,
    pub password_min_length: usize,
    pub password_pepper: Option<Secret>,
    pub issuer: String,
    pub audience: String,
    pub registration_open: bool,
    /// HTTPS deployments: cookies get `Secure` and the `__Host-` name prefix.
    pub cookie_secure: bool,
    /// `LATCHKEY_ENV=production`: refuse to start with settings only fit for development.
    pub production: bool,
    /// Per-IP limits (requests per minute per address); `LATCHKEY_RATE_LIMIT=off` disables them.
    pub rate_limit: bool,
    pub rate_limit_login: u32,
    pub rate_limit_register: u32,
    pub rate_limit_refresh: u32,
    /// Proxies whose `X-Forwarded-For` is believed (addresses or CIDR ranges).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub prune_interval: Duration,
    /// Audit events older than this are deleted by `prune`.
    pub audit_retention: Duration,
    pub key_reload_interval: Duration,
    /// `Cache-Control: max-age` of the JWKS; a rotated key signs only after verifiers' cached
    /// copies have expired.
    pub jwks_max_age: Duration,
    pub workers: Option<usize>,
    pub log: String,
    /// `json`: one JSON object per line (for log shippers); `pretty`: for people.
    pub log_json: bool,
    /// Serve Prometheus metrics at `/metrics`.
    pub metrics: bool,
    /// Serve `/metrics` on this address instead of the main one (keep it off the internet).
    pub metrics_addr: Option<String>,
    /// A request body that has not arrived in full this long after the headers is refused
    /// (408) and its connection closed.
    pub body_timeout: Duration,
    /// `--new-database` on the command line (not a setting): start even though the secret file
    /// exists and the SQLite database does not.
    pub allow_new_database: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            addr: "127.0.0.1:8080".into(),
            database_url: "data/latchkey.db".into(),
            database_pool_size: 8,
            secret: None,
            secret_file: PathBuf::from("data/secret.key"),
            access_ttl: Duration::from_secs(15 * 60),
            idle_ttl: Duration::from_secs(7 * 24 * 3600),
            absolute_ttl: Duration::from_secs(30 * 24 * 3600),
            reuse_grace: Duration::from_secs(10),
            refresh_retry: RefreshRetry::SameSuccessor,
            leeway: Duration::from_secs(5),
            bcrypt_cost: 12,
            password_min_length: 12,
            password_pepper: None,
            issuer: "latchkey".into(),
            audience: "latchkey".into(),
            registration_open: true,
            cookie_secure: false,
            production: false,
            rate_limit: true,
            rate_limit_login: 30,
            rate_limit_register: 10,
            rate_limit_refresh: 120,
            trusted_proxies: Vec::new(),
            prune_interval: Duration::from_secs(3600),
            audit_retention: Duration::from_secs(90 * 24 * 3600),
            key_reload_interval: Duration::from_secs(30),
            jwks_max_age: Duration::from_secs(300),
            workers: None,
            log: "info".into(),
            log_json: false,
            metrics: false,
            metrics_addr: None,
            body_timeout: Duration::from_secs(10),
            allow_new_database: false,
        }
    }
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

/// Every setting's key; the environment variable is `LATCHKEY_` + the key in upper case.
pub const KEYS: &[&str] = &[
    "addr",
    "database_url",
    "database_pool_size",
    "secret",
    "secret_file",
    "access_ttl",
    "idle_ttl",
    "absolute_ttl",
    "reuse_grace",
    "refresh_retry",
    "leeway",
    "bcrypt_cost",
    "password_min_length",
    "password_pepper",
    "issuer",
    "audience",
    "registration",
    "cookie_secure",
    "env",
    "rate_limit",
    "rate_limit_login",
    "rate_limit_register",
    "rate_limit_refresh",
    "trusted_proxies",
    "prune_interval",
    "audit_retention",
    "key_reload_interval",
    "jwks_max_age",
    "workers",
    "log",
    "log_format",
    "metrics",
    "metrics_addr",
    "body_timeout",
];

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
        let mut values = if required || path.exists() {
            read_file(&path)?
        } else {
            BTreeMap::new()
        };
        for key in KEYS {
            if let Ok(value) = std::env::var(env_name(key)) {
                values.insert(key.to_string(), (value, env_name(key)));
            }
        }
        Settings::from_values(values)
    }

    /// Builds settings from `key -> value` pairs (as the environment would give them).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let values = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), (v.to_string(), env_name(k))))
            .collect();
        Settings::from_values(values)
    }

    /// `values`: key -> (value, where it came from, for error messages).
    fn from_values(values: BTreeMap<String, (String, String)>) -> Result<Settings, ConfigError> {
        let mut s = Settings::default();
        for (key, (value, origin)) in &values {
            let invalid = |problem: &str| ConfigError::Invalid {
                name: origin.clone(),
                value: if key.contains("secret") || key.contains("pepper") {
                    "<redacted>".into()
                } else {
                    value.clone()
                },
                problem: problem.to_string(),
            };
            match key.as_str() {
                "addr" => s.addr = value.clone(),
                "database_url" => s.database_url = value.clone(),
                "database_pool_size" => {
                    s.database_pool_size = parse_in_range(value, 1, 64).map_err(|p| invalid(&p))?
                }
                "secret" => s.secret = Some(Secret::new(value.clone())),
                "secret_file" => s.secret_file = PathBuf::from(value),
                "access_ttl" => s.access_ttl = duration(value).map_err(|p| invalid(&p))?,
                "idle_ttl" => s.idle_ttl = duration(value).map_err(|p| invalid(&p))?,
                "absolute_ttl" => s.absolute_ttl = duration(value).map_err(|p| invalid(&p))?,
                "reuse_grace" => s.reuse_grace = duration(value).map_err(|p| invalid(&p))?,
                "refresh_retry" => {
                    s.refresh_retry = match value.as_str() {
                        "same-successor" => RefreshRetry::SameSuccessor,
                        "strict" => RefreshRetry::Strict,
                        _ => return Err(invalid("write `same-successor` or `strict`")),
                    }
                }
                "body_timeout" => s.body_timeout = duration(value).map_err(|p| invalid(&p))?,
                "leeway" => s.leeway = duration(value).map_err(|p| invalid(&p))?,
                "bcrypt_cost" => {
                    s.bcrypt_cost = parse_in_range(value, 4, 31).map_err(|p| invalid(&p))?
                }
                "password_min_length" => {
                    s.password_min_length =
                        parse_in_range(value, PASSWORD_MIN_CHARS_FLOOR, PASSWORD_MAX_CHARS)
                            .map_err(|p| invalid(&p))?
                }
                "password_pepper" => s.password_pepper = Some(Secret::new(value.clone())),
                "issuer" => s.issuer = value.clone(),
                "audience" => s.audience = value.clone(),
                "registration" => {
                    s.registration_open = match value.as_str() {
                        "open" => true,
                        "closed" => false,
                        _ => return Err(invalid("write `open` or `closed`")),
                    }
                }
                "cookie_secure" => {
                    s.cookie_secure = match value.as_str() {
                        "true" | "1" | "yes" => true,
                        "false" | "0" | "no" => false,
                        _ => return Err(invalid("write `true` (HTTPS) or `false`")),
                    }
                }
                "env" => {
                    s.production = match value.as_str() {
                        "production" => true,
                        "development" => false,
                        _ => return Err(invalid("write `production` or `development`")),
                    }
                }
                "rate_limit" => {
                    s.rate_limit = match value.as_str() {
                        "on" => true,
                        "off" => false,
                        _ => return Err(invalid("write `on` or `off`")),
                    }
                }
                "rate_limit_login" => {
                    s.rate_limit_login =
                        parse_in_range(value, 0, 100_000).map_err(|p| invalid(&p))?
                }
                "rate_limit_register" => {
                    s.rate_limit_register =
                        parse_in_range(value, 0, 100_000).map_err(|p| invalid(&p))?
                }
                "rate_limit_refresh" => {
                    s.rate_limit_refresh =
                        parse_in_range(value, 0, 100_000).map_err(|p| invalid(&p))?
                }
                "trusted_proxies" => {
                    s.trusted_proxies = parse_proxies(value).map_err(|p| invalid(&p))?
                }
                "prune_interval" => s.prune_interval = duration(value).map_err(|p| invalid(&p))?,
                "audit_retention" => {
                    s.audit_retention = duration(value).map_err(|p| invalid(&p))?
                }
                "key_reload_interval" => {
                    s.key_reload_interval = duration(value).map_err(|p| invalid(&p))?
                }
                "jwks_max_age" => s.jwks_max_age = duration(value).map_err(|p| invalid(&p))?,
                "workers" => {
                    s.workers = Some(parse_in_range(value, 1, 256).map_err(|p| invalid(&p))?)
                }
                "log" => s.log = value.clone(),
                "log_format" => {
                    s.log_json = match value.as_str() {
                        "json" => true,
                        "pretty" => false,
                        _ => return Err(invalid("write `pretty` or `json`")),
                    }
                }
                "metrics" => {
                    s.metrics = match value.as_str() {
                        "true" | "1" | "yes" => true,
                        "false" | "0" | "no" => false,
                        _ => return Err(invalid("write `true` or `false`")),
                    }
                }
                "metrics_addr" => {
                    s.metrics_addr = Some(value.clone()).filter(|addr| !addr.is_empty())
                }
                _ => {}
            }
        }
        s.check()?;
        Ok(s)
    }
}

fn read_file(path: &std::path::Path) -> Result<BTreeMap<String, (String, String)>, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::File {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let mut values = BTreeMap::new();
    for (key, value) in table {
        if !KEYS.contains(&key.as_str()) {
            return Err(ConfigError::UnknownKey {
                path: shown,
                key,
                known: KEYS.join(", "),
            });
        }
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(ConfigError::File {
                    path: shown,
                    reason: format!(
                        "`{key}` must be a string or a number, not {}",
                        other.type_str()
                    ),
                });
            }
        };
        values.insert(key.clone(), (text, format!("{shown}: {key}")));
    }
    Ok(values)
}

/// `10.0.0.1, 192.168.0.0/16, ::1` -> networks (a bare address is a single-host network).
fn parse_proxies(value: &str) -> Result<Vec<ipnet::IpNet>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    format!("`{item}` is not an IP address or CIDR range (like 10.0.0.0/8)")
                })
        })
        .collect()
}

fn duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value.trim())
        .map_err(|_| "not a duration; write it like 15m, 7d, 10s or 1h30m".to_string())
}

fn parse_in_range<T>(value: &str, min: T, max: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match value.trim().parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(format!("must be a whole number from {min} to {max}")),
    }
}

mod checks;
#[cfg(test)]
mod tests;
