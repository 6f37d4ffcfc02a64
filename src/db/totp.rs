//! Authenticator-app (TOTP) factors: one row per user, sealed secret, last accepted step.

use diesel::prelude::*;

use super::models::TotpFactor;
use super::schema::totp_factors;
use super::{Conn, DbError};

pub fn find(conn: &mut Conn, user_id: &str) -> Result<Option<TotpFactor>, DbError> {
    Ok(totp_factors::table
        .find(user_id)
        .select(TotpFactor::as_select())
        .get_result(conn)
        .optional()?)
}

/// Starts (or starts again) a set-up: a new unconfirmed secret in place of an unconfirmed one.
/// With a confirmed factor in place the insert fails with `DbError::Conflict`.
pub fn replace_pending(conn: &mut Conn, factor: &TotpFactor) -> Result<(), DbError> {
    diesel::delete(
        totp_factors::table
            .find(&factor.user_id)
            .filter(totp_factors::confirmed_at.is_null()),
    )
    .execute(conn)?;
    diesel::insert_into(totp_factors::table)
        .values(factor)
        .execute(conn)?;
    Ok(())
}

/// Confirms the pending set-up with the step of its first code; true if it was pending.
pub fn confirm(conn: &mut Conn, user_id: &str, step: i64, now: i64) -> Result<bool, DbError> {
    let rows = diesel::update(
        totp_factors::table
            .find(user_id)
            .filter(totp_factors::confirmed_at.is_null()),
    )
    .set((
        totp_factors::confirmed_at.eq(now),
        totp_factors::last_used_step.eq(step),
    ))
    .execute(conn)?;
    Ok(rows == 1)
}

/// Records `step` as used if it is later than every step used before: true for the one caller
/// that did, so a code (or an older one) is accepted once even by racing requests.
pub fn use_step(conn: &mut Conn, user_id: &str, step: i64) -> Result<bool, DbError> {
    let rows = diesel::update(
        totp_factors::table
            .find(user_id)
            .filter(totp_factors::confirmed_at.is_not_null())
            .filter(
                totp_factors::last_used_step
                    .is_null()
                    .or(totp_factors::last_used_step.lt(step)),
            ),
    )
    .set(totp_factors::last_used_step.eq(step))
    .execute(conn)?;
    Ok(rows == 1)
}

/// Removes the user's factor, confirmed or pending; true if there was one.
pub fn delete(conn: &mut Conn, user_id: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(totp_factors::table.find(user_id)).execute(conn)? == 1)
}

/// The ids among `user_ids` that have a confirmed factor (the admin's user list).
pub fn confirmed_among(conn: &mut Conn, user_ids: &[&str]) -> Result<Vec<String>, DbError> {
    Ok(totp_factors::table
        .filter(totp_factors::user_id.eq_any(user_ids))
        .filter(totp_factors::confirmed_at.is_not_null())
        .select(totp_factors::user_id)
        .load(conn)?)
}
