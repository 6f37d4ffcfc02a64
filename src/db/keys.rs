use diesel::prelude::*;

use super::models::{NewSigningKey, SigningKey};
use super::schema::signing_keys;
use super::{Conn, DbError};

pub fn insert(conn: &mut Conn, key: &NewSigningKey<'_>) -> Result<(), DbError> {
    diesel::insert_into(signing_keys::table)
        .values(key)
        .execute(conn)?;
    Ok(())
}

/// Keys that still sign or verify, oldest first (the last one signs).
pub fn active(conn: &mut Conn) -> Result<Vec<SigningKey>, DbError> {
    Ok(signing_keys::table
        .filter(signing_keys::retired_at.is_null())
        .order((signing_keys::created_at.asc(), signing_keys::kid.asc()))
        .select(SigningKey::as_select())
        .load(conn)?)
}

/// Every key, retired ones included, oldest first.
pub fn all(conn: &mut Conn) -> Result<Vec<SigningKey>, DbError> {
    Ok(signing_keys::table
        .order((signing_keys::created_at.asc(), signing_keys::kid.asc()))
        .select(SigningKey::as_select())
        .load(conn)?)
}
