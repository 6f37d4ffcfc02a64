//! The two backends: SQLite (a file, the zero-configuration default) and PostgreSQL (a server
//! shared by many instances). Chosen at run time from the database URL; everything else in
//! `db/` is written once against `Conn`.

use std::time::Duration;

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbError;

/// One connection to either backend. Queries written with Diesel's DSL run on both; the enum
/// is matched only where the SQL must differ.
#[derive(diesel::MultiConnection)]
pub enum Conn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Same names and meaning on both; each backend's dialect in its own folder.
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Any 64-bit number that other software on the same PostgreSQL database will not pick:
/// instances starting together take it in turns to migrate.
const MIGRATION_LOCK: i64 = 0x6c61_7463_686b_6579; // "latchkey"

/// How long a writer waits for a lock before the request fails with 503: SQLite's busy timeout,
/// PostgreSQL's `lock_timeout`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `postgres://` and `postgresql://` URLs are PostgreSQL; anything else is a SQLite path
    /// (optionally written `sqlite://path` or `sqlite:path`).
    pub fn of(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Accepts a plain path or a `sqlite://` / `sqlite:` URL.
pub fn sqlite_path(url: &str) -> String {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
        .to_string()
}

/// The URL with any password replaced, for logs, errors and `config check`: the user-info
/// password, query parameters such as `?password=` or `sslpassword=`, and `password=...` in a
/// libpq `key=value` connection string (quoted values included).
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return redacted_conninfo(url);
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((credentials, host)) if credentials.contains(':') => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{user}:***@{host}")
        }
        _ => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if is_password_key(key) => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", pairs.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

fn is_password_key(key: &str) -> bool {
    key.to_ascii_lowercase().contains("password")
}

/// `host=db user=latchkey password='s3 cret'` -> `host=db user=latchkey password=***`.
fn redacted_conninfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('=') {
        let (before, after) = rest.split_at(at);
        let before = before.trim_end();
        let key = before
            .rsplit(char::is_whitespace)
            .next()
            .unwrap_or_default();
        let after = after.trim_start_matches('=').trim_start();
        let value_len = if let Some(quoted) = after.strip_prefix('\'') {
            // Up to the closing quote that is not escaped by a backslash.
            let mut escaped = false;
            let end = quoted
                .char_indices()
                .find(|&(_, c)| {
                    let closes = c == '\'' && !escaped;
                    escaped = c == '\\' && !escaped;
                    closes
                })
                .map_or(quoted.len(), |(i, _)| i + 1);
            end + 1
        } else {
            after.find(char::is_whitespace).unwrap_or(after.len())
        };
        let (value, remaining) = after.split_at(value_len.min(after.len()));
        out.push_str(before);
        out.push('=');
        out.push_str(if is_password_key(key) { "***" } else { value });
        rest = remaining;
    }
    out.push_str(rest);
    out
}

/// Opens connections of the backend the URL names, so an unreachable PostgreSQL server is
/// reported as such (Diesel's generic manager would go on to try the URL as a SQLite path).
pub struct ConnectionManager {
    url: String,
    backend: Backend,
}

impl ConnectionManager {
    pub fn new(url: &str) -> ConnectionManager {
        ConnectionManager {
            url: url.to_owned(),
            backend: Backend::of(url),
        }
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&self.url)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // Like SQLite's busy timeout: a lock held too long by someone else fails the
                // request (503, retry) instead of holding it open indefinitely.
                conn.batch_execute(&format!("SET lock_timeout = {}", BUSY_TIMEOUT.as_millis()))
                    .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(Conn::Postgres(conn))
            }
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&sqlite_path(&self.url))
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                tune_sqlite(&mut conn).map_err(diesel::r2d2::Error::QueryError)?;
                Ok(Conn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// WAL lets readers run beside the single writer; `synchronous = NORMAL` is durable across
/// process crashes in WAL mode and only risks the last transactions on power loss, which for an
/// auth server means a user signs in again.
/// `wal_autocheckpoint = 0`: requests never copy the WAL back into the database themselves
/// (with its fsync, while holding the write lock); the `Checkpointer` thread does.
/// `temp_store = MEMORY`: a savepoint keeps the pages it changes in a sub-journal, and each
/// grouped write has one (see `group_commit`); in a temporary file those copies were 4 % of a
/// refresh's CPU. It holds only the pages of the open transaction.
pub fn tune_sqlite(conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {};
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA wal_autocheckpoint = 0;
         PRAGMA temp_store = MEMORY;",
        BUSY_TIMEOUT.as_millis()
    ))
}

