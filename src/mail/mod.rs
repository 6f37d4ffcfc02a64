//! Mail delivery: the background sender that takes mails from the outbox table and hands them to
//! an SMTP server, with retries and backoff. It knows SMTP and the outbox, not users: what to
//! send and when is decided by the domain (`auth::mail`), which writes outbox rows inside the
//! transaction of the change that causes them.

mod sender;
pub mod smtp;

use std::sync::atomic::{AtomicU64, Ordering};

pub use sender::{MailSender, SenderSettings, send_test_mail};
pub use smtp::SmtpTarget;

/// What the domain and the sender share: a bell rung when a mail was queued (so it leaves at
/// once instead of at the next poll), and the send outcomes for the metrics.
#[derive(Debug, Default)]
pub struct Postbox {
    wake: tokio::sync::Notify,
    outcomes: [AtomicU64; Outcome::COUNT],
}

/// How one attempt to send ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Outcome {
    /// The SMTP server accepted it.
    Sent,
    /// It failed for now and will be tried again.
    Retried,
    /// Refused for good, or given up on.
    Failed,
    /// No SMTP server is configured.
    Held,
}

impl Outcome {
    const COUNT: usize = 4;

    pub fn all() -> impl Iterator<Item = Outcome> {
        <Outcome as strum::IntoEnumIterator>::iter()
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl Postbox {
    /// A mail was committed to the outbox: the sender looks now.
    pub fn ring(&self) {
        self.wake.notify_one();
    }

    pub(crate) async fn rung(&self) {
        self.wake.notified().await;
    }

    fn count(&self, outcome: Outcome) {
        self.outcomes[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// How many attempts ended this way since the start.
    pub fn outcomes(&self, outcome: Outcome) -> u64 {
        self.outcomes[outcome as usize].load(Ordering::Relaxed)
    }
}
