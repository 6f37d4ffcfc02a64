//! Recovery codes: keyed hashes only, each claimed once by one UPDATE.

use diesel::prelude::*;

use super::models::RecoveryCode;
use super::schema::recovery_codes;
use super::{Conn, DbError};

/// Replaces the user's codes by a new set (the old ones stop working).
pub fn replace_all(conn: &mut Conn, user_id: &str, codes: &[RecoveryCode]) -> Result<(), DbError> {
    delete_all(conn, user_id)?;
    // One statement per code: the multi-backend connection has no multi-row insert.
    for code in codes {
        diesel::insert_into(recovery_codes::table)
            .values(code)
            .execute(conn)?;
    }
    Ok(())
}

pub fn delete_all(conn: &mut Conn, user_id: &str) -> Result<usize, DbError> {
    Ok(
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
            .execute(conn)?,
    )
}

/// Marks the user's code with this hash used if it was unused; true for the one caller that did.
pub fn claim(conn: &mut Conn, user_id: &str, hash: &[u8], now: i64) -> Result<bool, DbError> {
    let rows = diesel::update(
        recovery_codes::table
            .find(hash)
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)?;
    Ok(rows == 1)
}

/// Whether the user has an unused code with this hash (checked before the write that claims it).
pub fn is_unused(conn: &mut Conn, user_id: &str, hash: &[u8]) -> Result<bool, DbError> {
    let found: i64 = recovery_codes::table
        .find(hash)
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(found == 1)
}

/// How many unused codes the user has.
pub fn unused_count(conn: &mut Conn, user_id: &str) -> Result<i64, DbError> {
    Ok(recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?)
}
