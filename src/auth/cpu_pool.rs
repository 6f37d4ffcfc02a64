//! bcrypt runs on its own threads at a lower CPU priority. A burst of sign-ins still uses every
//! idle core, but it never delays the requests that need only a little CPU (token checks,
//! refreshes, pages): the kernel's scheduler runs those first. Without this, two cores busy with
//! bcrypt made a protected call's p99 several times slower (see the README's Performance).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

/// `nice` value of the hashing threads: 10 gets roughly a tenth of a contended core's time.
const NICE: i32 = 10;

pub struct LowPriorityPool {
    jobs: Sender<Job>,
}

impl LowPriorityPool {
    fn new(threads: usize) -> LowPriorityPool {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("latchkey-hash-{index}"))
                .spawn(move || {
                    lower_priority();
                    work(&queue);
                });
            if let Err(error) = spawned {
                tracing::warn!(%error, "could not start a password-hashing thread");
            }
        }
        LowPriorityPool { jobs }
    }

    /// Runs `job` on a hashing thread and waits for its result (the caller is itself a blocking
    /// thread, never an async worker). Runs it here if no hashing thread is left. A job that
    /// panics is an error for its caller; the thread lives on for the next job.
    pub fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, JobPanicked> {
        let (done, result) = mpsc::sync_channel(1);
        let job: Job = Box::new(move || {
            // The result channel is dropped unsent when `job` panics: the caller sees that.
            let _ = done.send(job());
        });
        if let Err(mpsc::SendError(job)) = self.jobs.send(job) {
            run_caught(job);
        }
        result.recv().map_err(|_| JobPanicked)
    }
}

/// A hashing job panicked (a bug in it or in a library it called).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a password-hashing job panicked")]
pub struct JobPanicked;

/// A job's panic stops at the job: the job owns everything it touches, so no state it leaves
/// half-changed is seen again.
fn run_caught(job: Job) {
    let _ = catch_unwind(AssertUnwindSafe(job));
}

fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        // A poisoned lock only means another thread panicked while waiting; the receiver is fine.
        let job = queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .recv();
        match job {
            Ok(job) => run_caught(job),
            Err(_) => return,
        }
    }
}

/// Lowers the calling thread's priority (on Linux, nice values are per thread).
#[allow(
    unsafe_code,
    reason = "libc::setpriority has no safe wrapper in our dependencies"
)]
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; `who = 0` is the calling thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, NICE);
    }
}

/// The process-wide hashing pool, one thread per core.
pub fn hashing_pool() -> &'static LowPriorityPool {
    static POOL: OnceLock<LowPriorityPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        LowPriorityPool::new(cores)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_on_the_pool_and_return_their_result() {
        let pool = LowPriorityPool::new(2);
        let name = pool.run(|| std::thread::current().name().map(str::to_owned));
        assert!(name.unwrap().unwrap().starts_with("latchkey-hash-"));
        let results: Vec<u64> = (0..20u64)
            .map(|i| pool.run(move || i * i).unwrap())
            .collect();
        assert_eq!(results[19], 361);
    }

    #[test]
    fn a_panicking_job_is_an_error_and_its_thread_keeps_working() {
        let pool = LowPriorityPool::new(1);
        let panicked = pool.run(|| -> u32 { panic!("a bug in a hashing job") });
        assert_eq!(panicked, Err(JobPanicked));
        // The only thread survived: it runs the next job (it would hang or run inline otherwise).
        let name = pool.run(|| std::thread::current().name().map(str::to_owned));
        assert_eq!(name.unwrap().as_deref(), Some("latchkey-hash-0"));
    }
}
