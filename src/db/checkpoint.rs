//! The SQLite WAL, copied back into the database file from a thread of its own, and kept
//! bounded without stalling the writer more than the copy itself needs.

use std::sync::Arc;
use std::time::Duration;

use diesel::Connection;
use diesel::sqlite::SqliteConnection;
use parking_lot::{Mutex, MutexGuard};

use super::backend::tune_sqlite;

/// How often the background thread checkpoints the WAL. Often, so that the blocking restart
/// below finds little left to copy.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);
/// A WAL longer than this (pages of 4 KiB: 32 MiB) is checkpointed in full and restarted: the
/// next commit writes from the file's start again, so under steady writes (where passive
/// checkpoints never catch up) the file stays near this size. A restart holds the writers off;
/// `TRUNCATE` did too, and then every write grew the file again.
const CHECKPOINT_RESTART_PAGES: i64 = 8_192;
/// Before a restart, passive passes repeat (up to `MAX_PASSES`) until the writer added at most
/// this many pages during the last one: about what the restart is then left to copy.
const RESTART_LEFT_PAGES: i64 = 256;
const MAX_PASSES: u32 = 4;

/// The turn at SQLite's one write lock, shared by the grouped writes (`group_commit`) and the
/// WAL restart. A restart must hold writers off while it finishes; waiting for the lock inside
/// SQLite means sleeping in its busy handler (1, 2, 5, 10, 15 ms...), on both sides: the restart
/// slept until it caught the writer between two groups (seen: 100 to 500 ms), and the writer
/// then slept past the restart's end (the group after each restart took 15 to 85 ms, and those
/// stalls were the refresh p99). Here whoever waits is woken the moment the other is done, and
/// the hand-over is fair, so the writer, which takes the turn again at once after each group,
/// cannot keep the restart waiting.
#[derive(Clone, Default)]
pub struct WriteTurn(Arc<Mutex<()>>);

impl WriteTurn {
    /// Waits for the turn; it is held until the `Turn` is dropped.
    pub fn take(&self) -> Turn<'_> {
        Turn(Some(self.0.lock()))
    }
}

/// A held `WriteTurn`. Dropping it hands the turn straight to whoever waits for it.
pub struct Turn<'a>(Option<MutexGuard<'a, ()>>);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if let Some(held) = self.0.take() {
            MutexGuard::unlock_fair(held);
        }
    }
}

/// Copies the SQLite WAL back into the database file from its own thread and connection.
/// Profiling the refresh path showed SQLite's automatic checkpoints, run inside whichever
/// request's commit crossed 1,000 pages, at about 12 % of its CPU, and their fsync on the
/// request's critical path. The thread stops once the `Db` that started it is gone.
#[derive(Clone)]
pub struct Checkpointer {
    /// Shared by every clone; when the last one is dropped, the thread makes a last checkpoint
    /// and stops.
    _stop: std::sync::mpsc::Sender<()>,
    turn: WriteTurn,
}

impl Checkpointer {
    pub fn start(path: &str) -> Checkpointer {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let path = path.to_owned();
        let turn = WriteTurn::default();
        let restarts = turn.clone();
        let spawned = std::thread::Builder::new()
            .name("latchkey-checkpoint".into())
            .spawn(move || {
                let Ok(mut conn) = SqliteConnection::establish(&path) else {
                    return;
                };
                if tune_sqlite(&mut conn).is_err() {
                    return;
                }
                // Runs until the sender is dropped with the last `Db` clone.
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_INTERVAL)
                {
                    checkpoint(&mut conn, &restarts);
                }
                checkpoint(&mut conn, &restarts);
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "could not start the checkpoint thread");
        }
        Checkpointer { _stop: stop, turn }
    }

    /// The turn a writer takes for each write transaction it wants to run without meeting a
    /// WAL restart inside SQLite.
    pub fn turn(&self) -> &WriteTurn {
        &self.turn
    }
}

/// What a checkpoint reports: the WAL's length in pages.
#[derive(diesel::QueryableByName)]
struct CheckpointResult {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    log: i64,
}

fn checkpoint(conn: &mut SqliteConnection, turn: &WriteTurn) {
    // Passive: copies what it can beside the writer, and never waits for it. While the WAL is
    // long, passes repeat until the writer has added little since: each pass only copies what
    // arrived during the one before, and what the restart copies holds the writer off.
    let passive =
        |conn: &mut SqliteConnection| run_checkpoint(conn, "PRAGMA wal_checkpoint(PASSIVE)");
    let Ok(mut wal) = passive(conn) else {
        return;
    };
    for _ in 1..MAX_PASSES {
        if wal.log <= CHECKPOINT_RESTART_PAGES {
            break;
        }
        let Ok(again) = passive(conn) else {
            return;
        };
        let added_meanwhile = again.log - wal.log;
        wal = again;
        if added_meanwhile <= RESTART_LEFT_PAGES {
            break;
        }
    }
    if wal.log > CHECKPOINT_RESTART_PAGES {
        let _turn = turn.take();
        if let Err(error) = run_checkpoint(conn, "PRAGMA wal_checkpoint(RESTART)") {
            tracing::warn!(%error, "could not restart the SQLite WAL");
        }
    }
}

fn run_checkpoint(
    conn: &mut SqliteConnection,
    pragma: &'static str,
) -> diesel::QueryResult<CheckpointResult> {
    use diesel::RunQueryDsl;
    diesel::sql_query(pragma).get_result(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkpoint_thread_copies_the_wal_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpointed.db");
        // Migrations write a dozen pages to the WAL; requests never checkpoint them.
        let db = crate::db::Db::open(&path.display().to_string(), 2).unwrap();
        let started = std::time::Instant::now();
        let file_size = || std::fs::metadata(&path).map_or(0, |m| m.len());
        while file_size() < 8 * 4096 && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(file_size() >= 8 * 4096, "still {} bytes", file_size());
        drop(db);
    }

    #[test]
    fn a_writer_taking_the_turn_again_at_once_lets_the_one_waiting_go_first() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let turn = WriteTurn::default();
        let groups = Arc::new(AtomicUsize::new(0));
        let released = Arc::new(AtomicBool::new(false));
        let held = turn.take();
        let restart = std::thread::spawn({
            let (turn, groups, released) = (turn.clone(), groups.clone(), released.clone());
            move || {
                let _turn = turn.take();
                (
                    released.load(Ordering::SeqCst),
                    groups.load(Ordering::SeqCst),
                )
            }
        });
        // Lets the restart start waiting (what follows holds whenever it has).
        std::thread::sleep(Duration::from_millis(100));
        released.store(true, Ordering::SeqCst);
        drop(held);
        // The writer goes on with group after group, taking the turn again at once each time.
        for _ in 0..10_000 {
            let _turn = turn.take();
            groups.fetch_add(1, Ordering::SeqCst);
        }
        let (waited_for_the_writer, groups_before_the_restart) = restart.join().unwrap();
        assert!(waited_for_the_writer);
        assert_eq!(groups_before_the_restart, 0);
    }
}
