use diesel::prelude::*;

use super::models::{NewSigningKey, SigningKey};
use super::schema::signing_keys;
use super::{Conn, DbError};

/// Advisory-lock number for key changes on PostgreSQL ("lk-keys").
const KEY_CHANGE_LOCK: i64 = 0x006c_6b2d_6b65_7973;

/// Makes concurrent key changes take turns until the transaction ends: two instances starting
/// on a new database must not both create "the first" key. SQLite's write transaction already
/// does this; PostgreSQL takes a transaction-scoped advisory lock.
pub fn lock_for_change(conn: &mut Conn) -> Result<(), DbError> {
    if let Conn::Postgres(conn) = conn {
        use diesel::connection::SimpleConnection;
        conn.batch_execute(&format!("SELECT pg_advisory_xact_lock({KEY_CHANGE_LOCK})"))?;
    }
    Ok(())
}

pub fn insert(conn: &mut Conn, key: &NewSigningKey<'_>) -> Result<(), DbError> {
    diesel::insert_into(signing_keys::table)
        .values(key)
        .execute(conn)?;
    Ok(())
}

/// The generation a new key gets: one past the newest, retired or not.
pub fn next_generation(conn: &mut Conn) -> Result<i32, DbError> {
    let newest: Option<i32> = signing_keys::table
        .select(diesel::dsl::max(signing_keys::generation))
        .get_result(conn)?;
    Ok(newest.unwrap_or(0) + 1)
}

/// Keys that still sign or verify, oldest first (the last one signs).
pub fn active(conn: &mut Conn) -> Result<Vec<SigningKey>, DbError> {
    Ok(signing_keys::table
        .filter(signing_keys::retired_at.is_null())
        .order(signing_keys::generation.asc())
        .select(SigningKey::as_select())
        .load(conn)?)
}

/// Marks a key retired; returns whether an active key had that kid.
pub fn retire(conn: &mut Conn, kid: &str, now: i64) -> Result<bool, DbError> {
    let changed = diesel::update(
        signing_keys::table
            .filter(signing_keys::kid.eq(kid))
            .filter(signing_keys::retired_at.is_null()),
    )
    .set(signing_keys::retired_at.eq(now))
    .execute(conn)?;
    Ok(changed > 0)
}

/// Every key, retired ones included, oldest first.
pub fn all(conn: &mut Conn) -> Result<Vec<SigningKey>, DbError> {
    Ok(signing_keys::table
        .order(signing_keys::generation.asc())
        .select(SigningKey::as_select())
        .load(conn)?)
}

/// Changes whenever a key is added or retired: (keys, newest generation, retired keys). Cheap
/// enough to ask every second.
pub fn fingerprint(conn: &mut Conn) -> Result<(i64, Option<i32>, i64), DbError> {
    use diesel::dsl::{count, count_star, max};
    Ok(signing_keys::table
        .select((
            count_star(),
            max(signing_keys::generation),
            count(signing_keys::retired_at),
        ))
        .get_result(conn)?)
}
