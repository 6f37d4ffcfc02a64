//! The background sender: polls the outbox (and wakes when a mail is queued), claims each due
//! mail with a lease so that two instances never send one twice at once, sends it, and records
//! the outcome. A request never waits for SMTP.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Outcome, Postbox, SmtpTarget};
use crate::auth::Clock;
use crate::db::models::OutboxMail;
use crate::db::{self, Db, DbError};

/// How often the outbox is looked at when nothing rings.
const POLL: Duration = Duration::from_secs(1);
/// Mails claimed per look.
const BATCH: i64 = 32;
/// A claimed mail is someone else's for this long; a sender that died mid-send lets it go.
const LEASE_SECONDS: i64 = 120;
/// The first retry waits this long, then twice as long each time, up to `MAX_BACKOFF_SECONDS`.
const FIRST_BACKOFF_SECONDS: i64 = 2;
const MAX_BACKOFF_SECONDS: i64 = 300;
/// A mail not delivered this long after it was written is given up on: its link (24 h at most)
/// would be dead by the time it arrived.
const GIVE_UP_AFTER_SECONDS: i64 = 24 * 3600;

pub struct SenderSettings {
    pub smtp: Option<SmtpTarget>,
    pub from: String,
    /// Development without SMTP: print each held mail's text (with its link) in the log.
    pub log_held_mail: bool,
}

pub struct MailSender {
    db: Db,
    clock: Clock,
    postbox: Arc<Postbox>,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    log_held_mail: bool,
}

impl MailSender {
    pub fn new(
        db: Db,
        clock: Clock,
        postbox: Arc<Postbox>,
        settings: SenderSettings,
    ) -> Result<MailSender, String> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| format!("LATCHKEY_MAIL_FROM `{}`: {e}", settings.from))?;
        let transport = settings
            .smtp
            .as_ref()
            .map(SmtpTarget::transport)
            .transpose()?;
        Ok(MailSender {
            db,
            clock,
            postbox,
            transport,
            from,
            log_held_mail: settings.log_held_mail,
        })
    }

    /// Sends until the task is aborted.
    pub async fn run(self) {
        loop {
            if let Err(error) = self.deliver_due().await {
                tracing::warn!(%error, "could not read the mail outbox");
            }
            let _ = tokio::time::timeout(POLL, self.postbox.rung()).await;
        }
    }

    /// One look at the outbox: every due mail gets one attempt.
    pub async fn deliver_due(&self) -> Result<(), DbError> {
        let now = self.clock.now();
        let due = self
            .on_db(move |conn| db::outbox::due(conn, now, BATCH))
            .await?;
        for mail in due {
            let (id, seen) = (mail.id, mail.next_attempt_at);
            let lease = now + LEASE_SECONDS;
            if !self
                .on_db(move |c| db::outbox::claim(c, id, seen, lease))
                .await?
            {
                continue;
            }
            self.attempt(mail).await?;
        }
        Ok(())
    }

    async fn attempt(&self, mail: OutboxMail) -> Result<(), DbError> {
        let id = mail.id;
        let Some(transport) = &self.transport else {
            if self.log_held_mail {
                tracing::info!(
                    to = %mail.recipient,
                    subject = %mail.subject,
                    "no SMTP server is configured (LATCHKEY_SMTP_URL); the mail is kept in \
                     the outbox as not sent. Its text:\n{}",
                    mail.body_text.as_deref().unwrap_or_default()
                );
            }
            self.postbox.count(Outcome::Held);
            let now = self.clock.now();
            return self.on_db(move |c| db::outbox::mark_held(c, id, now)).await;
        };
        let message = match self.message(&mail) {
            Ok(message) => message,
            Err(reason) => {
                self.postbox.count(Outcome::Failed);
                let now = self.clock.now();
                return self
                    .on_db(move |c| db::outbox::mark_failed(c, id, now, &reason))
                    .await;
            }
        };
        let sent = transport.send(message).await;
        let now = self.clock.now();
        match sent {
            Ok(_) => {
                self.postbox.count(Outcome::Sent);
                tracing::info!(mail = id, kind = %mail.kind, "mail sent");
                self.on_db(move |c| db::outbox::mark_sent(c, id, now)).await
            }
            Err(error) => {
                let reason = explain(&error);
                let attempts = i64::from(mail.attempts) + 1;
                if error.is_permanent() || now - mail.created_at >= GIVE_UP_AFTER_SECONDS {
                    self.postbox.count(Outcome::Failed);
                    tracing::warn!(mail = id, %reason, attempts, "mail failed for good");
                    self.on_db(move |c| db::outbox::mark_failed(c, id, now, &reason))
                        .await
                } else {
                    self.postbox.count(Outcome::Retried);
                    let retry_at = now + backoff_seconds(attempts);
                    tracing::info!(mail = id, %reason, attempts, retry_at, "mail not sent yet");
                    self.on_db(move |c| db::outbox::mark_retry(c, id, now, retry_at, &reason))
                        .await
                }
            }
        }
    }

    fn message(&self, mail: &OutboxMail) -> Result<Message, String> {
        let to: Mailbox = mail
            .recipient
            .parse()
            .map_err(|e| format!("the address cannot receive mail: {e}"))?;
        let (Some(text), Some(html)) = (&mail.body_text, &mail.body_html) else {
            return Err("the mail has no body left to send".into());
        };
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                text.clone(),
                html.clone(),
            ))
            .map_err(|e| format!("could not build the mail: {e}"))
    }

    async fn on_db<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut db::Conn) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || work(&mut *db.conn()?))
            .await
            .map_err(|e| DbError::Unavailable(format!("outbox work panicked: {e}")))?
    }
}

/// Seconds before the next attempt after `attempts` failed ones: 2, 4, 8, ... up to 5 minutes.
fn backoff_seconds(attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    (FIRST_BACKOFF_SECONDS << doublings).min(MAX_BACKOFF_SECONDS)
}

/// The SMTP server's answer when there was one (`550 5.1.1 no such user`), else what went wrong
/// with the connection.
fn explain(error: &lettre::transport::smtp::Error) -> String {
    let text = error.to_string();
    text.chars().take(500).collect()
}

/// `latchkey mail test`: one mail straight to the SMTP server (not through the outbox); returns
/// what the server answered.
pub async fn send_test_mail(target: &SmtpTarget, from: &str, to: &str) -> Result<String, String> {
    let from: Mailbox = from
        .parse()
        .map_err(|e| format!("LATCHKEY_MAIL_FROM `{from}`: {e}"))?;
    let to: Mailbox = to.parse().map_err(|e| format!("`{to}`: {e}"))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject("Latchkey test mail")
        .body(String::from(
            "This is a test mail from Latchkey (`latchkey mail test`). Mail delivery works.\n",
        ))
        .map_err(|e| format!("could not build the mail: {e}"))?;
    let response = target.transport()?.send(message).await.map_err(|e| {
        format!(
            "{} refused or could not be reached: {}",
            target.describe(),
            explain(&e)
        )
    })?;
    let lines: Vec<&str> = response.message().collect();
    Ok(format!("{} {}", response.code(), lines.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_start_within_seconds_and_back_off_to_five_minutes() {
        let waits: Vec<i64> = (1..=10).map(backoff_seconds).collect();
        assert_eq!(waits[..5], [2, 4, 8, 16, 32]);
        assert_eq!(*waits.last().unwrap(), 300);
        assert_eq!(backoff_seconds(1000), 300);
    }
}
