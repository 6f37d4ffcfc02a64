//! The audit trail table: append, list newest first, and trim.

use std::collections::HashMap;

use diesel::prelude::*;

use super::models::{AuthEventRow, NewAuthEvent};
use super::schema::{auth_events, users};
use super::{Conn, DbError};

/// Which events a listing wants; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub user_id: Option<String>,
    pub event: Option<String>,
    /// Only events at or after this instant (unix seconds).
    pub since: Option<i64>,
    /// Leave out events with this (event, outcome) pair.
    pub exclude: Option<(&'static str, &'static str)>,
    /// Leave out every event of this type.
    pub exclude_event: Option<String>,
}

pub fn insert(conn: &mut Conn, event: &NewAuthEvent<'_>) -> Result<(), DbError> {
    diesel::insert_into(auth_events::table)
        .values(event)
        .execute(conn)?;
    Ok(())
}

/// One page of matching events, newest first, with the number of all matching events.
pub fn page(
    conn: &mut Conn,
    filter: &EventFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<AuthEventRow>, i64), DbError> {
    let filtered = || {
        let mut query = auth_events::table.into_boxed();
        if let Some(user_id) = &filter.user_id {
            query = query.filter(auth_events::user_id.eq(user_id.clone()));
        }
        if let Some(event) = &filter.event {
            query = query.filter(auth_events::event.eq(event.clone()));
        }
        if let Some(event) = &filter.exclude_event {
            query = query.filter(auth_events::event.ne(event.clone()));
        }
        if let Some(since) = filter.since {
            query = query.filter(auth_events::occurred_at.ge(since));
        }
        if let Some((event, outcome)) = filter.exclude {
            query = query.filter(diesel::dsl::not(
                auth_events::event
                    .eq(event)
                    .and(auth_events::outcome.eq(outcome)),
            ));
        }
        query
    };
    let rows = filtered()
        .order(auth_events::id.desc())
        .limit(limit)
        .offset(offset)
        .select(AuthEventRow::as_select())
        .load(conn)?;
    let total = filtered().count().get_result(conn)?;
    Ok((rows, total))
}

/// Usernames of the given user ids (ids of deleted users are absent).
pub fn usernames(conn: &mut Conn, user_ids: &[&str]) -> Result<HashMap<String, String>, DbError> {
    let rows: Vec<(String, String)> = users::table
        .filter(users::id.eq_any(user_ids))
        .select((users::id, users::username))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Deletes events that happened before `before`; returns how many.
pub fn delete_before(conn: &mut Conn, before: i64) -> Result<usize, DbError> {
    Ok(
        diesel::delete(auth_events::table.filter(auth_events::occurred_at.lt(before)))
            .execute(conn)?,
    )
}
