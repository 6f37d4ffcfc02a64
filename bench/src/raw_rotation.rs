//! The database's own limit for refresh: the smallest transaction a rotation needs (`BEGIN
//! IMMEDIATE`; claim the presented token by its hash; insert its successor; `COMMIT`) through
//! the same SQLite library (Diesel over libsqlite3), the same pragmas and the same background
//! checkpoints as the server, on one connection, with none of Latchkey's rotation code.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::prelude::*;

diesel::table! {
    rotation_limit (id) {
        id -> BigInt,
        session_id -> Text,
        token_hash -> Binary,
        parent_id -> Nullable<BigInt>,
        issued_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

/// A token hash unique to `(chain, n)`, 32 bytes like a SHA-256.
fn hash_of(chain: u64, n: u64) -> Vec<u8> {
    let mut hash = vec![0u8; 32];
    hash[..8].copy_from_slice(&chain.to_be_bytes());
    hash[8..16].copy_from_slice(&n.to_be_bytes());
    hash
}

/// Raw rotation transactions per second on one connection, over `chains` chains in turn.
pub fn raw_rotations_per_second(dir: &Path, time: Duration) -> f64 {
    let path = dir.join("raw-rotation.db").display().to_string();
    let mut conn = SqliteConnection::establish(&path).expect("raw database");
    latchkey::db::tune_sqlite(&mut conn).expect("pragmas");
    conn.batch_execute(
        "CREATE TABLE rotation_limit (
             id INTEGER PRIMARY KEY,
             session_id TEXT NOT NULL,
             token_hash BLOB NOT NULL UNIQUE,
             parent_id INTEGER,
             issued_at INTEGER NOT NULL,
             used_at INTEGER
         );",
    )
    .expect("table");
    let checkpoints = latchkey::db::Checkpointer::start(&path);
    const CHAINS: u64 = 64;
    for chain in 0..CHAINS {
        diesel::insert_into(rotation_limit::table)
            .values((
                rotation_limit::session_id.eq(format!("session-{chain}")),
                rotation_limit::token_hash.eq(hash_of(chain, 0)),
                rotation_limit::issued_at.eq(0),
            ))
            .execute(&mut conn)
            .expect("seed");
    }
    let mut next = [0u64; CHAINS as usize];
    let started = Instant::now();
    let mut done = 0u64;
    while started.elapsed() < time {
        let chain = done % CHAINS;
        let n = next[chain as usize];
        let now = started.elapsed().as_secs() as i64;
        // The turn against the WAL restart, as the server's grouped writes take it.
        let _turn = checkpoints.turn().take();
        conn.immediate_transaction(|conn| {
            let claimed = diesel::update(
                rotation_limit::table
                    .filter(rotation_limit::token_hash.eq(hash_of(chain, n)))
                    .filter(rotation_limit::used_at.is_null()),
            )
            .set(rotation_limit::used_at.eq(now))
            .execute(conn)?;
            assert_eq!(claimed, 1, "each token is claimed once");
            diesel::insert_into(rotation_limit::table)
                .values((
                    rotation_limit::session_id.eq(format!("session-{chain}")),
                    rotation_limit::token_hash.eq(hash_of(chain, n + 1)),
                    rotation_limit::issued_at.eq(now),
                ))
                .execute(conn)
        })
        .expect("rotation");
        next[chain as usize] = n + 1;
        done += 1;
    }
    done as f64 / started.elapsed().as_secs_f64()
}

/// SQL statements (each query or batch, `BEGIN` and `COMMIT` included) and outermost
/// transactions run by the connections of this process.
pub static STATEMENTS: AtomicU64 = AtomicU64::new(0);
pub static TRANSACTIONS: AtomicU64 = AtomicU64::new(0);

struct Counting;

impl Instrumentation for Counting {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => {
                STATEMENTS.fetch_add(1, Ordering::Relaxed);
            }
            InstrumentationEvent::BeginTransaction { depth, .. } if depth.get() == 1 => {
                TRANSACTIONS.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

/// Every connection opened from now on counts its statements and transactions.
pub fn count_statements() {
    diesel::connection::set_default_instrumentation(|| Some(Box::new(Counting)))
        .expect("instrumentation");
}

/// The counters now, to subtract from a later reading.
pub fn counted() -> (u64, u64) {
    (
        STATEMENTS.load(Ordering::Relaxed),
        TRANSACTIONS.load(Ordering::Relaxed),
    )
}
