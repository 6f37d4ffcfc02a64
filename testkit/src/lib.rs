//! What the black-box tests and the benchmark share: the `latchkey` binary started as a
//! process on port 0 (its port learnt from `--port-file`, never from a log line), and scratch
//! databases (a SQLite file, or a PostgreSQL database of its own that is dropped afterwards).
//!
//! Test support: failures panic with a message, as a test expects.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

pub mod database;
pub mod process;

pub use database::{ScratchDatabase, with_database};
pub use process::{ServerProcess, Start};
