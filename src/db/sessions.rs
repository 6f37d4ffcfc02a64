use diesel::prelude::*;

use super::models::{NewSession, Session, User};
use super::schema::{sessions, users};
use super::{Conn, DbError, LiveAt};

type LiveFilter = diesel::dsl::And<
    diesel::dsl::And<
        diesel::dsl::IsNull<sessions::revoked_at>,
        diesel::dsl::Gt<sessions::expires_at, i64>,
    >,
    diesel::dsl::Gt<sessions::last_used_at, i64>,
>;

/// What "live" means, in SQL: not revoked, before its absolute end and used within the idle
/// lifetime. `LiveAt::admits` below is the same rule for a row already read; the unit test
/// `the_sql_and_the_rust_rule_for_live_agree` holds the two together.
pub(super) fn is_live(at: LiveAt) -> LiveFilter {
    sessions::revoked_at
        .is_null()
        .and(sessions::expires_at.gt(at.now))
        .and(sessions::last_used_at.gt(at.idle_cutoff))
}

impl LiveAt {
    /// Whether a session read earlier (in this transaction) is live at this instant.
    pub fn admits(&self, session: &Session) -> bool {
        session.revoked_at.is_none()
            && session.expires_at > self.now
            && session.last_used_at > self.idle_cutoff
    }
}

pub fn insert(conn: &mut Conn, session: &NewSession<'_>) -> Result<(), DbError> {
    diesel::insert_into(sessions::table)
        .values(session)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut Conn, id: &str) -> Result<Option<Session>, DbError> {
    Ok(sessions::table
        .find(id)
        .select(Session::as_select())
        .get_result(conn)
        .optional()?)
}

/// The session (live or not) together with its user.
pub fn find_with_user(conn: &mut Conn, id: &str) -> Result<Option<(Session, User)>, DbError> {
    Ok(sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(id))
        .select((Session::as_select(), User::as_select()))
        .get_result(conn)
        .optional()?)
}

/// The session with its user, only if the session is live.
pub fn find_live_with_user(
    conn: &mut Conn,
    id: &str,
    at: LiveAt,
) -> Result<Option<(Session, User)>, DbError> {
    Ok(sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(id))
        .filter(is_live(at))
        .select((Session::as_select(), User::as_select()))
        .get_result(conn)
        .optional()?)
}

/// A user's live sessions, most recently used first.
pub fn live_for_user(conn: &mut Conn, user_id: &str, at: LiveAt) -> Result<Vec<Session>, DbError> {
    Ok(sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(is_live(at))
        .order((sessions::last_used_at.desc(), sessions::id.asc()))
        .select(Session::as_select())
        .load(conn)?)
}

/// One page of every user's live sessions (optionally one user's), newest sign-in first.
pub fn live_page(
    conn: &mut Conn,
    user_id: Option<&str>,
    at: LiveAt,
    limit: i64,
    offset: i64,
) -> Result<(Vec<(Session, String)>, i64), DbError> {
    let mut rows = sessions::table
        .inner_join(users::table)
        .filter(is_live(at))
        .into_boxed();
    let mut total = sessions::table.filter(is_live(at)).into_boxed();
    if let Some(user_id) = user_id {
        rows = rows.filter(sessions::user_id.eq(user_id));
        total = total.filter(sessions::user_id.eq(user_id));
    }
    let rows = rows
        .order((sessions::created_at.desc(), sessions::id.asc()))
        .limit(limit)
        .offset(offset)
        .select((Session::as_select(), users::username))
        .load(conn)?;
    let total = total.count().get_result(conn)?;
    Ok((rows, total))
}

pub fn count_live(conn: &mut Conn, at: LiveAt) -> Result<i64, DbError> {
    Ok(sessions::table
        .filter(is_live(at))
        .count()
        .get_result(conn)?)
}

/// Marks a session used now (from this address).
pub fn touch(conn: &mut Conn, id: &str, now: i64, ip: Option<&str>) -> Result<(), DbError> {
    diesel::update(sessions::table.find(id))
        .set((
            sessions::last_used_at.eq(now),
            sessions::ip.eq(ip.map(str::to_owned)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a re-authentication: the session proved who it is at `now`.
pub fn set_authenticated(conn: &mut Conn, id: &str, now: i64) -> Result<(), DbError> {
    diesel::update(sessions::table.find(id))
        .set(sessions::authenticated_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Revokes one session if it is not revoked yet; returns whether it changed.
pub fn revoke(conn: &mut Conn, id: &str, now: i64, reason: &str) -> Result<bool, DbError> {
    let changed = diesel::update(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(now),
        sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)?;
    Ok(changed > 0)
}

/// Revokes every live session of a user except `keep`; returns the ids of those revoked. Sign-ins
/// of the user still checking a password when this happens get no session either.
pub fn revoke_all_for_user(
    conn: &mut Conn,
    user_id: &str,
    keep: Option<&str>,
    at: LiveAt,
    reason: &str,
) -> Result<Vec<String>, DbError> {
    super::users::bump_auth_epoch(conn, user_id)?;
    let targets = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(is_live(at))
        .filter(sessions::id.ne(keep.unwrap_or("")));
    Ok(diesel::update(targets)
        .set((
            sessions::revoked_at.eq(at.now),
            sessions::revoked_reason.eq(reason),
        ))
        .returning(sessions::id)
        .get_results(conn)?)
}

/// Deletes sessions (and, by cascade, their refresh tokens) that ended before `ended_before`:
/// past their absolute end, idle since the idle cut-off, or revoked. Returns how many went.
pub fn delete_ended(
    conn: &mut Conn,
    ended_before: i64,
    idle_cutoff: i64,
) -> Result<usize, DbError> {
    Ok(diesel::delete(
        sessions::table.filter(
            sessions::expires_at
                .le(ended_before)
                .or(sessions::last_used_at.le(idle_cutoff))
                .or(sessions::revoked_at.le(ended_before)),
        ),
    )
    .execute(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::models::NewUser;

    #[test]
    fn the_sql_and_the_rust_rule_for_live_agree() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::open(&dir.path().join("live.db").display().to_string(), 1).unwrap();
        let conn = &mut *db.conn().unwrap();
        let user = NewUser {
            id: "u1",
            username: "alice",
            username_key: "alice",
            password_hash: "x",
            role: "user",
            created_at: 0,
            updated_at: 0,
            password_changed_at: 0,
            username_skeleton: "alice",
            email: None,
            email_key: None,
        };
        crate::db::users::insert(conn, &user).unwrap();
        let at = LiveAt {
            now: 1000,
            idle_cutoff: 900,
        };
        // Every edge: at, just before and just after both limits; revoked or not.
        let mut cases = Vec::new();
        for last_used_at in [899, 900, 901] {
            for expires_at in [999, 1000, 1001] {
                for revoked in [false, true] {
                    cases.push((last_used_at, expires_at, revoked));
                }
            }
        }
        for (index, (last_used_at, expires_at, revoked)) in cases.into_iter().enumerate() {
            let id = format!("s{index}");
            let session = NewSession {
                id: &id,
                user_id: "u1",
                created_at: 0,
                last_used_at,
                expires_at,
                user_agent: None,
                ip: None,
                amr: "pwd",
                authenticated_at: 0,
            };
            insert(conn, &session).unwrap();
            if revoked {
                revoke(conn, &id, 10, "test").unwrap();
            }
            let row = find(conn, &id).unwrap().unwrap();
            let by_sql = find_live_with_user(conn, &id, at).unwrap().is_some();
            assert_eq!(by_sql, at.admits(&row), "{row:?}");
        }
    }
}
