//! Storage. The only module that knows SQL: everything above calls the plain functions in the
//! submodules, each taking a `&mut Conn`, so a second backend can slot in behind them later.

pub mod events;
pub mod keys;
pub mod models;
pub mod refresh_tokens;
pub mod schema;
pub mod sessions;
pub mod throttles;
pub mod users;

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::result::DatabaseErrorKind;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub type Conn = SqliteConnection;
pub type PooledConn = PooledConnection<ConnectionManager<Conn>>;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// How long a writer waits for SQLite's write lock before giving up with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("a row with the same unique value already exists")]
    Conflict,
    /// Locked past the busy timeout, read-only, or failing I/O: worth retrying later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database query failed: {0}")]
    Query(diesel::result::Error),
    #[error("could not apply database migrations: {0}")]
    Migration(String),
    #[error("cannot use database at {path}: {reason}")]
    Open { path: PathBuf, reason: String },
}

impl From<diesel::result::Error> for DbError {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                DbError::Conflict
            }
            diesel::result::Error::DatabaseError(_, info) if is_transient(info.message()) => {
                DbError::Unavailable(info.message().to_owned())
            }
            other => DbError::Query(other),
        }
    }
}

/// Per-connection SQLite settings. WAL lets readers run beside the single writer;
/// `synchronous = NORMAL` is durable across process crashes in WAL mode and only risks the last
/// transactions on power loss, which for an auth server means a user signs in again.
#[derive(Debug)]
struct SqliteTuning;

impl CustomizeConnection<Conn, diesel::r2d2::Error> for SqliteTuning {
    fn on_acquire(&self, conn: &mut Conn) -> Result<(), diesel::r2d2::Error> {
        let pragmas = format!(
            "PRAGMA busy_timeout = {};
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;",
            BUSY_TIMEOUT.as_millis()
        );
        conn.batch_execute(&pragmas)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// A pool of connections to one database.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager<Conn>>,
}

impl Db {
    /// Opens (creating it and its folder if needed) the database and applies pending migrations.
    pub fn open(url: &str, pool_size: u32) -> Result<Db, DbError> {
        let db = Db::connect(url, pool_size)?;
        db.migrate()?;
        Ok(db)
    }

    /// Opens the database without touching its schema.
    pub fn connect(url: &str, pool_size: u32) -> Result<Db, DbError> {
        let path = sqlite_path(url);
        if let Some(parent) = Path::new(&path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|e| DbError::Open {
                path: parent.to_path_buf(),
                reason: e.to_string(),
            })?;
        }
        let manager = ConnectionManager::<Conn>::new(path.clone());
        let pool = Pool::builder()
            .max_size(pool_size)
            .connection_timeout(Duration::from_secs(10))
            .connection_customizer(Box::new(SqliteTuning))
            .build(manager)
            .map_err(|e| DbError::Open {
                path: PathBuf::from(&path),
                reason: e.to_string(),
            })?;
        Ok(Db { pool })
    }

    /// Writes a consistent copy of the live database to `path` (`VACUUM INTO`: online, no
    /// lock held against readers, and the copy is compact). Refuses to overwrite a file.
    pub fn backup_to(&self, path: &Path) -> Result<(), DbError> {
        if path.exists() {
            return Err(DbError::Open {
                path: path.to_path_buf(),
                reason: "a file is already there; choose a new name".into(),
            });
        }
        diesel::sql_query("VACUUM INTO ?")
            .bind::<diesel::sql_types::Text, _>(path.to_string_lossy())
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    pub fn conn(&self) -> Result<PooledConn, DbError> {
        Ok(self.pool.get()?)
    }

    /// Applies every embedded migration not yet applied; returns how many ran.
    pub fn migrate(&self) -> Result<usize, DbError> {
        let mut conn = self.conn()?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| DbError::Migration(e.to_string()))?;
        Ok(applied.len())
    }

    /// True when the database answers a query and no migration is pending.
    pub fn is_ready(&self) -> bool {
        let Ok(mut conn) = self.conn() else {
            return false;
        };
        matches!(conn.has_pending_migration(MIGRATIONS), Ok(false))
    }
}

/// SQLite's messages for conditions that pass: a lock held too long, a read-only or full disk.
fn is_transient(message: &str) -> bool {
    [
        "database is locked",
        "database table is locked",
        "readonly database",
        "disk I/O error",
        "database or disk is full",
        "unable to open database file",
    ]
    .iter()
    .any(|pattern| message.contains(pattern))
}

/// Accepts a plain path or a `sqlite://` / `sqlite:` URL.
fn sqlite_path(url: &str) -> String {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
        .to_string()
}

/// Runs `work` in one write transaction that takes the write lock up front (`BEGIN IMMEDIATE`),
/// so two rotations of the same token can never interleave their read and write.
/// Returning `Err` rolls back; returning `Ok` commits, even when the value reports a refusal.
pub fn write_transaction<T, E, F>(conn: &mut Conn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<DbError>,
{
    enum Failure<E> {
        Work(E),
        Db(diesel::result::Error),
    }
    impl<E> From<diesel::result::Error> for Failure<E> {
        fn from(error: diesel::result::Error) -> Self {
            Failure::Db(error)
        }
    }
    conn.immediate_transaction(|conn| work(conn).map_err(Failure::Work))
        .map_err(|failure| match failure {
            Failure::Work(error) => error,
            Failure::Db(error) => E::from(DbError::from(error)),
        })
}

/// The instant and idle cut-off that decide whether a session is live.
#[derive(Debug, Clone, Copy)]
pub struct LiveAt {
    pub now: i64,
    /// Sessions last used at or before this instant have gone idle.
    pub idle_cutoff: i64,
}
