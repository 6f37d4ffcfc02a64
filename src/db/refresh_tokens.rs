use diesel::prelude::*;

use super::models::{NewRefreshToken, RefreshToken};
use super::schema::refresh_tokens;
use super::{Conn, DbError};

pub fn insert(conn: &mut Conn, token: &NewRefreshToken<'_>) -> Result<i32, DbError> {
    Ok(diesel::insert_into(refresh_tokens::table)
        .values(token)
        .returning(refresh_tokens::id)
        .get_result(conn)?)
}

pub fn find_by_hash(conn: &mut Conn, hash: &[u8]) -> Result<Option<RefreshToken>, DbError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshToken::as_select())
        .first(conn)
        .optional()?)
}

/// The token issued in exchange for `parent_id`, if any.
pub fn find_child(conn: &mut Conn, parent_id: i32) -> Result<Option<RefreshToken>, DbError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::parent_id.eq(parent_id))
        .select(RefreshToken::as_select())
        .first(conn)
        .optional()?)
}

/// Claims an unused token: one conditional write, so of two racing claims exactly one wins.
pub fn claim(conn: &mut Conn, id: i32, now: i64) -> Result<bool, DbError> {
    let changed = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::id.eq(id))
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(changed == 1)
}

/// How many tokens of a session have not been exchanged yet (a healthy session has one).
pub fn count_unused(conn: &mut Conn, session_id: &str) -> Result<i64, DbError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::session_id.eq(session_id))
        .filter(refresh_tokens::used_at.is_null())
        .count()
        .get_result(conn)?)
}
