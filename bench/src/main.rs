//! `latchkey-bench`: starts the release server on loopback with a fresh database, drives it
//! with a Rust load generator, measures each scenario next to its limit on the same machine in
//! the same run, and prints one table. It builds nothing: build the server first.
//!
//! ```sh
//! cargo build --release && cargo run --release -p latchkey-bench
//! cargo run -p latchkey-bench -- --quick --server target/debug/latchkey   # seconds; CI
//! ```

mod client;
mod limits;
mod load;
mod postgres;
mod raw_rotation;
mod report;
mod scenarios;
mod seed;
mod server;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use client::{login, register_users};
use report::{cpu_model, mark, mib, ms, print_table};
use server::{ServerSpec, binary_size};

#[derive(Parser)]
#[command(about = "Measures Latchkey against the limits of this machine and prints one table")]
struct Args {
    /// A few seconds in all, small data: checks that the benchmark works (CI).
    #[arg(long)]
    quick: bool,
    /// The server binary to measure.
    #[arg(long, default_value = "target/release/latchkey")]
    server: PathBuf,
    /// bcrypt cost for the server and the bcrypt limit (default 12, or 6 with --quick).
    #[arg(long)]
    cost: Option<u32>,
    /// Also measure refresh/s and protected/s on PostgreSQL with one and two instances: a
    /// server URL (postgres://user@host/any-database); a scratch database is created on it
    /// and dropped afterwards.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
}

/// How long and how big each part runs.
struct Plan {
    time: Duration,
    users: usize,
    scale_users: u64,
    scale_sessions: u64,
    sequential: usize,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                time: Duration::from_secs(1),
                users: 8,
                scale_users: 1_000,
                scale_sessions: 10_000,
                sequential: 20,
            }
        } else {
            Plan {
                time: Duration::from_secs(10),
                users: 32,
                scale_users: 100_000,
                scale_sessions: 1_000_000,
                sequential: 200,
            }
        }
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    raw_rotation::count_statements();
    let plan = Plan::new(args.quick);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let cost = args.cost.unwrap_or(if args.quick { 6 } else { 12 });
    let binary = std::fs::canonicalize(&args.server).unwrap_or_else(|_| {
        eprintln!(
            "no server binary at {}; build it first (cargo build --release)",
            args.server.display()
        );
        std::process::exit(2);
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = ServerSpec {
        binary: binary.clone(),
        dir: dir.path().to_path_buf(),
        bcrypt_cost: cost,
        workers: cores,
        database_url: None,
    };
    eprintln!(
        "latchkey-bench: {} on {cores} cores, bcrypt cost {cost}, {} s per scenario",
        binary.display(),
        plan.time.as_secs()
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client");

    let server = spec.start().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (idle_rss, _) = server.memory();
    let base = server.base.clone();
    let users = register_users(&client, &base, plan.users).await;
    let token = login(&client, &base, &users[0]).await.expect("login").0;
    let ctx = scenarios::Context {
        client: &client,
        base,
        users,
        token,
        plan: &plan,
        cores,
        cost,
        dir: dir.path().to_path_buf(),
        spec: &spec,
    };

    let (protected_row, protected) = scenarios::protected::measure(&ctx).await;
    let (login_row, logins) = scenarios::login::measure(&ctx).await;
    let (refresh_rows, refreshes) = scenarios::refresh::measure(&ctx, protected.per_second()).await;
    let (mixed_row, mixed) = scenarios::mixed::measure(&ctx).await;
    let (_, peak_rss) = server.memory();
    let errors = protected.errors + logins.errors + refreshes.errors + mixed.errors;
    let scaled = scenarios::scale::measure(&ctx, server).await;
    let mut rows = vec![protected_row, login_row];
    rows.extend(refresh_rows);
    rows.push(mixed_row);
    rows.extend(scaled.rows);

    let backends = match &args.postgres {
        Some(admin_url) => {
            let sqlite = postgres::BackendRow {
                backend: "SQLite",
                instances: 1,
                refresh: refreshes.per_second(),
                protected: protected.per_second(),
            };
            let mut measured = vec![sqlite];
            measured.extend(postgres::measure(&client, &spec, admin_url, &plan).await);
            measured
        }
        None => Vec::new(),
    };

    print_table(&rows);
    println!();
    postgres::print_table(&backends);
    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!("| idle RSS | {} | |", mib(idle_rss));
    println!(
        "| peak RSS (after the mixed load) | {} | <= 64 MiB {} |",
        mib(peak_rss),
        mark(peak_rss <= 64 * 1024 * 1024)
    );
    println!(
        "| start to first 200 from /healthz, existing database ({} sessions) | {} | <= 100 ms {} |",
        scaled.sessions,
        ms(scaled.startup),
        mark(scaled.startup <= Duration::from_millis(100))
    );
    println!("| server binary size | {} | |", mib(binary_size(&binary)));
    println!("| failed requests | {errors} | 0 |");
    println!();
    println!(
        "{} cores ({}), bcrypt cost {cost}, {} s per scenario{}",
        cores,
        cpu_model(),
        plan.time.as_secs(),
        if args.quick { ", --quick" } else { "" }
    );
}
