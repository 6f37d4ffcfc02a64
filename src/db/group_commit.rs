//! Group commit: writes that arrive together share one write transaction on SQLite.
//!
//! SQLite has one writer, and a commit costs far more than the statements before it (the WAL
//! write, the page images of every index touched). So a write does not take the lock alone:
//! it joins a queue. If no caller is applying a group, it leads: it applies everything queued,
//! each write in its own savepoint (one failing write undoes only itself), then commits once and
//! hands every caller its own answer; the first caller that queued meanwhile leads next. A
//! caller learns its outcome only after the commit that holds it, so an acknowledged write
//! survives a crash exactly as before. There is no thread of its own and no timer: a lone
//! write is its own group and waits for nobody.
//!
//! PostgreSQL has row locks and many writers, so there each write is its own transaction.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{Conn, Db, DbError, backend};

/// The queue of one kind of write. `J` is what a caller asks for, applied by the `apply`
/// function the caller passes; every caller of one queue must pass the same function.
pub struct GroupCommit<J, T, E> {
    queue: Mutex<Queue<J, T, E>>,
    /// How many groups were committed or failed (SQLite), for the benchmark and the tests.
    groups: AtomicU64,
}

struct Queue<J, T, E> {
    waiting: Vec<Waiting<J, T, E>>,
    /// Whether a caller is applying a group now; the others wait for a notice meanwhile.
    leading: bool,
}

struct Waiting<J, T, E> {
    job: J,
    notice: SyncSender<Notice<T, E>>,
}

/// What a waiting caller hears: its outcome, or that it applies the next group.
enum Notice<T, E> {
    Done(Result<T, E>),
    Lead,
}

impl<J, T, E> Default for GroupCommit<J, T, E> {
    fn default() -> Self {
        GroupCommit {
            queue: Mutex::new(Queue {
                waiting: Vec::new(),
                leading: false,
            }),
            groups: AtomicU64::new(0),
        }
    }
}

impl<J, T, E> GroupCommit<J, T, E>
where
    E: From<DbError>,
{
    /// How many write transactions the grouped writes have taken so far (SQLite).
    pub fn groups(&self) -> u64 {
        self.groups.load(Ordering::Relaxed)
    }

    /// How many writes are queued and not yet applied.
    pub fn waiting(&self) -> usize {
        self.queue().waiting.len()
    }

    fn queue(&self) -> MutexGuard<'_, Queue<J, T, E>> {
        // Nothing is ever left half-done under this lock: it guards a list and a flag.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `job` with `apply` inside a write transaction, possibly together with other
    /// callers' jobs, and returns its outcome once that transaction has committed. `Ok` is
    /// committed; `Err` is rolled back (that job's writes only).
    pub fn write<F>(&self, db: &Db, job: J, apply: F) -> Result<T, E>
    where
        F: Fn(&mut Conn, &J) -> Result<T, E>,
    {
        if !db.is_sqlite() {
            return backend::write_transaction(&mut *db.conn()?, |conn| apply(conn, &job));
        }
        let not_applied = || {
            Err(E::from(DbError::Unavailable(
                "the write was not applied; try again".into(),
            )))
        };
        let (notice, notices) = sync_channel(1);
        let lead_now = {
            let mut queue = self.queue();
            queue.waiting.push(Waiting { job, notice });
            !std::mem::replace(&mut queue.leading, true)
        };
        if !lead_now {
            match notices.recv() {
                Ok(Notice::Done(outcome)) => return outcome,
                Ok(Notice::Lead) => {}
                Err(_) => return not_applied(),
            }
        }
        // Our own job is in the queue still: only a leader takes jobs out of it.
        let leadership = Leadership(self);
        let group = std::mem::take(&mut self.queue().waiting);
        apply_group(db, group, &apply);
        self.groups.fetch_add(1, Ordering::Relaxed);
        drop(leadership);
        match notices.recv() {
            Ok(Notice::Done(outcome)) => outcome,
            _ => not_applied(),
        }
    }
}

/// Held by the caller applying a group. When it ends (also by a panic), the first caller
/// still waiting leads the next group, or nobody leads if none waits.
struct Leadership<'a, J, T, E>(&'a GroupCommit<J, T, E>);

impl<J, T, E> Drop for Leadership<'_, J, T, E> {
    fn drop(&mut self) {
        let mut queue = self.0.queue.lock().unwrap_or_else(PoisonError::into_inner);
        // A waiter's channel has room: it holds one notice and hears from one leader at a time.
        match queue.waiting.first() {
            Some(next) => {
                let _ = next.notice.send(Notice::Lead);
            }
            None => queue.leading = false,
        }
    }
}

