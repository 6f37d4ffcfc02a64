//! Storage. The only module that knows SQL: everything above calls the plain functions in the
//! submodules, each taking a `&mut Conn`. `Conn` is SQLite or PostgreSQL, chosen at run time
//! from the database URL (see `backend.rs`); the queries are written once for both, and the
//! few places where the two must differ (row locks, upserts, the write lock) say so.
//!
//! A lookup by a unique key reads with `get_result`, never `first`: Diesel sends `first`'s
//! `LIMIT 1` as a bound parameter, and SQLite plans with a bound LIMIT's value, so it prepares
//! such a statement again every time it is bound (a fifth of a refresh's CPU, by the profile).
//! `first` is only for an ordered query that wants its first row.

mod backend;
pub mod ceremonies;
pub mod challenges;
mod checkpoint;
pub mod events;
pub mod fast_rotation;
pub mod group_commit;
pub mod keys;
pub mod models;
pub mod one_time_tokens;
pub mod outbox;
pub mod passkeys;
pub mod recovery_codes;
pub mod refresh_tokens;
pub mod schema;
pub mod sessions;
pub mod throttles;
pub mod totp;
pub mod transfer;
pub mod users;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use diesel::RunQueryDsl;
use diesel::r2d2::{Pool, PooledConnection};
use diesel::result::DatabaseErrorKind;

pub use backend::{
    Backend, Conn, redacted, savepoint, sqlite_path, tune_sqlite, write_transaction,
};
use backend::{ConnectionManager, has_pending_migrations, run_migrations};
pub use checkpoint::{Checkpointer, Turn, WriteTurn};

pub type PooledConn = PooledConnection<ConnectionManager>;

/// Runs the same expression on whichever connection `conn` holds, type-checked once per backend.
/// For the few queries the shared dialect cannot express (`ON CONFLICT`, `FOR UPDATE`).
macro_rules! on_each_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite($c) => $body,
            $crate::db::Conn::Postgres($c) => $body,
        }
    };
}
pub(crate) use on_each_backend;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("a row with the same unique value already exists")]
    Conflict,
    /// Locked past the busy timeout, read-only, failing I/O, or a lost server connection:
    /// worth retrying later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database query failed: {0}")]
    Query(diesel::result::Error),
    #[error("could not apply database migrations: {0}")]
    Migration(String),
    #[error("cannot use database at {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("{0}")]
    Unsupported(&'static str),
}

impl From<diesel::result::Error> for DbError {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                DbError::Conflict
            }
            diesel::result::Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::SerializationFailure,
                info,
            ) => DbError::Unavailable(info.message().to_owned()),
            diesel::result::Error::DatabaseError(_, info) if is_transient(info.message()) => {
                DbError::Unavailable(info.message().to_owned())
            }
            other => DbError::Query(other),
        }
    }
}

/// A pool of connections to one database.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager>,
    /// SQLite: keeps the background checkpointer running while any clone of this `Db` lives,
    /// and holds the writer's turn against its WAL restarts.
    checkpointer: Option<Checkpointer>,
    /// SQLite: the file the pool opened, checked before every use.
    file: Option<Arc<DatabaseFile>>,
    backend: Backend,
}

/// The SQLite file a running server has open. If it is deleted or replaced (a restore gone
/// wrong, a cleanup script), the open connections would go on writing to the old, unlinked
/// file and acknowledge writes that vanish at the next start; instead every use is refused.
struct DatabaseFile {
    path: PathBuf,
    device: u64,
    inode: u64,
}

