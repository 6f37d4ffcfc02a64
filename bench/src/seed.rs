//! Fills a stopped server's database with many users and sessions, straight through SQL (one
//! bcrypt hash reused), for the scale scenario.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

/// Adds `users` users and `sessions` live sessions (each with one unused refresh token), spread
/// over those users. Returns the number of sessions in the database afterwards.
pub fn add(database: &Path, users: u64, sessions: u64) -> i64 {
    let mut conn = SqliteConnection::establish(&database.display().to_string()).expect("database");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    conn.batch_execute(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         BEGIN;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {users})
         INSERT INTO users (id, username, username_key, password_hash, role, created_at,
                            updated_at, password_changed_at)
         SELECT 'seed-user-' || i, 'seed-user-' || i, 'seed-user-' || i,
                (SELECT password_hash FROM users LIMIT 1), 'user', {now}, {now}, {now}
         FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {sessions})
         INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip)
         SELECT 'seed-session-' || i, 'seed-user-' || (1 + i % {users}), {now}, {now},
                {now} + 2592000, 'latchkey-bench seed', '127.0.0.1'
         FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {sessions})
         INSERT INTO refresh_tokens (session_id, token_hash, issued_at)
         SELECT 'seed-session-' || i, randomblob(32), {now} FROM n;
         COMMIT;
         PRAGMA wal_checkpoint(TRUNCATE);"
    ))
    .expect("seeding");
    count_sessions(&mut conn)
}

pub fn sessions_in(database: &Path) -> i64 {
    let mut conn = SqliteConnection::establish(&database.display().to_string()).expect("database");
    count_sessions(&mut conn)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count_sessions(conn: &mut SqliteConnection) -> i64 {
    diesel::sql_query("SELECT COUNT(*) AS n FROM sessions")
        .get_result::<Count>(conn)
        .map_or(0, |c| c.n)
}
