//! Registered passkeys: one row per credential, its webauthn-rs state as JSON.

use diesel::prelude::*;

use super::models::PasskeyRow;
use super::schema::passkeys;
use super::{Conn, DbError};

pub fn insert(conn: &mut Conn, row: &PasskeyRow) -> Result<(), DbError> {
    diesel::insert_into(passkeys::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The user's passkeys, oldest first.
pub fn of_user(conn: &mut Conn, user_id: &str) -> Result<Vec<PasskeyRow>, DbError> {
    Ok(passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .order(passkeys::created_at.asc())
        .select(PasskeyRow::as_select())
        .load(conn)?)
}

pub fn count_of_user(conn: &mut Conn, user_id: &str) -> Result<i64, DbError> {
    Ok(passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .count()
        .get_result(conn)?)
}

pub fn find_by_credential(
    conn: &mut Conn,
    credential_id: &[u8],
) -> Result<Option<PasskeyRow>, DbError> {
    Ok(passkeys::table
        .filter(passkeys::credential_id.eq(credential_id))
        .select(PasskeyRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// After a sign-in: the credential's new state (its counter) and when it was used.
pub fn record_use(conn: &mut Conn, id: &str, passkey: &str, now: i64) -> Result<(), DbError> {
    diesel::update(passkeys::table.find(id))
        .set((
            passkeys::passkey.eq(passkey),
            passkeys::last_used_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Removes one of the user's passkeys; true if it was theirs and there.
pub fn delete(conn: &mut Conn, user_id: &str, id: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(
        passkeys::table
            .find(id)
            .filter(passkeys::user_id.eq(user_id)),
    )
    .execute(conn)?
        == 1)
}

pub fn delete_all(conn: &mut Conn, user_id: &str) -> Result<usize, DbError> {
    Ok(diesel::delete(passkeys::table.filter(passkeys::user_id.eq(user_id))).execute(conn)?)
}

/// The ids among `user_ids` that have a passkey (the admin's user list).
pub fn owners_among(conn: &mut Conn, user_ids: &[&str]) -> Result<Vec<String>, DbError> {
    Ok(passkeys::table
        .filter(passkeys::user_id.eq_any(user_ids))
        .select(passkeys::user_id)
        .distinct()
        .load(conn)?)
}
