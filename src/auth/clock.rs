use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The server's notion of "now", in Unix seconds. Production reads the system clock; tests use a
/// frozen clock and move it by hand (idle and absolute lifetimes, grace windows, throttles), so
/// no answer depends on when a second boundary happens to pass.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Added to the system time, or, when frozen, the time itself.
    seconds: Arc<AtomicI64>,
    frozen: bool,
}

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that stands still at the current time until `advance` moves it.
    pub fn frozen() -> Clock {
        Clock {
            seconds: Arc::new(AtomicI64::new(system_seconds())),
            frozen: true,
        }
    }

    pub fn now(&self) -> i64 {
        let seconds = self.seconds.load(Ordering::Relaxed);
        if self.frozen {
            seconds
        } else {
            system_seconds() + seconds
        }
    }

    /// Moves this clock (and every clone of it) by `seconds`, which may be negative.
    pub fn advance(&self, seconds: i64) {
        self.seconds.fetch_add(seconds, Ordering::Relaxed);
    }
}

fn system_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
