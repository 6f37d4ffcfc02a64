//! `latchkey migrate-data`: copies every row of a SQLite database into an empty PostgreSQL one,
//! ids and hashes unchanged, so every session and refresh token keeps working after the move.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::models::{AuthEventRow, RefreshToken, Session, SignInThrottle, SigningKey, User};
use super::schema::{
    auth_events, refresh_tokens, sessions, sign_in_throttles, signing_keys, users,
};
use super::{Conn, DbError};

/// Rows per read and per multi-row insert; 10 columns x 5,000 stays under PostgreSQL's limit of
/// 65,535 bound parameters per statement.
const BATCH: i64 = 5_000;

/// How many rows of each table were copied.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Copied {
    pub users: usize,
    pub sessions: usize,
    pub refresh_tokens: usize,
    pub signing_keys: usize,
    pub sign_in_throttles: usize,
    pub auth_events: usize,
}

/// Copies table by table in key order, a batch at a time, parents before children.
macro_rules! copy_table {
    ($from:ident, $to:ident, $table:ident, $key:ident, $row:ty, $start:expr) => {{
        let mut copied = 0;
        let mut after = $start;
        loop {
            let batch: Vec<$row> = $table::table
                .filter($table::$key.gt(after.clone()))
                .order($table::$key.asc())
                .limit(BATCH)
                .select(<$row>::as_select())
                .load($from)?;
            let Some(last) = batch.last() else {
                break;
            };
            after = last.$key.clone();
            copied += diesel::insert_into($table::table)
                .values(&batch)
                .execute($to)?;
        }
        copied
    }};
}

/// Copies everything from `from` (SQLite) into `to` (PostgreSQL, migrated and empty) in one
/// transaction on each side: a consistent snapshot is read, and the target gets all of it or
/// nothing.
pub fn copy_all(from: &mut Conn, to: &mut Conn) -> Result<Copied, DbError> {
    let (Conn::Sqlite(from), Conn::Postgres(to)) = (from, to) else {
        return Err(DbError::Unsupported(
            "migrate-data copies from a SQLite database to a PostgreSQL one",
        ));
    };
    from.transaction(|from| {
        to.transaction(|to| {
            let existing: i64 = users::table.count().get_result(to)?;
            let keys: i64 = signing_keys::table.count().get_result(to)?;
            if existing + keys > 0 {
                return Err(DbError::Unsupported(
                    "the PostgreSQL database already holds users or keys; migrate-data only \
                     copies into an empty database (create a new one and point --to at it)",
                ));
            }
            let copied = Copied {
                users: copy_table!(from, to, users, id, User, String::new()),
                sessions: copy_table!(from, to, sessions, id, Session, String::new()),
                refresh_tokens: copy_table!(from, to, refresh_tokens, id, RefreshToken, 0),
                signing_keys: copy_table!(from, to, signing_keys, kid, SigningKey, String::new()),
                sign_in_throttles: copy_table!(
                    from,
                    to,
                    sign_in_throttles,
                    throttle_key,
                    SignInThrottle,
                    String::new()
                ),
                auth_events: copy_table!(from, to, auth_events, id, AuthEventRow, 0),
            };
            // Rows came with their ids; new rows must be numbered after them.
            to.batch_execute(
                "SELECT setval(pg_get_serial_sequence('refresh_tokens', 'id'),
                               COALESCE((SELECT MAX(id) FROM refresh_tokens), 0) + 1, false);
                 SELECT setval(pg_get_serial_sequence('auth_events', 'id'),
                               COALESCE((SELECT MAX(id) FROM auth_events), 0) + 1, false);",
            )?;
            Ok(copied)
        })
    })
}
