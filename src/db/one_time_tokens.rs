//! One-time tokens (password reset, address verification): stored as hashes, consumed by one
//! UPDATE that claims the row, so two racing uses cannot both succeed.

use diesel::prelude::*;

use super::models::OneTimeToken;
use super::schema::one_time_tokens;
use super::{Conn, DbError};

pub fn insert(conn: &mut Conn, token: &OneTimeToken) -> Result<(), DbError> {
    diesel::insert_into(one_time_tokens::table)
        .values(token)
        .execute(conn)?;
    Ok(())
}

/// The token with this hash and purpose, used or not.
pub fn find(conn: &mut Conn, hash: &[u8], purpose: &str) -> Result<Option<OneTimeToken>, DbError> {
    Ok(one_time_tokens::table
        .find(hash)
        .filter(one_time_tokens::purpose.eq(purpose))
        .select(OneTimeToken::as_select())
        .get_result(conn)
        .optional()?)
}

/// Marks the token used if it still was unused and unexpired; true for the one caller that did.
pub fn claim(conn: &mut Conn, hash: &[u8], now: i64) -> Result<bool, DbError> {
    let claimed = diesel::update(
        one_time_tokens::table
            .find(hash)
            .filter(one_time_tokens::used_at.is_null())
            .filter(one_time_tokens::expires_at.gt(now)),
    )
    .set(one_time_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(claimed == 1)
}

/// Voids every unused token of this purpose for the user (a newer one replaces them).
pub fn void_for_user(
    conn: &mut Conn,
    user_id: &str,
    purpose: &str,
    now: i64,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        one_time_tokens::table
            .filter(one_time_tokens::user_id.eq(user_id))
            .filter(one_time_tokens::purpose.eq(purpose))
            .filter(one_time_tokens::used_at.is_null()),
    )
    .set(one_time_tokens::used_at.eq(now))
    .execute(conn)?)
}

/// Deletes tokens that expired before `before` (prune).
pub fn delete_expired(conn: &mut Conn, before: i64) -> Result<usize, DbError> {
    Ok(
        diesel::delete(one_time_tokens::table.filter(one_time_tokens::expires_at.lt(before)))
            .execute(conn)?,
    )
}