fn apply_group<J, T, E, F>(db: &Db, group: Vec<Waiting<J, T, E>>, apply: &F)
where
    E: From<DbError>,
    F: Fn(&mut Conn, &J) -> Result<T, E>,
{
    let mut outcomes = Vec::with_capacity(group.len());
    let committed = db.conn().and_then(|mut conn| {
        backend::write_transaction(&mut conn, |conn| {
            for waiting in &group {
                outcomes.push(backend::savepoint(conn, |conn| apply(conn, &waiting.job)));
            }
            Ok::<_, DbError>(())
        })
    });
    match committed {
        Ok(()) => {
            for (waiting, outcome) in group.into_iter().zip(outcomes) {
                let _ = waiting.notice.send(Notice::Done(outcome));
            }
        }
        Err(error) => {
            // Nothing of the group was written: every caller hears why.
            for waiting in group {
                let failed = DbError::Unavailable(format!("the write was not saved: {error}"));
                let _ = waiting.notice.send(Notice::Done(Err(E::from(failed))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use diesel::RunQueryDsl;
    use diesel::sql_types::{BigInt, Text};

    use super::*;

    #[derive(Debug, PartialEq)]
    enum Failure {
        Refused,
        Storage(String),
    }

    impl From<DbError> for Failure {
        fn from(error: DbError) -> Self {
            Failure::Storage(error.to_string())
        }
    }

    type Queue = GroupCommit<String, usize, Failure>;

    /// A job writes a row named after it and answers the name's length; a "refused" job fails
    /// after writing. The "first" job, once it has the turn, says so and waits until `behind`
    /// more jobs are queued.
    struct Jobs {
        queue: Queue,
        first_has_turn: AtomicBool,
        behind: usize,
    }

    impl Jobs {
        fn apply(&self, conn: &mut Conn, name: &String) -> Result<usize, Failure> {
            if name == "first" {
                self.first_has_turn.store(true, Ordering::SeqCst);
                while self.queue.waiting() < self.behind {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            diesel::sql_query("INSERT INTO group_test (name) VALUES (?)")
                .bind::<Text, _>(name)
                .execute(conn)
                .map_err(|e| Failure::from(DbError::from(e)))?;
            if name.starts_with("refused") {
                return Err(Failure::Refused);
            }
            Ok(name.len())
        }

        fn write(
            self: &Arc<Self>,
            db: &Db,
            name: &str,
        ) -> std::thread::JoinHandle<Result<usize, Failure>> {
            let (jobs, db, name) = (self.clone(), db.clone(), name.to_string());
            std::thread::spawn(move || jobs.queue.write(&db, name, |c, n| jobs.apply(c, n)))
        }
    }

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn count(db: &Db, pattern: &str) -> i64 {
        let counted: Count =
            diesel::sql_query("SELECT COUNT(*) AS n FROM group_test WHERE name LIKE ?")
                .bind::<Text, _>(pattern)
                .get_result(&mut *db.conn().unwrap())
                .unwrap();
        counted.n
    }

    #[test]
    fn writes_that_queue_together_share_one_commit_and_a_failing_one_undoes_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("group.db").display().to_string(), 2).unwrap();
        diesel::sql_query("CREATE TABLE group_test (name TEXT NOT NULL)")
            .execute(&mut *db.conn().unwrap())
            .unwrap();
        let names = ["kept-1", "refused-1", "kept-22", "refused-2", "kept-333"];
        let jobs = Arc::new(Jobs {
            queue: Queue::default(),
            first_has_turn: AtomicBool::new(false),
            behind: names.len(),
        });
        let first = jobs.write(&db, "first");
        while !jobs.first_has_turn.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        let others: Vec<_> = names
            .into_iter()
            .map(|name| jobs.write(&db, name))
            .collect();

        assert_eq!(first.join().unwrap(), Ok(5));
        let answers: Vec<_> = others.into_iter().map(|t| t.join().unwrap()).collect();
        let refused = Err(Failure::Refused);
        assert_eq!(
            answers,
            [Ok(6), refused, Ok(7), Err(Failure::Refused), Ok(8)]
        );
        assert_eq!(
            jobs.queue.groups(),
            2,
            "the first alone, then the five behind it"
        );
        assert_eq!((count(&db, "first"), count(&db, "kept%")), (1, 3));
        assert_eq!(
            count(&db, "refused%"),
            0,
            "a refused write leaves nothing behind"
        );
    }
}
