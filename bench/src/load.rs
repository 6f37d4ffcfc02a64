//! A closed-loop load generator: N workers, each sending its next request when the previous one
//! is answered, until a shared budget of requests or time runs out.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Requests left and the deadline, shared by every worker of one run.
#[derive(Clone)]
pub struct Budget {
    left: Arc<AtomicI64>,
    deadline: Instant,
    pub errors: Arc<AtomicU64>,
}

impl Budget {
    pub fn new(requests: i64, time: Duration) -> Budget {
        Budget {
            left: Arc::new(AtomicI64::new(requests)),
            deadline: Instant::now() + time,
            errors: Arc::new(AtomicU64::new(0)),
        }
    }

    /// True while another request may be sent.
    pub fn take(&self) -> bool {
        Instant::now() < self.deadline && self.left.fetch_sub(1, Ordering::Relaxed) > 0
    }

    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// What one run measured.
pub struct Sample {
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
    pub errors: u64,
}

impl Sample {
    pub fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `p`-th percentile latency (0 < p <= 100).
    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let index = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[index.clamp(1, sorted.len()) - 1]
    }
}

/// Runs `concurrency` workers; each gets its index and the budget and returns the latencies of
/// the requests it completed successfully.
pub async fn run<F, Fut>(concurrency: usize, budget: Budget, worker: F) -> Sample
where
    F: Fn(usize, Budget) -> Fut,
    Fut: Future<Output = Vec<Duration>> + Send + 'static,
{
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|index| tokio::spawn(worker(index, budget.clone())))
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap_or_default());
    }
    Sample {
        latencies,
        elapsed: started.elapsed(),
        errors: budget.errors.load(Ordering::Relaxed),
    }
}

/// Times one request; `Some` when it succeeded.
pub async fn timed<T>(request: impl Future<Output = Option<T>>) -> Option<(T, Duration)> {
    let started = Instant::now();
    let value = request.await?;
    Some((value, started.elapsed()))
}
