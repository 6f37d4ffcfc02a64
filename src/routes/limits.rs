//! Per-IP rate limits on sign-in, registration and refresh: a token bucket per client address
//! (GCRA, via `governor`), kept in memory per instance. The per-account throttle in the database
//! is separate and always on. An IPv6 client has a bucket per /64: one host is usually given a
//! whole /64, and could otherwise take a fresh bucket for every request.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

#[derive(Debug, Clone, Copy)]
pub enum Limit {
    Login,
    Register,
    Refresh,
    /// Reset requests and confirmations, new verification links.
    Recovery,
}

/// Requests per minute per client address; each is also the burst size.
#[derive(Debug, Clone, Copy)]
pub struct RatePerMinute {
    pub login: u32,
    pub register: u32,
    pub refresh: u32,
    pub recovery: u32,
}

pub struct RateLimits {
    login: Option<DefaultKeyedRateLimiter<IpAddr>>,
    register: Option<DefaultKeyedRateLimiter<IpAddr>>,
    refresh: Option<DefaultKeyedRateLimiter<IpAddr>>,
    recovery: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Always on, whatever `LATCHKEY_RATE_LIMIT` says: per typed identifier (reset requests,
    /// new verification links) and per token (reset confirmations).
    per_identifier: DefaultKeyedRateLimiter<[u8; 32]>,
    per_token: DefaultKeyedRateLimiter<[u8; 32]>,
}

/// Reset mails per typed identifier: 3 at once, then one more every 10 minutes. Counted for
/// the identifier as typed (normalised), whether or not an account has it, so a refusal says
/// nothing about who exists.
const PER_IDENTIFIER_BURST: u32 = 3;
const PER_IDENTIFIER_EVERY: Duration = Duration::from_secs(600);
/// Attempts per reset token: 5 at once, then one a minute (a token is 256 bits: this only
/// keeps one link from being hammered).
const PER_TOKEN_BURST: u32 = 5;
const PER_TOKEN_EVERY: Duration = Duration::from_secs(60);

fn quota(burst: u32, every: Duration) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(every)
        .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
        .allow_burst(burst)
}

fn limiter(per_minute: u32) -> Option<DefaultKeyedRateLimiter<IpAddr>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

impl RateLimits {
    /// `None` switches every per-IP limit off (load tests from one address).
    pub fn new(rates: Option<RatePerMinute>) -> RateLimits {
        match rates {
            Some(rates) => RateLimits {
                login: limiter(rates.login),
                register: limiter(rates.register),
                refresh: limiter(rates.refresh),
                recovery: limiter(rates.recovery),
                ..RateLimits::always_on()
            },
            None => RateLimits::always_on(),
        }
    }

    fn always_on() -> RateLimits {
        RateLimits {
            login: None,
            register: None,
            refresh: None,
            recovery: None,
            per_identifier: RateLimiter::keyed(quota(PER_IDENTIFIER_BURST, PER_IDENTIFIER_EVERY)),
            per_token: RateLimiter::keyed(quota(PER_TOKEN_BURST, PER_TOKEN_EVERY)),
        }
    }

    /// One reset request (or new verification link) for `identifier` as typed: compared like
    /// usernames and addresses are (trimmed, case-folded), so `Alice` and `alice` share a count.
    pub fn check_identifier(&self, purpose: &str, identifier: &str) -> Result<(), ApiError> {
        let key = crate::auth::input::username_key(identifier);
        refuse_when_empty(self.per_identifier.check_key(&digest(purpose, &key)))
    }

    /// One attempt with this token.
    pub fn check_token(&self, token: &str) -> Result<(), ApiError> {
        refuse_when_empty(self.per_token.check_key(&digest("token", token)))
    }

    /// Takes one token for this client, or says how long to wait.
    pub fn check(&self, limit: Limit, client_ip: Option<&str>) -> Result<(), ApiError> {
        let limiter = match limit {
            Limit::Login => &self.login,
            Limit::Register => &self.register,
            Limit::Refresh => &self.refresh,
            Limit::Recovery => &self.recovery,
        };
        let (Some(limiter), Some(ip)) = (limiter, client_ip) else {
            return Ok(());
        };
        let Ok(ip) = ip.parse::<IpAddr>() else {
            return Ok(());
        };
        refuse_when_empty(limiter.check_key(&bucket(ip)))
    }

    /// Drops buckets that are full again, so memory follows the active clients.
    pub fn forget_idle_clients(&self) {
        for limiter in [&self.login, &self.register, &self.refresh, &self.recovery]
            .into_iter()
            .flatten()
        {
            limiter.retain_recent();
        }
        self.per_identifier.retain_recent();
        self.per_token.retain_recent();
    }
}

/// A bucket's answer as ours: a refusal says how long to wait.
fn refuse_when_empty(
    checked: Result<(), governor::NotUntil<<DefaultClock as Clock>::Instant>>,
) -> Result<(), ApiError> {
    checked.map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        ApiError::RateLimited {
            retry_after: wait.max(Duration::from_secs(1)).as_secs_f64().ceil() as u64,
        }
    })
}

/// A fixed-size key for a typed value (memory per bucket does not grow with what was typed).
fn digest(purpose: &str, value: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(purpose.as_bytes());
    hash.update([0]);
    hash.update(value.as_bytes());
    hash.finalize().into()
}

/// The bucket of an address: itself for IPv4, its /64 for IPv6 (IPv4-mapped IPv6 is IPv4).
pub fn bucket(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = v6.to_bits() & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from_bits(prefix))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_address_of_one_ipv6_64_shares_a_bucket() {
        let limits = RateLimits::new(Some(RatePerMinute {
            login: 2,
            register: 1,
            refresh: 1,
            recovery: 1,
        }));
        assert!(limits.check(Limit::Login, Some("2001:db8:1:2::1")).is_ok());
        assert!(
            limits
                .check(Limit::Login, Some("2001:db8:1:2:ffff::9"))
                .is_ok()
        );
        assert!(
            limits
                .check(Limit::Login, Some("2001:db8:1:2:aaaa::7"))
                .is_err()
        );
        assert!(
            limits.check(Limit::Login, Some("2001:db8:1:3::1")).is_ok(),
            "next /64"
        );
        assert_eq!(
            bucket("::ffff:10.0.0.1".parse().unwrap()),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_with_a_wait() {
        let limits = RateLimits::new(Some(RatePerMinute {
            login: 3,
            register: 1,
            refresh: 0,
            recovery: 1,
        }));
        for _ in 0..3 {
            assert!(limits.check(Limit::Login, Some("10.0.0.1")).is_ok());
        }
        match limits.check(Limit::Login, Some("10.0.0.1")) {
            Err(ApiError::RateLimited { retry_after }) => assert!((1..=20).contains(&retry_after)),
            other => panic!("expected a refusal, got {other:?}"),
        }
        // Other addresses and other limits have their own buckets; 0 means unlimited.
        assert!(limits.check(Limit::Login, Some("10.0.0.2")).is_ok());
        assert!(limits.check(Limit::Register, Some("10.0.0.1")).is_ok());
        for _ in 0..100 {
            assert!(limits.check(Limit::Refresh, Some("10.0.0.1")).is_ok());
        }
    }

    #[test]
    fn switched_off_limits_allow_everything() {
        let limits = RateLimits::new(None);
        for _ in 0..100 {
            assert!(limits.check(Limit::Login, Some("10.0.0.1")).is_ok());
        }
    }
}