impl DatabaseFile {
    fn of(path: &Path) -> Result<DatabaseFile, DbError> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).map_err(|e| DbError::Open {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(DatabaseFile {
            path: path.to_path_buf(),
            device: meta.dev(),
            inode: meta.ino(),
        })
    }

    fn check(&self) -> Result<(), DbError> {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(&self.path) {
            Ok(meta) if meta.dev() == self.device && meta.ino() == self.inode => Ok(()),
            Ok(_) => Err(DbError::Unavailable(format!(
                "the database file {} was replaced while the server had it open; restart \
                 the server to use the new file",
                self.path.display()
            ))),
            Err(_) => Err(DbError::Unavailable(format!(
                "the database file {} was deleted while the server had it open; restore it \
                 and restart the server",
                self.path.display()
            ))),
        }
    }
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
        let backend = Backend::of(url);
        if let Backend::Sqlite = backend {
            prepare_private_files(Path::new(&backend::sqlite_path(url)))?;
        }
        let manager = ConnectionManager::new(url);
        let pool = Pool::builder()
            .max_size(pool_size)
            .connection_timeout(Duration::from_secs(10))
            // A checkout tests the connection with a round trip. Worth it for a server across
            // the network (a fail-over leaves dead connections in the pool); pointless for a file.
            .test_on_check_out(backend == Backend::Postgres)
            .build(manager)
            .map_err(|e| DbError::Open {
                path: PathBuf::from(backend::redacted(url)),
                reason: e.to_string(),
            })?;
        let (checkpointer, file) = match backend {
            Backend::Sqlite => {
                let path = backend::sqlite_path(url);
                let file = DatabaseFile::of(Path::new(&path))?;
                (Some(Checkpointer::start(&path)), Some(Arc::new(file)))
            }
            Backend::Postgres => (None, None),
        };
        Ok(Db {
            pool,
            checkpointer,
            file,
            backend,
        })
    }

    /// SQLite: waits for the writer's turn against the WAL restart (`WriteTurn`), for a write
    /// transaction that should not meet one inside SQLite's busy handler. `None` on PostgreSQL.
    pub fn write_turn(&self) -> Option<Turn<'_>> {
        self.checkpointer.as_ref().map(|c| c.turn().take())
    }

    /// Whether this is a SQLite file (one writer at a time) rather than a PostgreSQL server.
    pub fn is_sqlite(&self) -> bool {
        self.backend == Backend::Sqlite
    }

    /// Writes a consistent copy of the live SQLite database to `path` (`VACUUM INTO`: online,
    /// no lock held against readers, and the copy is compact). Refuses to overwrite a file.
    /// The copy is 0600 from its first byte: the empty file is made first (never through a
    /// symbolic link), then filled.
    pub fn backup_to(&self, path: &Path) -> Result<(), DbError> {
        let refused = |reason: &str| DbError::Open {
            path: path.to_path_buf(),
            reason: reason.into(),
        };
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(refused(
                    "that is a symbolic link; name a new file (links are never followed)",
                ));
            }
            Ok(_) => return Err(refused("a file is already there; choose a new name")),
            Err(_) => {}
        }
        match &mut *self.conn()? {
            Conn::Sqlite(conn) => {
                crate::files::create_private_file(path).map_err(|e| refused(&e.to_string()))?;
                let copied = diesel::sql_query("VACUUM INTO ?")
                    .bind::<diesel::sql_types::Text, _>(path.to_string_lossy())
                    .execute(conn);
                if let Err(error) = copied {
                    let _ = std::fs::remove_file(path);
                    return Err(error.into());
                }
                crate::files::make_private(path).map_err(|e| refused(&e.to_string()))?;
                Ok(())
            }
            Conn::Postgres(_) => Err(DbError::Unsupported(
                "`latchkey backup` copies a SQLite database; back up PostgreSQL with pg_dump \
                 or your provider's snapshots",
            )),
        }
    }

    pub fn conn(&self) -> Result<PooledConn, DbError> {
        if let Some(file) = &self.file {
            file.check()?;
        }
        Ok(self.pool.get()?)
    }

    /// Applies every embedded migration not yet applied; returns how many ran.
    pub fn migrate(&self) -> Result<usize, DbError> {
        run_migrations(&mut *self.conn()?)
    }

    /// True when the database answers a query and no migration is pending.
    pub fn is_ready(&self) -> bool {
        let Ok(mut conn) = self.conn() else {
            return false;
        };
        matches!(has_pending_migrations(&mut conn), Ok(false))
    }
}

/// Makes the SQLite file's folder (0700 when created here) and the file itself (0600) before
/// SQLite opens it, and takes group and other access away from files an older version left.
/// SQLite gives the `-wal` and `-shm` files the database file's mode.
fn prepare_private_files(path: &Path) -> Result<(), DbError> {
    let failed = |path: &Path, e: std::io::Error| DbError::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    if path.as_os_str() == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        crate::files::ensure_private_dir(parent).map_err(|e| failed(parent, e))?;
    }
    if !path.exists() {
        crate::files::create_private_file(path).map_err(|e| failed(path, e))?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        crate::files::make_private(&file).map_err(|e| failed(&file, e))?;
    }
    Ok(())
}

/// Messages for conditions that pass: a lock held too long, a read-only or full disk.
fn is_transient(message: &str) -> bool {
    [
        "database is locked",
        "database table is locked",
        "readonly database",
        "disk I/O error",
        "database or disk is full",
        "unable to open database file",
        // PostgreSQL: a lock held past `lock_timeout`.
        "due to lock timeout",
    ]
    .iter()
    .any(|pattern| message.contains(pattern))
}

/// The instant and idle cut-off that decide whether a session is live.
#[derive(Debug, Clone, Copy)]
pub struct LiveAt {
    pub now: i64,
    /// Sessions last used at or before this instant have gone idle.
    pub idle_cutoff: i64,
}
