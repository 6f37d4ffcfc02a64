use diesel::prelude::*;

use super::models::SignInThrottle;
use super::schema::{sign_in_throttles, users};
use super::{Conn, DbError, on_each_backend};

pub fn find(conn: &mut Conn, key: &str) -> Result<Option<SignInThrottle>, DbError> {
    Ok(sign_in_throttles::table
        .find(key)
        .select(SignInThrottle::as_select())
        .get_result(conn)
        .optional()?)
}

/// Counts one more failure for a throttle key in a single statement (so failures counted at the
/// same moment by two instances both count) and returns the new count. The row stays locked
/// until the transaction ends.
pub fn count_failure(
    conn: &mut Conn,
    key: &str,
    scope: &str,
    user_id: Option<&str>,
    now: i64,
) -> Result<i32, DbError> {
    let first = SignInThrottle {
        throttle_key: key.to_owned(),
        scope: scope.to_owned(),
        user_id: user_id.map(str::to_owned),
        failures: 1,
        locked_until: now,
        last_failure_at: now,
    };
    let failures = on_each_backend!(conn, |conn| {
        diesel::insert_into(sign_in_throttles::table)
            .values(&first)
            .on_conflict(sign_in_throttles::throttle_key)
            .do_update()
            .set((
                sign_in_throttles::failures.eq(sign_in_throttles::failures + 1),
                sign_in_throttles::last_failure_at.eq(now),
            ))
            .returning(sign_in_throttles::failures)
            .get_result(conn)?
    });
    Ok(failures)
}

/// Refuses attempts under this key until `until`.
pub fn lock_until(conn: &mut Conn, key: &str, until: i64) -> Result<(), DbError> {
    diesel::update(sign_in_throttles::table.find(key))
        .set(sign_in_throttles::locked_until.eq(until))
        .execute(conn)?;
    Ok(())
}

/// Forgets the failures under one key; returns whether there were any.
pub fn clear(conn: &mut Conn, key: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(sign_in_throttles::table.find(key)).execute(conn)? > 0)
}

/// Forgets every trusted-device counter of a user (an admin clearing the account's throttle).
pub fn clear_devices_of(conn: &mut Conn, user_id: &str) -> Result<usize, DbError> {
    Ok(diesel::delete(
        sign_in_throttles::table
            .filter(sign_in_throttles::user_id.eq(user_id))
            .filter(sign_in_throttles::scope.eq("device")),
    )
    .execute(conn)?)
}

/// Forgets every counter of a user, untrusted and trusted devices alike (a completed reset:
/// whoever failed before, the account now has a password only its owner knows).
pub fn clear_all_of(conn: &mut Conn, user_id: &str) -> Result<usize, DbError> {
    Ok(
        diesel::delete(sign_in_throttles::table.filter(sign_in_throttles::user_id.eq(user_id)))
            .execute(conn)?,
    )
}

/// Throttles with at least `min_failures` failures, most recent first, with the username when
/// the account exists.
pub fn with_failures(
    conn: &mut Conn,
    min_failures: i32,
    limit: i64,
) -> Result<Vec<(SignInThrottle, Option<String>)>, DbError> {
    Ok(sign_in_throttles::table
        .left_join(users::table)
        .filter(sign_in_throttles::failures.ge(min_failures))
        .order(sign_in_throttles::last_failure_at.desc())
        .limit(limit)
        .select((SignInThrottle::as_select(), users::username.nullable()))
        .load(conn)?)
}

/// Deletes throttles that are no longer locked and saw no failure since `before`.
pub fn delete_stale(conn: &mut Conn, before: i64) -> Result<usize, DbError> {
    Ok(diesel::delete(
        sign_in_throttles::table
            .filter(sign_in_throttles::locked_until.lt(before))
            .filter(sign_in_throttles::last_failure_at.lt(before)),
    )
    .execute(conn)?)
}
