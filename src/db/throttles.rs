use diesel::prelude::*;

use super::models::LoginThrottle;
use super::schema::login_throttles;
use super::{Conn, DbError};

pub fn find(conn: &mut Conn, username_key: &str) -> Result<Option<LoginThrottle>, DbError> {
    Ok(login_throttles::table
        .find(username_key)
        .select(LoginThrottle::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts or replaces the throttle of one username key.
pub fn save(conn: &mut Conn, throttle: &LoginThrottle) -> Result<(), DbError> {
    diesel::insert_into(login_throttles::table)
        .values(throttle)
        .on_conflict(login_throttles::username_key)
        .do_update()
        .set(throttle)
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
