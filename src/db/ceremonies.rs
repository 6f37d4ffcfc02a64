//! WebAuthn ceremonies under way, so any instance can finish what another began; each is
//! claimed once by one UPDATE.

use diesel::prelude::*;

use super::models::Ceremony;
use super::schema::webauthn_ceremonies as ceremonies;
use super::{Conn, DbError};

pub fn insert(conn: &mut Conn, ceremony: &Ceremony) -> Result<(), DbError> {
    diesel::insert_into(ceremonies::table)
        .values(ceremony)
        .execute(conn)?;
    Ok(())
}

/// An open (unused, unexpired) ceremony of this kind by id.
pub fn find_open(
    conn: &mut Conn,
    id: &str,
    kind: &str,
    now: i64,
) -> Result<Option<Ceremony>, DbError> {
    Ok(ceremonies::table
        .find(id)
        .filter(ceremonies::kind.eq(kind))
        .filter(ceremonies::used_at.is_null())
        .filter(ceremonies::expires_at.gt(now))
        .select(Ceremony::as_select())
        .get_result(conn)
        .optional()?)
}

/// The user's newest open registration.
pub fn open_registration_of(
    conn: &mut Conn,
    user_id: &str,
    now: i64,
) -> Result<Option<Ceremony>, DbError> {
    Ok(ceremonies::table
        .filter(ceremonies::user_id.eq(user_id))
        .filter(ceremonies::kind.eq("registration"))
        .filter(ceremonies::used_at.is_null())
        .filter(ceremonies::expires_at.gt(now))
        .order(ceremonies::created_at.desc())
        .select(Ceremony::as_select())
        .first(conn)
        .optional()?)
}

/// Voids the user's open registrations (a newer one replaces them).
pub fn void_registrations_of(conn: &mut Conn, user_id: &str, now: i64) -> Result<(), DbError> {
    diesel::update(
        ceremonies::table
            .filter(ceremonies::user_id.eq(user_id))
            .filter(ceremonies::kind.eq("registration"))
            .filter(ceremonies::used_at.is_null()),
    )
    .set(ceremonies::used_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Marks the ceremony used if it still was open; true for the one caller that did.
pub fn claim(conn: &mut Conn, id: &str, now: i64) -> Result<bool, DbError> {
    let rows = diesel::update(
        ceremonies::table
            .find(id)
            .filter(ceremonies::used_at.is_null())
            .filter(ceremonies::expires_at.gt(now)),
    )
    .set(ceremonies::used_at.eq(now))
    .execute(conn)?;
    Ok(rows == 1)
}

/// Deletes ceremonies that expired before `before` (prune).
pub fn delete_expired(conn: &mut Conn, before: i64) -> Result<usize, DbError> {
    Ok(
        diesel::delete(ceremonies::table.filter(ceremonies::expires_at.lt(before)))
            .execute(conn)?,
    )
}
