use diesel::prelude::*;

use super::models::{NewRefreshToken, RefreshToken, Session, User};
use super::schema::{refresh_tokens, sessions, users};
use super::{Conn, DbError};

pub fn insert(conn: &mut Conn, token: &NewRefreshToken<'_>) -> Result<i64, DbError> {
    Ok(diesel::insert_into(refresh_tokens::table)
        .values(token)
        .returning(refresh_tokens::id)
        .get_result(conn)?)
}

/// The token with this hash. Inside a write transaction on PostgreSQL the row stays locked
/// (`FOR UPDATE`) until the transaction ends, so concurrent rotations of one token, on any
/// instance, decide one after the other and see each other's outcome; on SQLite the
/// transaction's write lock already orders them.
pub fn find_by_hash(conn: &mut Conn, hash: &[u8]) -> Result<Option<RefreshToken>, DbError> {
    let by_hash = refresh_tokens::table.filter(refresh_tokens::token_hash.eq(hash));
    Ok(match conn {
        Conn::Postgres(conn) => by_hash
            .select(RefreshToken::as_select())
            .for_update()
            .get_result(conn)
            .optional()?,
        Conn::Sqlite(conn) => by_hash
            .select(RefreshToken::as_select())
            .get_result(conn)
            .optional()?,
    })
}

/// The token with this hash, its session and the session's user: what a rotation decides on.
/// SQLite reads the three in one query (the write lock is held already). PostgreSQL locks the
/// token row alone (`find_by_hash`), leaving the session and user rows free for other writers.
pub fn find_for_rotation(
    conn: &mut Conn,
    hash: &[u8],
) -> Result<Option<(RefreshToken, Session, User)>, DbError> {
    match conn {
        Conn::Sqlite(c) => Ok(refresh_tokens::table
            .inner_join(sessions::table.inner_join(users::table))
            .filter(refresh_tokens::token_hash.eq(hash))
            .select((
                RefreshToken::as_select(),
                Session::as_select(),
                User::as_select(),
            ))
            .get_result(c)
            .optional()?),
        Conn::Postgres(_) => {
            let Some(token) = find_by_hash(conn, hash)? else {
                return Ok(None);
            };
            Ok(super::sessions::find_with_user(conn, &token.session_id)?
                .map(|(session, user)| (token, session, user)))
        }
    }
}

/// The token issued in exchange for `parent_id`, if any.
pub fn find_child(conn: &mut Conn, parent_id: i64) -> Result<Option<RefreshToken>, DbError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::parent_id.eq(parent_id))
        .select(RefreshToken::as_select())
        .get_result(conn)
        .optional()?)
}

/// Claims an unused token: one conditional write, so of two racing claims exactly one wins.
pub fn claim(conn: &mut Conn, id: i64, now: i64) -> Result<bool, DbError> {
    let changed = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::id.eq(id))
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Records that a token was handed out a second time (after the grace window).
pub fn mark_retried(conn: &mut Conn, id: i64, now: i64) -> Result<(), DbError> {
    diesel::update(refresh_tokens::table.find(id))
        .set(refresh_tokens::retried_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// How many tokens of a session have not been exchanged yet (a healthy session has one).
pub fn count_unused(conn: &mut Conn, session_id: &str) -> Result<i64, DbError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::session_id.eq(session_id))
        .filter(refresh_tokens::used_at.is_null())
        .count()
        .get_result(conn)?)
}
