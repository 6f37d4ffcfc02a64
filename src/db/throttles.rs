use diesel::prelude::*;

use super::models::LoginThrottle;
use super::schema::login_throttles;
use super::{Conn, DbError, on_each_backend};

pub fn find(conn: &mut Conn, username_key: &str) -> Result<Option<LoginThrottle>, DbError> {
    Ok(login_throttles::table
        .find(username_key)
        .select(LoginThrottle::as_select())
        .first(conn)
        .optional()?)
}

/// Counts one more failure for a username key in a single statement (so failures counted at
/// the same moment by two instances both count) and returns the new count. The row stays
/// locked until the transaction ends.
pub fn count_failure(conn: &mut Conn, username_key: &str, now: i64) -> Result<i32, DbError> {
    let first = LoginThrottle {
        username_key: username_key.to_owned(),
        failures: 1,
        locked_until: now,
        last_failure_at: now,
    };
    let failures = on_each_backend!(conn, |conn| {
        diesel::insert_into(login_throttles::table)
            .values(&first)
            .on_conflict(login_throttles::username_key)
            .do_update()
            .set((
                login_throttles::failures.eq(login_throttles::failures + 1),
                login_throttles::last_failure_at.eq(now),
            ))
            .returning(login_throttles::failures)
            .get_result(conn)?
    });
    Ok(failures)
}

/// Refuses sign-ins for the username key until `until`.
pub fn lock_until(conn: &mut Conn, username_key: &str, until: i64) -> Result<(), DbError> {
    diesel::update(login_throttles::table.find(username_key))
        .set(login_throttles::locked_until.eq(until))
        .execute(conn)?;
    Ok(())
}

/// Forgets the failures of one username key; returns whether there were any.
pub fn clear(conn: &mut Conn, username_key: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(login_throttles::table.find(username_key)).execute(conn)? > 0)
}

/// Throttles with at least `min_failures` failures, most recent first.
pub fn with_failures(
    conn: &mut Conn,
    min_failures: i32,
    limit: i64,
) -> Result<Vec<LoginThrottle>, DbError> {
    Ok(login_throttles::table
        .filter(login_throttles::failures.ge(min_failures))
        .order(login_throttles::last_failure_at.desc())
        .limit(limit)
        .select(LoginThrottle::as_select())
        .load(conn)?)
}

/// Deletes throttles that are no longer locked and saw no failure since `before`.
pub fn delete_stale(conn: &mut Conn, before: i64) -> Result<usize, DbError> {
    Ok(diesel::delete(
        login_throttles::table
            .filter(login_throttles::locked_until.lt(before))
            .filter(login_throttles::last_failure_at.lt(before)),
    )
    .execute(conn)?)
}
