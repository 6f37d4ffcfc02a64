use std::collections::HashMap;

use diesel::prelude::*;

use super::models::{NewUser, User};
use super::schema::{sessions, users};
use super::{Conn, DbError, LiveAt};

/// Inserts a user; `DbError::Conflict` when the username key is taken.
pub fn insert(conn: &mut Conn, user: &NewUser<'_>) -> Result<User, DbError> {
    Ok(diesel::insert_into(users::table)
        .values(user)
        .returning(users::all_columns)
        .get_result(conn)?)
}

pub fn find_by_key(conn: &mut Conn, username_key: &str) -> Result<Option<User>, DbError> {
    Ok(users::table
        .filter(users::username_key.eq(username_key))
        .select(User::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn find_by_id(conn: &mut Conn, id: &str) -> Result<Option<User>, DbError> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .get_result(conn)
        .optional()?)
}

/// The user, read to decide a write that a slow check (bcrypt) ran before. On PostgreSQL the
/// row stays locked (`FOR UPDATE`) until the transaction ends. A disable, a password change or
/// "sign out everywhere" updates this row before it revokes sessions, so it waits for a
/// sign-in that holds the lock to commit (and then revokes that session too), or the sign-in's
/// read waits for it and sees the new epoch. Without the lock both commit and the new session
/// survives. On SQLite the transaction's write lock already orders them.
pub fn find_by_id_locked(conn: &mut Conn, id: &str) -> Result<Option<User>, DbError> {
    let by_id = users::table.find(id);
    Ok(match conn {
        Conn::Postgres(conn) => by_id
            .select(User::as_select())
            .for_update()
            .get_result(conn)
            .optional()?,
        Conn::Sqlite(conn) => by_id
            .select(User::as_select())
            .get_result(conn)
            .optional()?,
    })
}

/// One page of users, oldest first, with how many match. `search`: a part of the username
/// key or of the address (any case), matched literally (`%` and `_` are not wildcards).
pub fn page(
    conn: &mut Conn,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<User>, i64), DbError> {
    let pattern = search.map(|text| {
        let escaped = text
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let filtered = || {
        let mut query = users::table.into_boxed();
        if let Some(pattern) = &pattern {
            query = query.filter(
                users::username_key
                    .like(pattern.clone())
                    .escape('\\')
                    .or(diesel::dsl::sql::<diesel::sql_types::Bool>(
                        "lower(coalesce(email, '')) LIKE ",
                    )
                    .bind::<diesel::sql_types::Text, _>(pattern.clone())
                    .sql(" ESCAPE '\\'")),
            );
        }
        query
    };
    let rows = filtered()
        .order((users::created_at.asc(), users::id.asc()))
        .limit(limit)
        .offset(offset)
        .select(User::as_select())
        .load(conn)?;
    let total = filtered().count().get_result(conn)?;
    Ok((rows, total))
}

/// Deletes a user (their sessions and refresh tokens go with them); returns whether one existed.
pub fn delete(conn: &mut Conn, id: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(users::table.find(id)).execute(conn)? > 0)
}

/// Live-session counts for the given users (users without live sessions are absent).
pub fn live_session_counts(
    conn: &mut Conn,
    user_ids: &[String],
    at: LiveAt,
) -> Result<HashMap<String, i64>, DbError> {
    let rows: Vec<(String, i64)> = sessions::table
        .filter(sessions::user_id.eq_any(user_ids))
        .filter(super::sessions::is_live(at))
        .group_by(sessions::user_id)
        .select((sessions::user_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Sets the role of a user; returns the updated user.
pub fn set_role(conn: &mut Conn, id: &str, role: &str, now: i64) -> Result<User, DbError> {
    Ok(diesel::update(users::table.find(id))
        .set((users::role.eq(role), users::updated_at.eq(now)))
        .returning(users::all_columns)
        .get_result(conn)?)
}

/// Replaces a user's password hash. Bumps `auth_epoch`: a sign-in that checked the old password
/// while this happened does not get a session.
pub fn set_password(
    conn: &mut Conn,
    id: &str,
    password_hash: &str,
    now: i64,
) -> Result<(), DbError> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(password_hash),
            users::password_changed_at.eq(now),
            users::updated_at.eq(now),
            users::auth_epoch.eq(users::auth_epoch + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// Replaces a hash by one of the same password at another cost, if it is still `old`. Not a
/// password change: nothing else about the account changes.
pub fn upgrade_password_hash(
    conn: &mut Conn,
    id: &str,
    old: &str,
    new: &str,
) -> Result<bool, DbError> {
    let changed = diesel::update(
        users::table
            .filter(users::id.eq(id))
            .filter(users::password_hash.eq(old)),
    )
    .set(users::password_hash.eq(new))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Marks a user disabled (`Some(now)`, which bumps `auth_epoch`) or enabled (`None`); returns
/// whether the user exists.
pub fn set_disabled(
    conn: &mut Conn,
    id: &str,
    disabled_at: Option<i64>,
    now: i64,
) -> Result<bool, DbError> {
    let bump = i64::from(disabled_at.is_some());
    let changed = diesel::update(users::table.find(id))
        .set((
            users::disabled_at.eq(disabled_at),
            users::updated_at.eq(now),
            users::auth_epoch.eq(users::auth_epoch + bump),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Ends every sign-in still being checked for this user (see `auth_epoch`).
pub fn bump_auth_epoch(conn: &mut Conn, id: &str) -> Result<(), DbError> {
    diesel::update(users::table.find(id))
        .set(users::auth_epoch.eq(users::auth_epoch + 1))
        .execute(conn)?;
    Ok(())
}

/// How many enabled admins there are. On PostgreSQL their rows stay locked (`FOR UPDATE`) until
/// the transaction ends, so two admins disabling or demoting each other at once are decided one
/// after the other and the second sees the first's change (otherwise both see "another admin
/// is left" and none is); on SQLite the transaction's write lock already orders them.
pub fn count_enabled_admins(conn: &mut Conn) -> Result<usize, DbError> {
    let enabled_admins = users::table
        .filter(users::role.eq("admin"))
        .filter(users::disabled_at.is_null())
        // One order for every transaction that locks them: no two wait on each other.
        .order(users::id.asc())
        .select(users::id);
    let ids: Vec<String> = match conn {
        Conn::Postgres(conn) => enabled_admins.for_update().load(conn)?,
        Conn::Sqlite(conn) => enabled_admins.load(conn)?,
    };
    Ok(ids.len())
}

/// (id, username key) of users without a confusable skeleton.
pub fn without_skeleton(conn: &mut Conn) -> Result<Vec<(String, String)>, DbError> {
    Ok(users::table
        .filter(users::username_skeleton.is_null())
        .order((users::created_at.asc(), users::id.asc()))
        .select((users::id, users::username_key))
        .load(conn)?)
}

/// Every recorded skeleton.
pub fn skeletons(conn: &mut Conn) -> Result<Vec<String>, DbError> {
    Ok(users::table
        .filter(users::username_skeleton.is_not_null())
        .select(users::username_skeleton.assume_not_null())
        .load(conn)?)
}

/// `DbError::Conflict` when another user holds the skeleton.
pub fn set_skeleton(conn: &mut Conn, id: &str, skeleton: &str) -> Result<(), DbError> {
    diesel::update(users::table.find(id))
        .set(users::username_skeleton.eq(skeleton))
        .execute(conn)?;
    Ok(())
}

/// The user whose verified address has this key.
pub fn find_by_email_key(conn: &mut Conn, email_key: &str) -> Result<Option<User>, DbError> {
    Ok(users::table
        .filter(users::email_key.eq(email_key))
        .select(User::as_select())
        .get_result(conn)
        .optional()?)
}

/// Makes `email` the user's verified address; `DbError::Conflict` when another account holds
/// it verified.
pub fn set_verified_email(
    conn: &mut Conn,
    id: &str,
    email: &str,
    email_key: &str,
    now: i64,
) -> Result<(), DbError> {
    diesel::update(users::table.find(id))
        .set((
            users::email.eq(email),
            users::email_key.eq(email_key),
            users::email_verified_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Gives an account without a verified address a new one to confirm.
pub fn set_unverified_email(
    conn: &mut Conn,
    id: &str,
    email: &str,
    now: i64,
) -> Result<(), DbError> {
    diesel::update(users::table.find(id).filter(users::email_key.is_null()))
        .set((
            users::email.eq(email),
            users::email_verified_at.eq(None::<i64>),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
