//! Second-factor challenges: the step between a right password and a session. Stored as the
//! token's hash, consumed once by one UPDATE.

use diesel::prelude::*;

use super::models::SecondFactorChallenge;
use super::schema::second_factor_challenges as challenges;
use super::{Conn, DbError};

pub fn insert(conn: &mut Conn, challenge: &SecondFactorChallenge) -> Result<(), DbError> {
    diesel::insert_into(challenges::table)
        .values(challenge)
        .execute(conn)?;
    Ok(())
}

/// The challenge with this hash if it is unused and unexpired.
pub fn find_open(
    conn: &mut Conn,
    hash: &[u8],
    now: i64,
) -> Result<Option<SecondFactorChallenge>, DbError> {
    Ok(challenges::table
        .find(hash)
        .filter(challenges::used_at.is_null())
        .filter(challenges::expires_at.gt(now))
        .select(SecondFactorChallenge::as_select())
        .get_result(conn)
        .optional()?)
}

/// Consumes the challenge if it is still open; true for the one caller that did.
pub fn claim(conn: &mut Conn, hash: &[u8], now: i64) -> Result<bool, DbError> {
    let rows = diesel::update(
        challenges::table
            .find(hash)
            .filter(challenges::used_at.is_null())
            .filter(challenges::expires_at.gt(now)),
    )
    .set(challenges::used_at.eq(now))
    .execute(conn)?;
    Ok(rows == 1)
}

/// Counts a wrong code against the challenge and voids it at `limit`; returns the count.
pub fn count_failure(conn: &mut Conn, hash: &[u8], limit: i32, now: i64) -> Result<i32, DbError> {
    diesel::update(challenges::table.find(hash))
        .set(challenges::failures.eq(challenges::failures + 1))
        .execute(conn)?;
    let failures: i32 = challenges::table
        .find(hash)
        .select(challenges::failures)
        .get_result(conn)
        .optional()?
        .unwrap_or(limit);
    if failures >= limit {
        diesel::update(
            challenges::table
                .find(hash)
                .filter(challenges::used_at.is_null()),
        )
        .set(challenges::used_at.eq(now))
        .execute(conn)?;
    }
    Ok(failures)
}

/// Voids every open challenge of the user (their factors were reset, or they were disabled).
pub fn void_for_user(conn: &mut Conn, user_id: &str, now: i64) -> Result<usize, DbError> {
    Ok(diesel::update(
        challenges::table
            .filter(challenges::user_id.eq(user_id))
            .filter(challenges::used_at.is_null()),
    )
    .set(challenges::used_at.eq(now))
    .execute(conn)?)
}

/// Deletes challenges that expired before `before` (prune).
pub fn delete_expired(conn: &mut Conn, before: i64) -> Result<usize, DbError> {
    Ok(
        diesel::delete(challenges::table.filter(challenges::expires_at.lt(before)))
            .execute(conn)?,
    )
}