/// Applies the pending migrations of the connection's backend; returns how many ran.
pub fn run_migrations(conn: &mut Conn) -> Result<usize, DbError> {
    let migration_error =
        |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
    match conn {
        Conn::Sqlite(conn) => conn
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|applied| applied.len())
            .map_err(migration_error),
        // One transaction (each migration becomes a savepoint in it) holding a transaction-scoped
        // lock: it is released however the run ends, and stays on one server connection even
        // behind PgBouncer in transaction mode.
        Conn::Postgres(conn) => conn.transaction(|conn| {
            conn.batch_execute(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))?;
            conn.run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|applied| applied.len())
                .map_err(migration_error)
        }),
    }
}

pub fn has_pending_migrations(conn: &mut Conn) -> Result<bool, DbError> {
    let pending = match conn {
        Conn::Sqlite(conn) => conn.has_pending_migration(SQLITE_MIGRATIONS),
        Conn::Postgres(conn) => conn.has_pending_migration(POSTGRES_MIGRATIONS),
    };
    pending.map_err(|e| DbError::Migration(e.to_string()))
}

/// Runs `work` in one write transaction. Returning `Err` rolls back; returning `Ok` commits,
/// even when the value reports a refusal.
///
/// On SQLite the transaction takes the database's one write lock up front (`BEGIN IMMEDIATE`),
/// so two rotations of the same token can never interleave their read and write. PostgreSQL has
/// no such lock: there the queries that decide an outcome lock their rows (`FOR UPDATE`, see
/// `refresh_tokens::find_by_hash`) or change them in one conditional statement.
pub fn write_transaction<T, E, F>(conn: &mut Conn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<DbError>,
{
    in_transaction(conn, Begin::Write, work)
}

/// Runs `work` in a savepoint of the write transaction already open on `conn`: `Err` undoes
/// what `work` wrote and nothing else. Only inside `write_transaction`.
pub fn savepoint<T, E, F>(conn: &mut Conn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<DbError>,
{
    in_transaction(conn, Begin::Savepoint, work)
}

enum Begin {
    Write,
    Savepoint,
}

fn in_transaction<T, E, F>(conn: &mut Conn, begin: Begin, work: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<DbError>,
{
    let db_error = |error: diesel::result::Error| E::from(DbError::from(error));
    // Diesel's manager opens a savepoint when a transaction is already open.
    match (conn as &mut Conn, begin) {
        (Conn::Sqlite(c), Begin::Write) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
        }
        (Conn::Sqlite(c), Begin::Savepoint) => AnsiTransactionManager::begin_transaction(c),
        (Conn::Postgres(c), _) => AnsiTransactionManager::begin_transaction(c),
    }
    .map_err(db_error)?;
    match work(conn) {
        Ok(value) => {
            match conn {
                Conn::Sqlite(c) => AnsiTransactionManager::commit_transaction(c),
                Conn::Postgres(c) => AnsiTransactionManager::commit_transaction(c),
            }
            .map_err(db_error)?;
            Ok(value)
        }
        Err(error) => {
            // A failed rollback leaves the connection marked broken; the pool discards it.
            let _ = match conn {
                Conn::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c),
                Conn::Postgres(c) => AnsiTransactionManager::rollback_transaction(c),
            };
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_is_chosen_by_the_url_scheme() {
        assert_eq!(Backend::of("postgres://db/latchkey"), Backend::Postgres);
        assert_eq!(Backend::of("postgresql://db/latchkey"), Backend::Postgres);
        assert_eq!(Backend::of("data/latchkey.db"), Backend::Sqlite);
        assert_eq!(Backend::of("sqlite://data/postgres.db"), Backend::Sqlite);
        assert_eq!(sqlite_path("sqlite://data/x.db"), "data/x.db");
        assert_eq!(sqlite_path("sqlite:x.db"), "x.db");
    }

    #[test]
    fn passwords_never_leave_in_a_printed_url() {
        assert_eq!(
            redacted("postgres://latchkey:s3cr%40t@db:5432/latchkey?sslmode=require"),
            "postgres://latchkey:***@db:5432/latchkey?sslmode=require"
        );
        assert_eq!(
            redacted("postgres://latchkey@db/latchkey"),
            "postgres://latchkey@db/latchkey"
        );
        assert_eq!(redacted("data/latchkey.db"), "data/latchkey.db");
        assert_eq!(
            redacted("postgres://db/latchkey?user=lk&password=s3cret&sslmode=require"),
            "postgres://db/latchkey?user=lk&password=***&sslmode=require"
        );
        assert_eq!(
            redacted("postgresql://db/latchkey?sslpassword=k3y"),
            "postgresql://db/latchkey?sslpassword=***"
        );
        assert_eq!(
            redacted("host=db user=lk password=s3cret dbname=latchkey"),
            "host=db user=lk password=*** dbname=latchkey"
        );
        assert_eq!(
            redacted("host=db password = 'it\\'s a secret' dbname=x"),
            "host=db password=*** dbname=x"
        );
        let printed = redacted("password='s3 cret' host=db");
        assert!(
            !printed.contains("s3") && !printed.contains("cret"),
            "{printed}"
        );
    }
}
