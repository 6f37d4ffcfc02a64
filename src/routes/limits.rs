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
}

/// Requests per minute per client address; each is also the burst size.
#[derive(Debug, Clone, Copy)]
pub struct RatePerMinute {
    pub login: u32,
    pub register: u32,
    pub refresh: u32,
}

pub struct RateLimits {
    login: Option<DefaultKeyedRateLimiter<IpAddr>>,
    register: Option<DefaultKeyedRateLimiter<IpAddr>>,
    refresh: Option<DefaultKeyedRateLimiter<IpAddr>>,
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
            },
            None => RateLimits {
                login: None,
                register: None,
                refresh: None,
            },
        }
    }

    /// Takes one token for this client, or says how long to wait.
    pub fn check(&self, limit: Limit, client_ip: Option<&str>) -> Result<(), ApiError> {
        let limiter = match limit {
            Limit::Login => &self.login,
            Limit::Register => &self.register,
            Limit::Refresh => &self.refresh,
        };
        let (Some(limiter), Some(ip)) = (limiter, client_ip) else {
            return Ok(());
        };
        let Ok(ip) = ip.parse::<IpAddr>() else {
            return Ok(());
        };
        limiter.check_key(&bucket(ip)).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::RateLimited {
                retry_after: wait.max(Duration::from_secs(1)).as_secs_f64().ceil() as u64,
            }
        })
    }

    /// Drops buckets that are full again, so memory follows the active clients.
    pub fn forget_idle_clients(&self) {
        for limiter in [&self.login, &self.register, &self.refresh]
            .into_iter()
            .flatten()
        {
            limiter.retain_recent();
        }
    }
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
