//! How each kind of setting is written: parsed from what a person typed (in `latchkey.toml` or
//! an environment variable) and shown back (in `config check` and the README's table).

use std::path::PathBuf;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};

use super::Secret;

/// A type a setting can have.
pub trait SettingValue: Sized {
    /// Reads the value as typed; the error says how to write it.
    fn parse(text: &str) -> Result<Self, String>;
    /// The value as one would write it.
    fn shown(&self) -> String;
    /// Never printed (`config check` shows `<redacted>`).
    const SECRET: bool = false;
}

impl SettingValue for String {
    fn parse(text: &str) -> Result<String, String> {
        Ok(text.to_owned())
    }
    fn shown(&self) -> String {
        self.clone()
    }
}

impl SettingValue for PathBuf {
    fn parse(text: &str) -> Result<PathBuf, String> {
        Ok(PathBuf::from(text))
    }
    fn shown(&self) -> String {
        self.display().to_string()
    }
}

macro_rules! whole_number {
    ($($ty:ty),*) => {$(
        impl SettingValue for $ty {
            fn parse(text: &str) -> Result<$ty, String> {
                text.trim().parse().map_err(|_| "must be a whole number".to_owned())
            }
            fn shown(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
whole_number!(u32, usize);

impl SettingValue for Duration {
    fn parse(text: &str) -> Result<Duration, String> {
        humantime::parse_duration(text.trim())
            .map_err(|_| "not a duration; write it like 15m, 7d, 10s or 1h30m".to_owned())
    }
    /// In the largest whole unit, as people write it in settings (`90d`, `15m`), rather than
    /// humantime's calendar months.
    fn shown(&self) -> String {
        match self.as_secs() {
            0 => "0s".into(),
            s if s % 86_400 == 0 => format!("{}d", s / 86_400),
            s if s % 3_600 == 0 => format!("{}h", s / 3_600),
            s if s % 60 == 0 => format!("{}m", s / 60),
            s => format!("{s}s"),
        }
    }
}

/// `true` or `false`; `on` and `off` are accepted as the same.
impl SettingValue for bool {
    fn parse(text: &str) -> Result<bool, String> {
        match text.trim() {
            "true" | "on" => Ok(true),
            "false" | "off" => Ok(false),
            _ => Err("write `true` or `false`".into()),
        }
    }
    fn shown(&self) -> String {
        self.to_string()
    }
}

impl SettingValue for Secret {
    fn parse(text: &str) -> Result<Secret, String> {
        Ok(Secret::new(text))
    }
    fn shown(&self) -> String {
        "<redacted>".into()
    }
    const SECRET: bool = true;
}

/// Unset is written as nothing (an empty value unsets it too).
impl<T: SettingValue> SettingValue for Option<T> {
    fn parse(text: &str) -> Result<Option<T>, String> {
        if text.trim().is_empty() {
            Ok(None)
        } else {
            T::parse(text).map(Some)
        }
    }
    fn shown(&self) -> String {
        self.as_ref().map_or_else(|| "–".into(), T::shown)
    }
    const SECRET: bool = T::SECRET;
}

/// `10.0.0.1, 192.168.0.0/16, ::1`: addresses or CIDR ranges (an address is a one-host range).
impl SettingValue for Vec<ipnet::IpNet> {
    fn parse(text: &str) -> Result<Vec<ipnet::IpNet>, String> {
        text.split(',')
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
    fn shown(&self) -> String {
        if self.is_empty() {
            return "–".into();
        }
        self.iter()
            .map(|net| net.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A setting that is one of a few words: the words are the enum's variants (strum names them).
#[macro_export]
macro_rules! word_setting {
    ($ty:ty) => {
        impl $crate::config::values::SettingValue for $ty {
            fn parse(text: &str) -> Result<$ty, String> {
                use strum::IntoEnumIterator;
                text.trim().parse().map_err(|_| {
                    let words: Vec<String> = <$ty>::iter()
                        .map(|w| format!("`{}`", <&str>::from(w)))
                        .collect();
                    format!("write {}", words.join(" or "))
                })
            }
            fn shown(&self) -> String {
                <&str>::from(*self).to_owned()
            }
        }
    };
}

/// `serde(deserialize_with)` for every setting: a TOML string, number or boolean, or an
/// environment variable's text, goes through the setting type's own `parse`.
pub fn setting<'de, D: Deserializer<'de>, T: SettingValue>(deserializer: D) -> Result<T, D::Error> {
    let text = deserializer.deserialize_any(AsText)?;
    T::parse(&text).map_err(de::Error::custom)
}

struct AsText;

impl Visitor<'_> for AsText {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string, a number or true/false")
    }
    fn visit_str<E: de::Error>(self, value: &str) -> Result<String, E> {
        Ok(value.to_owned())
    }
    fn visit_bool<E: de::Error>(self, value: bool) -> Result<String, E> {
        Ok(value.to_string())
    }
    fn visit_i64<E: de::Error>(self, value: i64) -> Result<String, E> {
        Ok(value.to_string())
    }
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<String, E> {
        Ok(value.to_string())
    }
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<String, E> {
        Ok(value.to_string())
    }
    fn visit_char<E: de::Error>(self, value: char) -> Result<String, E> {
        Ok(value.to_string())
    }
}

/// A bound on one setting's value, which the documentation shows too.
pub trait Bound<T> {
    fn check(&self, value: &T) -> Result<(), String>;
    /// The allowed values, as the README writes them (`1 – 64`).
    fn allowed(&self) -> String;
}

/// `min..=max`; `why` (may be empty) is added to the refusal.
pub struct Within<T> {
    min: T,
    max: T,
    why: &'static str,
}

pub fn within<T>(min: T, max: T, why: &'static str) -> Within<T> {
    Within { min, max, why }
}

impl<T: SettingValue + PartialOrd> Bound<T> for Within<T> {
    fn check(&self, value: &T) -> Result<(), String> {
        if *value >= self.min && *value <= self.max {
            return Ok(());
        }
        let reason = if self.why.is_empty() {
            String::new()
        } else {
            format!("; {}", self.why)
        };
        Err(format!(
            "must be from {} to {}{reason}",
            self.min.shown(),
            self.max.shown()
        ))
    }
    fn allowed(&self) -> String {
        format!("{} – {}", self.min.shown(), self.max.shown())
    }
}

/// `within` for a setting that may be unset.
pub fn within_if_set<T>(min: T, max: T) -> Within<T> {
    within(min, max, "")
}

impl<T: SettingValue + PartialOrd> Bound<Option<T>> for Within<T> {
    fn check(&self, value: &Option<T>) -> Result<(), String> {
        value
            .as_ref()
            .map_or(Ok(()), |value| Bound::<T>::check(self, value))
    }
    fn allowed(&self) -> String {
        Bound::<T>::allowed(self)
    }
}
