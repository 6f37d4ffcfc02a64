//! The real `latchkey` binary as a child process on `127.0.0.1:0`. Its port comes from the file
//! it writes once listening (`--port-file`); its log lines are kept for tests that read them.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How to start a server: the binary, its working folder, and its environment beyond the
/// address (always `127.0.0.1:0`) and the log settings.
pub struct Start<'a> {
    pub binary: &'a Path,
    pub dir: &'a Path,
    pub env: Vec<(String, String)>,
    /// Extra command-line arguments (e.g. `--new-database`).
    pub args: Vec<String>,
    /// How long to wait for the port file.
    pub timeout: Duration,
}

impl<'a> Start<'a> {
    pub fn new(binary: &'a Path, dir: &'a Path) -> Start<'a> {
        Start {
            binary,
            dir,
            env: Vec::new(),
            args: Vec::new(),
            timeout: Duration::from_secs(30),
        }
    }

    pub fn env(mut self, name: &str, value: impl Into<String>) -> Start<'a> {
        self.env.push((name.to_owned(), value.into()));
        self
    }

    pub fn envs<'e>(mut self, pairs: impl IntoIterator<Item = (&'e str, &'e str)>) -> Start<'a> {
        for (name, value) in pairs {
            self.env.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    pub fn arg(mut self, arg: &str) -> Start<'a> {
        self.args.push(arg.to_owned());
        self
    }

    /// Starts the server and waits until it has written its port.
    pub fn spawn(self) -> ServerProcess {
        let port_file = unique_port_file(self.dir);
        let mut child = Command::new(self.binary)
            .current_dir(self.dir)
            .env("LATCHKEY_ADDR", "127.0.0.1:0")
            .env("LATCHKEY_LOG", "warn,latchkey::cli=info")
            .env("NO_COLOR", "1")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .arg("--port-file")
            .arg(&port_file)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let (log_tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = log_tx.send(line);
            }
        });
        let started = Instant::now();
        let ports = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                break text;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let lines: Vec<String> = log.try_iter().collect();
                panic!(
                    "the server exited ({status}) before listening:\n{}",
                    lines.join("\n")
                );
            }
            assert!(
                started.elapsed() < self.timeout,
                "the server wrote no port file within {:?}",
                self.timeout
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        let _ = std::fs::remove_file(&port_file);
        let mut lines = ports.lines().map(|line| line.trim().parse::<u16>());
        let port = lines
            .next()
            .and_then(Result::ok)
            .expect("the port file names a port");
        let metrics_port = lines.next().and_then(Result::ok);
        ServerProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
            port,
            metrics_port,
            log,
        }
    }
}

/// A port file no other server in this folder uses.
fn unique_port_file(dir: &Path) -> PathBuf {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).expect("random name");
    let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("port-{name}"))
}

/// A running server; killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
    pub port: u16,
    pub metrics_port: Option<u16>,
    /// Every line the server writes to stderr.
    pub log: mpsc::Receiver<String>,
}

impl ServerProcess {
    /// Sends a signal by name (`TERM`, `KILL`, `HUP`...).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

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

    /// SIGTERM, then waits for the process to exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
