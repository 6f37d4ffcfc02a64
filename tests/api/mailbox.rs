//! A real SMTP server for the tests (`tests/mail/smtp_server.py`, aiosmtpd) and the mails it
//! received. `tests/run` starts one for the whole suite (`LATCHKEY_TEST_SMTP_PORT`,
//! `LATCHKEY_TEST_MAIL_SPOOL`); a test that must stop and start its server has its own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use mail_parser::MessageParser;

pub struct SmtpServer {
    pub port: u16,
    spool: PathBuf,
    child: Option<Child>,
    _own_dir: Option<tempfile::TempDir>,
}

/// One received mail, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    /// The link to `path` (`/reset`, `/verify`) in the mail's text.
    pub fn link(&self, path: &str) -> String {
        let at = self
            .text
            .find(&format!("{path}?token="))
            .unwrap_or_else(|| panic!("no {path} link in {:?}", self.text));
        let start = self.text[..at].rfind("http").expect("the link's start");
        let end = self.text[at..]
            .find(char::is_whitespace)
            .map_or(self.text.len(), |n| at + n);
        self.text[start..end].to_owned()
    }

    /// The `token` of the link to `path`.
    pub fn token(&self, path: &str) -> String {
        let link = self.link(path);
        link.split("token=").nth(1).expect("a token").to_owned()
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mail/start")
}

impl SmtpServer {
    /// The suite's server when `tests/run` started one, else one of this test's own.
    pub fn shared() -> SmtpServer {
        match (
            std::env::var("LATCHKEY_TEST_SMTP_PORT"),
            std::env::var("LATCHKEY_TEST_MAIL_SPOOL"),
        ) {
            (Ok(port), Ok(spool)) => SmtpServer {
                port: port.parse().expect("LATCHKEY_TEST_SMTP_PORT is a port"),
                spool: PathBuf::from(spool),
                child: None,
                _own_dir: None,
            },
            _ => SmtpServer::start_own(0),
        }
    }

    /// A server of this test's own on `port` (0: any free port).
    pub fn start_own(port: u16) -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool");
        let mut server = SmtpServer {
            port,
            spool,
            child: None,
            _own_dir: Some(dir),
        };
        server.start();
        server
    }

    /// (Re)starts this test's own server on its port, with the same spool.
    pub fn start(&mut self) {
        let dir = self
            ._own_dir
            .as_ref()
            .expect("only a test's own server restarts");
        let port_file = dir.path().join(format!("port-{}", rand_suffix()));
        let child = Command::new(script())
            .arg("--spool")
            .arg(&self.spool)
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--port-file")
            .arg(&port_file)
            .spawn()
            .expect("the test SMTP server starts (tests/mail/start)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                self.port = text.trim().parse().unwrap();
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the test SMTP server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops this test's own server (it can be started again on the same port).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    /// `LATCHKEY_SMTP_URL` for this server (a local test server: plain text, said explicitly).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// Every mail received so far for `to`, oldest first.
    pub fn mails_to(&self, to: &str) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(&self.spool) else {
            return Vec::new();
        };
        let mut names: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .filter_map(|path| std::fs::read(path).ok())
            .filter_map(|raw| parse(&raw))
            .filter(|mail| mail.to.eq_ignore_ascii_case(to))
            .collect()
    }

    /// Waits (up to 20 s) until `count` mails for `to` arrived; returns them all.
    pub async fn wait_for(&self, to: &str, count: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mails = self.mails_to(to);
            if mails.len() >= count {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "{count} mail(s) for {to} did not arrive in 20 s (got {})",
                mails.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The newest mail for `to` once there are `count`.
    pub async fn nth(&self, to: &str, count: usize) -> Mail {
        self.wait_for(to, count).await.pop().unwrap()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn parse(raw: &[u8]) -> Option<Mail> {
    let text = String::from_utf8_lossy(raw);
    let first = text.lines().next()?;
    let to = first
        .strip_prefix("X-Test-Envelope-To: ")?
        .trim()
        .to_owned();
    let message = MessageParser::default().parse(raw)?;
    Some(Mail {
        to,
        subject: message.subject().unwrap_or_default().to_owned(),
        text: message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        html: message
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
    })
}

/// A fresh address nobody else in the suite uses.
pub fn unique_address(name: &str) -> String {
    format!("{name}-{}@example.com", rand_suffix())
}
