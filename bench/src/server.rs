//! The server under test: the real `latchkey` binary on loopback, with its own database.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use latchkey_testkit::{ServerProcess, Start};

pub const SECRET: &str = "benchmark-secret-benchmark-secret-benchmark-secret-0123456789abcdef";

pub struct Server {
    process: ServerProcess,
    pub base: String,
    /// From spawning the process to the first 200 from `/healthz`.
    pub started_in: Duration,
}

/// What every benchmark server shares: the binary, the data folder, the bcrypt cost.
#[derive(Clone)]
pub struct ServerSpec {
    pub binary: PathBuf,
    pub dir: PathBuf,
    pub bcrypt_cost: u32,
    pub workers: usize,
    /// A PostgreSQL URL; `None` is the SQLite file in `dir`.
    pub database_url: Option<String>,
}

impl ServerSpec {
    pub fn database(&self) -> PathBuf {
        self.dir.join("latchkey.db")
    }

    /// Starts the server and waits until `/healthz` answers 200.
    pub async fn start(&self) -> Server {
        let started = Instant::now();
        let database = self
            .database_url
            .clone()
            .unwrap_or_else(|| self.database().display().to_string());
        let process = Start::new(&self.binary, &self.dir)
            .env("LATCHKEY_DATABASE_URL", database)
            .env("LATCHKEY_SECRET", SECRET)
            .env("LATCHKEY_BCRYPT_COST", self.bcrypt_cost.to_string())
            .env("LATCHKEY_RATE_LIMIT", "false")
            .env("LATCHKEY_WORKERS", self.workers.to_string())
            // Sessions must not go idle or end during a run.
            .env("LATCHKEY_IDLE_TTL", "7d")
            .spawn();
        let base = process.base.clone();
        let client = reqwest::Client::new();
        loop {
            let ready = client.get(format!("{base}/healthz")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Server {
            process,
            base,
            started_in: started.elapsed(),
        }
    }
}

impl Server {
    /// (current, peak) resident memory in bytes, from /proc.
    pub fn memory(&self) -> (u64, u64) {
        self.process.memory()
    }

    pub fn stop(self) {
        self.process.stop();
    }
}

pub fn binary_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}
