//! PostgreSQL: the common rotation (an unused token of a live session) in one statement, so
//! one round trip to the server instead of eight (begin, lock and read the token, read the
//! session, claim, insert, touch, audit, commit). Anything else (a used token, an ended
//! session, an unknown hash) changes nothing here and takes the general path, which decides
//! with the row locked.
//!
//! Two rotations of one token race safely: the claim's `used_at IS NULL` is checked again on
//! the locked row, so the loser claims nothing, inserts nothing and goes the general way, where
//! it sees the winner's successor.

use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Binary, Nullable, Text, Untyped};

use super::models::{NewAuthEvent, Session, User};
use super::{Conn, DbError, LiveAt};

/// What the one statement needs besides the presented token's hash.
pub struct UnusedRotation<'a> {
    pub hash: &'a [u8],
    pub successor_hash: &'a [u8],
    pub at: LiveAt,
    pub ip: Option<&'a str>,
    /// The audit row; its user and session come from the claimed token.
    pub event: NewAuthEvent<'a>,
}

/// The statement in parts, its parameters between them. Written as a query type (not
/// `sql_query`) so Diesel prepares it once per connection: planned afresh each time, the
/// statement cost more than the round trips it saves.
// The liveness test is `sessions::is_live` written in SQL: the tests of refresh after the
// idle and absolute ends and after revocation run on PostgreSQL too and hold the two together.
const ROTATE_UNUSED: &[Part] = &[
    Sql("WITH claimed AS (UPDATE refresh_tokens AS t SET used_at = "),
    Now,
    Sql(" FROM sessions AS s JOIN users AS u ON u.id = s.user_id WHERE t.token_hash = "),
    Hash,
    Sql(
        " AND t.used_at IS NULL AND s.id = t.session_id AND s.revoked_at IS NULL \
         AND s.expires_at > ",
    ),
    Now,
    Sql(" AND s.last_used_at > "),
    IdleCutoff,
    Sql(
        " AND u.disabled_at IS NULL RETURNING t.id AS token_id, t.session_id), \
         successor AS (INSERT INTO refresh_tokens (session_id, token_hash, parent_id, issued_at) \
         SELECT session_id, ",
    ),
    SuccessorHash,
    Sql(", token_id, "),
    Now,
    Sql(" FROM claimed), touched AS (UPDATE sessions AS s SET last_used_at = "),
    Now,
    Sql(", ip = "),
    Ip,
    Sql(
        " FROM claimed WHERE s.id = claimed.session_id RETURNING s.*), \
         recorded AS (INSERT INTO auth_events (occurred_at, event, outcome, user_id, \
         session_id, actor_id, ip, user_agent, detail) SELECT ",
    ),
    Now,
    Sql(", "),
    Event,
    Sql(", "),
    Outcome,
    Sql(", touched.user_id, touched.id, "),
    Actor,
    Sql(", "),
    Ip,
    Sql(", "),
    UserAgent,
    Sql(", "),
    Detail,
    Sql(" FROM touched) SELECT users.*, touched.id AS s_id, \
         touched.created_at AS s_created_at, touched.last_used_at AS s_last_used_at, \
         touched.expires_at AS s_expires_at, touched.revoked_at AS s_revoked_at, \
         touched.revoked_reason AS s_revoked_reason, touched.user_agent AS s_user_agent, \
         touched.ip AS s_ip, touched.amr AS s_amr, \
         touched.authenticated_at AS s_authenticated_at \
         FROM touched JOIN users ON users.id = touched.user_id"),
];

enum Part {
    Sql(&'static str),
    Now,
    Hash,
    IdleCutoff,
    SuccessorHash,
    Ip,
    Event,
    Outcome,
    Actor,
    UserAgent,
    Detail,
}
use Part::*;

struct RotateUnused<'a>(&'a UnusedRotation<'a>);

/// The statement is always the same text: one cache entry.
struct RotateUnusedId;

impl QueryId for RotateUnused<'_> {
    type QueryId = RotateUnusedId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for RotateUnused<'_> {
    type SqlType = Untyped;
}

impl RunQueryDsl<PgConnection> for RotateUnused<'_> {}

impl QueryFragment<Pg> for RotateUnused<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let rotation = self.0;
        let event = &rotation.event;
        for part in ROTATE_UNUSED {
            match part {
                Sql(sql) => out.push_sql(sql),
                Now => out.push_bind_param::<BigInt, _>(&rotation.at.now)?,
                Hash => out.push_bind_param::<Binary, _>(&rotation.hash)?,
                IdleCutoff => out.push_bind_param::<BigInt, _>(&rotation.at.idle_cutoff)?,
                SuccessorHash => out.push_bind_param::<Binary, _>(&rotation.successor_hash)?,
                Ip => out.push_bind_param::<Nullable<Text>, _>(&rotation.ip)?,
                Event => out.push_bind_param::<Text, _>(&event.event)?,
                Outcome => out.push_bind_param::<Text, _>(&event.outcome)?,
                Actor => out.push_bind_param::<Nullable<Text>, _>(&event.actor_id)?,
                UserAgent => out.push_bind_param::<Nullable<Text>, _>(&event.user_agent)?,
                Detail => out.push_bind_param::<Nullable<Text>, _>(&event.detail)?,
            }
        }
        Ok(())
    }
}

/// The user by the names of `users`' columns; the session's columns renamed `s_*`.
#[derive(QueryableByName)]
struct Rotated {
    #[diesel(embed)]
    user: User,
    #[diesel(sql_type = Text)]
    s_id: String,
    #[diesel(sql_type = BigInt)]
    s_created_at: i64,
    #[diesel(sql_type = BigInt)]
    s_last_used_at: i64,
    #[diesel(sql_type = BigInt)]
    s_expires_at: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    s_revoked_at: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    s_revoked_reason: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    s_user_agent: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    s_ip: Option<String>,
    #[diesel(sql_type = Text)]
    s_amr: String,
    #[diesel(sql_type = BigInt)]
    s_authenticated_at: i64,
}

impl Rotated {
    fn into_session_and_user(self) -> (Session, User) {
        let session = Session {
            id: self.s_id,
            user_id: self.user.id.clone(),
            created_at: self.s_created_at,
            last_used_at: self.s_last_used_at,
            expires_at: self.s_expires_at,
            revoked_at: self.s_revoked_at,
            revoked_reason: self.s_revoked_reason,
            user_agent: self.s_user_agent,
            ip: self.s_ip,
            amr: self.s_amr,
            authenticated_at: self.s_authenticated_at,
        };
        (session, self.user)
    }
}

/// Rotates an unused token of a live session of an enabled user, in one statement (its own
/// transaction): the session and user after it, or `None` when this was not such a token and
/// nothing was written. SQLite: always `None` (there the rotation is grouped instead).
pub fn rotate_unused(
    conn: &mut Conn,
    rotation: &UnusedRotation<'_>,
) -> Result<Option<(Session, User)>, DbError> {
    let Conn::Postgres(conn) = conn else {
        return Ok(None);
    };
    let rotated: Option<Rotated> = RotateUnused(rotation).get_result(conn).optional()?;
    Ok(rotated.map(Rotated::into_session_and_user))
}
