//! The mail outbox: rows written with the change that causes them, claimed and settled by the
//! background sender.

use diesel::prelude::*;

use super::models::{NewOutboxMail, OutboxMail};
use super::schema::mail_outbox;
use super::{Conn, DbError};

pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";
pub const HELD: &str = "held";

pub fn insert(conn: &mut Conn, mail: &NewOutboxMail<'_>) -> Result<i64, DbError> {
    Ok(diesel::insert_into(mail_outbox::table)
        .values(mail)
        .returning(mail_outbox::id)
        .get_result(conn)?)
}

/// Up to `limit` pending mails whose next attempt is due, oldest first.
pub fn due(conn: &mut Conn, now: i64, limit: i64) -> Result<Vec<OutboxMail>, DbError> {
    Ok(mail_outbox::table
        .filter(mail_outbox::status.eq(PENDING))
        .filter(mail_outbox::next_attempt_at.le(now))
        .order(mail_outbox::id.asc())
        .limit(limit)
        .select(OutboxMail::as_select())
        .load(conn)?)
}

/// Takes a due mail for one attempt: moves its next attempt to `lease_until` if nobody else
/// moved it first. True for the one sender that got it.
pub fn claim(
    conn: &mut Conn,
    id: i64,
    seen_next_attempt_at: i64,
    lease_until: i64,
) -> Result<bool, DbError> {
    let claimed = diesel::update(
        mail_outbox::table
            .find(id)
            .filter(mail_outbox::status.eq(PENDING))
            .filter(mail_outbox::next_attempt_at.eq(seen_next_attempt_at)),
    )
    .set(mail_outbox::next_attempt_at.eq(lease_until))
    .execute(conn)?;
    Ok(claimed == 1)
}

/// The SMTP server took the mail: the bodies (which hold the link) are erased.
pub fn mark_sent(conn: &mut Conn, id: i64, now: i64) -> Result<(), DbError> {
    diesel::update(mail_outbox::table.find(id))
        .set((
            mail_outbox::status.eq(SENT),
            mail_outbox::attempts.eq(mail_outbox::attempts + 1),
            mail_outbox::last_attempt_at.eq(now),
            mail_outbox::sent_at.eq(now),
            mail_outbox::last_error.eq(None::<String>),
            mail_outbox::body_text.eq(None::<String>),
            mail_outbox::body_html.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// An attempt failed for now: tried again at `retry_at`.
pub fn mark_retry(
    conn: &mut Conn,
    id: i64,
    now: i64,
    retry_at: i64,
    error: &str,
) -> Result<(), DbError> {
    diesel::update(mail_outbox::table.find(id))
        .set((
            mail_outbox::attempts.eq(mail_outbox::attempts + 1),
            mail_outbox::last_attempt_at.eq(now),
            mail_outbox::next_attempt_at.eq(retry_at),
            mail_outbox::last_error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}

/// Refused for good, or given up on: the bodies are erased, the reason kept.
pub fn mark_failed(conn: &mut Conn, id: i64, now: i64, error: &str) -> Result<(), DbError> {
    settle(conn, id, FAILED, now, Some(error), 1)
}

/// No SMTP server is configured: the mail is kept (bodies erased) as not sent.
pub fn mark_held(conn: &mut Conn, id: i64, now: i64) -> Result<(), DbError> {
    settle(conn, id, HELD, now, None, 0)
}

fn settle(
    conn: &mut Conn,
    id: i64,
    status: &str,
    now: i64,
    error: Option<&str>,
    attempted: i32,
) -> Result<(), DbError> {
    diesel::update(mail_outbox::table.find(id))
        .set((
            mail_outbox::status.eq(status),
            mail_outbox::attempts.eq(mail_outbox::attempts + attempted),
            mail_outbox::last_attempt_at.eq(now),
            mail_outbox::last_error.eq(error),
            mail_outbox::body_text.eq(None::<String>),
            mail_outbox::body_html.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// The newest mails first (optionally of one status), with how many match.
pub fn page(
    conn: &mut Conn,
    status: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<OutboxMail>, i64), DbError> {
    let filtered = || {
        let mut query = mail_outbox::table.into_boxed();
        if let Some(status) = status {
            query = query.filter(mail_outbox::status.eq(status.to_owned()));
        }
        query
    };
    let rows = filtered()
        .order(mail_outbox::id.desc())
        .limit(limit)
        .offset(offset)
        .select(OutboxMail::as_select())
        .load(conn)?;
    let total = filtered().count().get_result(conn)?;
    Ok((rows, total))
}

/// How many mails have each status.
pub fn counts(conn: &mut Conn) -> Result<Vec<(String, i64)>, DbError> {
    Ok(mail_outbox::table
        .group_by(mail_outbox::status)
        .select((mail_outbox::status, diesel::dsl::count_star()))
        .load(conn)?)
}

/// Deletes settled mails created before `before` (prune); pending ones stay.
pub fn delete_settled(conn: &mut Conn, before: i64) -> Result<usize, DbError> {
    Ok(diesel::delete(
        mail_outbox::table
            .filter(mail_outbox::status.ne(PENDING))
            .filter(mail_outbox::created_at.lt(before)),
    )
    .execute(conn)?)
}
