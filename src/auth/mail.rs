//! What to mail and when: each mail the domain sends is a `Letter`, rendered from the two mail
//! templates (text and HTML) and written to the outbox inside the caller's transaction, so it
//! commits with the change that causes it. Delivery is `crate::mail`'s job.

use askama::Template;

use super::AuthService;
use super::error::AuthError;
use crate::db::models::NewOutboxMail;
use crate::db::{self, Conn};

const PRODUCT: &str = "Latchkey";

/// The kinds of mail, as the outbox records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum MailKind {
    PasswordReset,
    EmailVerification,
    PasswordChanged,
    EmailChanged,
}

/// One mail, before it is rendered.
pub struct Letter<'a> {
    pub kind: MailKind,
    pub subject: String,
    pub intro: String,
    /// The one link, with the words on its button.
    pub link: Option<(&'a str, &'a str)>,
    pub outro: &'static str,
}

#[derive(Template)]
#[template(path = "mail/message.txt")]
struct TextBody<'a> {
    intro: &'a str,
    link: Option<&'a str>,
    action: &'a str,
    outro: &'a str,
    product: &'a str,
}

#[derive(Template)]
#[template(path = "mail/message.html")]
struct HtmlBody<'a> {
    subject: &'a str,
    intro: &'a str,
    link: Option<&'a str>,
    action: &'a str,
    outro: &'a str,
    product: &'a str,
}

impl Letter<'_> {
    pub fn password_reset(link: &str, minutes: i64) -> Letter<'_> {
        Letter {
            kind: MailKind::PasswordReset,
            subject: format!("{PRODUCT}: reset your password"),
            intro: format!(
                "Someone (we hope you) asked to reset the password of your account. The link \
                 works once, for {minutes} minutes."
            ),
            link: Some((link, "Choose a new password")),
            outro: "If you did not ask for this, ignore this mail: your password stays as it is.",
        }
    }

    pub fn email_verification(link: &str) -> Letter<'_> {
        Letter {
            kind: MailKind::EmailVerification,
            subject: format!("{PRODUCT}: confirm your email address"),
            intro: "Confirm that this is your address, so that you can reset your password \
                    with it. The link works once, for 24 hours."
                .into(),
            link: Some((link, "Confirm this address")),
            outro: "If you did not give this address to us, ignore this mail.",
        }
    }

    pub fn password_changed() -> Letter<'static> {
        Letter {
            kind: MailKind::PasswordChanged,
            subject: format!("{PRODUCT}: your password was changed"),
            intro: "The password of your account was just reset, and every device was signed \
                    out."
                .into(),
            link: None,
            outro: "If this was not you, contact your administrator now.",
        }
    }

    pub fn email_changed(new_address: &str) -> Letter<'_> {
        Letter {
            kind: MailKind::EmailChanged,
            subject: format!("{PRODUCT}: your email address was changed"),
            intro: format!(
                "The email address of your account was changed to {new_address}. Mail about \
                 your account now goes there."
            ),
            link: None,
            outro: "If this was not you, contact your administrator now.",
        }
    }

    fn render(&self) -> Result<(String, String), AuthError> {
        let (link, action) = match self.link {
            Some((link, action)) => (Some(link), action),
            None => (None, ""),
        };
        let failed = |e: askama::Error| AuthError::Internal(format!("mail template: {e}"));
        let text = TextBody {
            intro: &self.intro,
            link,
            action,
            outro: self.outro,
            product: PRODUCT,
        }
        .render()
        .map_err(failed)?;
        let html = HtmlBody {
            subject: &self.subject,
            intro: &self.intro,
            link,
            action,
            outro: self.outro,
            product: PRODUCT,
        }
        .render()
        .map_err(failed)?;
        Ok((text, html))
    }
}

impl AuthService {
    /// Writes `letter` to the outbox inside the caller's transaction. The sender is woken once
    /// the transaction has committed (`ring_postbox`).
    pub(super) fn enqueue_in(
        &self,
        conn: &mut Conn,
        recipient: &str,
        user_id: Option<&str>,
        letter: &Letter<'_>,
        now: i64,
    ) -> Result<(), AuthError> {
        let (text, html) = letter.render()?;
        db::outbox::insert(
            conn,
            &NewOutboxMail {
                kind: letter.kind.into(),
                recipient,
                user_id,
                subject: &letter.subject,
                body_text: &text,
                body_html: &html,
                status: db::outbox::PENDING,
                attempts: 0,
                created_at: now,
                next_attempt_at: now,
            },
        )?;
        Ok(())
    }

    /// Tells the sender that mail was committed.
    pub(super) fn ring_postbox(&self) {
        self.postbox.ring();
    }

    /// `{public_url}{path}?token=...`: the links mails carry.
    pub(super) fn link(&self, path: &str, token: &str) -> String {
        format!(
            "{}{path}?token={token}",
            self.config.mail.public_url.trim_end_matches('/')
        )
    }
}

/// One outbox row as admins see it: never the bodies (they hold the links).
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub status: String,
    pub attempts: i32,
    pub created_at: i64,
    pub next_attempt_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

/// The statuses a mail can have, as stored and filtered by.
pub const OUTBOX_STATUSES: [&str; 4] = [
    db::outbox::PENDING,
    db::outbox::SENT,
    db::outbox::FAILED,
    db::outbox::HELD,
];

impl AuthService {
    /// The newest mails first (optionally one status), for admins.
    pub fn outbox(
        &self,
        _: &super::access::Admin,
        status: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<super::sessions::Page<OutboxEntry>, AuthError> {
        let (rows, total) = db::outbox::page(&mut *self.db.conn()?, status, limit, offset)?;
        let items = rows
            .into_iter()
            .map(|row| OutboxEntry {
                next_attempt_at: (row.status == db::outbox::PENDING).then_some(row.next_attempt_at),
                id: row.id,
                kind: row.kind,
                recipient: row.recipient,
                status: row.status,
                attempts: row.attempts,
                created_at: row.created_at,
                last_attempt_at: row.last_attempt_at,
                sent_at: row.sent_at,
                last_error: row.last_error,
            })
            .collect();
        Ok(super::sessions::Page { items, total })
    }

    /// How many mails have each status (the metrics' queue depth).
    pub fn outbox_counts(&self) -> Result<Vec<(String, i64)>, AuthError> {
        Ok(db::outbox::counts(&mut *self.db.conn()?)?)
    }
}
