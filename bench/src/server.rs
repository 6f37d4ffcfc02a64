//! The server under test: the real `latchkey` binary on loopback, with its own database.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const SECRET: &str = "benchmark-secret-benchmark-secret-benchmark-secret-0123456789abcdef";

pub struct Server {
    child: Child,
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
        let mut child = Command::new(&self.binary)
            .current_dir(&self.dir)
            .env("LATCHKEY_ADDR", "127.0.0.1:0")
            .env(
                "LATCHKEY_DATABASE_URL",
                self.database_url
                    .clone()
                    .unwrap_or_else(|| self.database().display().to_string()),
            )
            .env("LATCHKEY_SECRET", SECRET)
            .env("LATCHKEY_BCRYPT_COST", self.bcrypt_cost.to_string())
            .env("LATCHKEY_RATE_LIMIT", "false")
            .env("LATCHKEY_WORKERS", self.workers.to_string())
            // Sessions must not go idle or end during a run.
            .env("LATCHKEY_IDLE_TTL", "7d")
            .env("LATCHKEY_LOG", "warn,latchkey::cli=info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let (port_tx, port_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(port) = line
                    .split("(port ")
                    .nth(1)
                    .and_then(|rest| rest.split(')').next())
                {
                    let _ = port_tx.send(port.to_owned());
                }
            }
        });
        let port = port_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server reports its port");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        loop {
            let ready = client.get(format!("{base}/healthz")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Server {
            child,
            base,
            started_in: started.elapsed(),
        }
    }
}

impl Server {
    /// (current, peak) resident memory in bytes, from /proc.
    pub fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kb| kb.parse::<u64>().ok())
                .map_or(0, |kb| kb * 1024)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

pub fn binary_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}
