//! Group commit: writes that arrive together share one write transaction on SQLite.
//!
//! SQLite has one writer, and a commit costs far more than the statements before it (the WAL
//! write, the page images of every index touched). So a write does not take the lock alone:
//! it joins a queue. If nobody is applying the queue, the caller leads: it takes everything
//! queued, applies each write in its own savepoint (one failing write undoes only itself),
//! commits once, hands every caller its own answer, and goes on with what queued meanwhile
//! until the queue is empty. A caller learns its outcome only after the commit that holds it,
//! so an acknowledged write survives a crash exactly as before. No timer: a lone write is its
//! own group and waits for nobody. Threads wait on a channel (`write`); tasks await their
//! answer (`enqueue_for_task`) and start a leader on a blocking thread when none runs, so a waiting
//! refresh holds no thread.
//!
//! PostgreSQL has row locks and many writers, so there each write is its own transaction.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use super::{Conn, Db, DbError, backend};

/// The queue of one kind of write. `J` is what a caller asks for, applied by the `apply`
/// function the caller passes; every caller of one queue must pass the same function.
pub struct GroupCommit<J, T, E> {
    queue: Mutex<Queue<J, T, E>>,
    /// How many groups were committed or failed (SQLite); read by the tests, which judge the
    /// grouping by it.
    groups: AtomicU64,
}

struct Queue<J, T, E> {
    waiting: Vec<Waiting<J, T, E>>,
    /// Whether a caller is applying the queue now.
    leading: bool,
}

struct Waiting<J, T, E> {
    job: J,
    answer: Answer<T, E>,
}

/// Where a waiting caller hears its outcome: a thread blocked on a channel, or a task.
enum Answer<T, E> {
    Thread(SyncSender<Result<T, E>>),
    Task(oneshot::Sender<Result<T, E>>),
}

impl<T, E> Answer<T, E> {
    fn send(self, outcome: Result<T, E>) {
        // A caller that stopped waiting (a dropped request) loses nothing: the write stands.
        let _ = match self {
            Answer::Thread(thread) => thread.send(outcome).map_err(drop),
            Answer::Task(task) => task.send(outcome).map_err(drop),
        };
    }
}

/// A write queued by a task: await `answer`. When `lead` is set, nobody was applying the
/// queue, and the caller must have `GroupCommit::lead` run on a blocking thread.
pub struct Queued<T, E> {
    pub answer: oneshot::Receiver<Result<T, E>>,
    pub lead: bool,
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
        self.locked().waiting.len()
    }

    fn locked(&self) -> MutexGuard<'_, Queue<J, T, E>> {
        // Nothing is ever left half-done under this lock: it guards a list and a flag.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `job` with `apply` inside a write transaction, possibly together with other
    /// callers' jobs, and returns its outcome once that transaction has committed. `Ok` is
    /// committed; `Err` is rolled back (that job's writes only). Blocks: for threads.
    pub fn write<F>(&self, db: &Db, job: J, apply: F) -> Result<T, E>
    where
        F: Fn(&mut Conn, &J) -> Result<T, E>,
    {
        if !db.is_sqlite() {
            return backend::write_transaction(&mut *db.conn()?, |conn| apply(conn, &job));
        }
        let (answer, outcome) = sync_channel(1);
        if self.enqueue(job, Answer::Thread(answer)) {
            self.lead(db, &apply);
        }
        outcome.recv().unwrap_or_else(|_| not_applied())
    }

    /// Queues `job` for the next group, for a task that awaits the answer. SQLite only (on
    /// PostgreSQL call `write` on a blocking thread).
    pub fn enqueue_for_task(&self, job: J) -> Queued<T, E> {
        let (answer, outcome) = oneshot::channel();
        let lead = self.enqueue(job, Answer::Task(answer));
        Queued {
            answer: outcome,
            lead,
        }
    }

    /// Adds a job; true when the caller must lead (nobody is applying the queue).
    fn enqueue(&self, job: J, answer: Answer<T, E>) -> bool {
        let mut queue = self.locked();
        queue.waiting.push(Waiting { job, answer });
        !std::mem::replace(&mut queue.leading, true)
    }

    /// Applies the queue, group after group, until it is empty. Called only by the caller
    /// told to lead; it blocks, so on a blocking thread.
    pub fn lead<F>(&self, db: &Db, apply: &F)
    where
        F: Fn(&mut Conn, &J) -> Result<T, E>,
    {
        let _leadership = Leadership(self);
        loop {
            let group = {
                let mut queue = self.locked();
                if queue.waiting.is_empty() {
                    queue.leading = false;
                    return;
                }
                std::mem::take(&mut queue.waiting)
            };
            apply_group(db, group, apply);
            self.groups.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn not_applied<T, E: From<DbError>>() -> Result<T, E> {
    Err(E::from(DbError::Unavailable(
        "the write was not applied; try again".into(),
    )))
}

/// Held while a caller applies the queue. If that ends in a panic, the queue is left without
/// a leader, so the next caller leads (the panicked group's callers hear "not applied").
struct Leadership<'a, J, T, E>(&'a GroupCommit<J, T, E>);

impl<J, T, E> Drop for Leadership<'_, J, T, E> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut queue = self.0.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.leading = false;
        }
    }
}

fn apply_group<J, T, E, F>(db: &Db, group: Vec<Waiting<J, T, E>>, apply: &F)
where
    E: From<DbError>,
    F: Fn(&mut Conn, &J) -> Result<T, E>,
{
    let mut outcomes = Vec::with_capacity(group.len());
    // Taken for the transaction only: a WAL restart waiting for it goes next (`WriteTurn`).
    let turn = db.write_turn();
    let committed = db.conn().and_then(|mut conn| {
        backend::write_transaction(&mut conn, |conn| {
            for waiting in &group {
                outcomes.push(backend::savepoint(conn, |conn| apply(conn, &waiting.job)));
            }
            Ok::<_, DbError>(())
        })
    });
    drop(turn);
    match committed {
        Ok(()) => {
            for (waiting, outcome) in group.into_iter().zip(outcomes) {
                waiting.answer.send(outcome);
            }
        }
        Err(error) => {
            // Nothing of the group was written: every caller hears why.
            for waiting in group {
                let failed = DbError::Unavailable(format!("the write was not saved: {error}"));
                waiting.answer.send(Err(E::from(failed)));
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
