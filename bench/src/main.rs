//! `latchkey-bench`: starts the release server on loopback with a fresh database, drives it
//! with a Rust load generator, measures each scenario next to its limit on the same machine in
//! the same run, and prints one table. It builds nothing: build the server first.
//!
//! ```sh
//! cargo build --release && cargo run --release -p latchkey-bench
//! cargo run -p latchkey-bench -- --quick --server target/debug/latchkey   # seconds; CI
//! ```

mod limits;
mod load;
mod postgres;
mod seed;
mod server;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde_json::{Value, json};

use load::{Budget, Sample, run, timed};
use server::{ServerSpec, binary_size};

const PASSWORD: &str = "correct horse battery staple";

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

struct Row {
    scenario: &'static str,
    measured: String,
    limit: String,
    ratio: String,
    target: &'static str,
    met: Option<bool>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
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
    let mut rows = Vec::new();

    let server = spec.start().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (idle_rss, _) = server.memory();
    let base = server.base.clone();
    let users = register_users(&client, &base, plan.users).await;

    // protected vs hello world
    let token = login(&client, &base, &users[0]).await.expect("login").0;
    let protected = get_load(
        &client,
        format!("{base}/api/me"),
        Some(token.clone()),
        64,
        &plan,
    )
    .await;
    let hello = limits::HelloWorld::start(cores);
    let ceiling = get_load(&client, hello.url.clone(), None, 64, &plan).await;
    hello.stop().await;
    rows.push(ratio_row(
        "protected (GET /api/me)",
        protected.per_second(),
        ceiling.per_second(),
        "req/s",
        "hello world",
        0.80,
        true,
    ));

    // login vs raw bcrypt
    let logins = login_load(&client, &base, &users, 4 * cores, &plan).await;
    let bcrypt = tokio::task::spawn_blocking({
        let time = plan.time;
        move || limits::bcrypt_per_second(cost, cores, time)
    })
    .await
    .expect("bcrypt limit");
    rows.push(ratio_row(
        "login (POST /api/auth/login)",
        logins.per_second(),
        bcrypt,
        "/s",
        "raw bcrypt",
        0.90,
        true,
    ));

    // refresh chains vs the raw rotation transaction
    let chains = 2 * plan.users;
    let refreshes = refresh_load(&client, &base, &users, chains, &plan).await;
    let rotations = tokio::task::spawn_blocking({
        let (dir, time) = (dir.path().to_path_buf(), plan.time);
        move || limits::rotations_per_second(&dir, time)
    })
    .await
    .expect("rotation limit");
    rows.push(ratio_row(
        "refresh (POST /api/auth/refresh)",
        refreshes.per_second(),
        rotations,
        "/s",
        "raw rotation txn",
        0.60,
        true,
    ));

    // mixed: protected p99 while login runs flat out
    let alone = get_load(
        &client,
        format!("{base}/api/me"),
        Some(token.clone()),
        16,
        &plan,
    )
    .await;
    let (mixed, _) = tokio::join!(
        get_load(
            &client,
            format!("{base}/api/me"),
            Some(token.clone()),
            16,
            &plan
        ),
        login_load(&client, &base, &users, 4 * cores, &plan),
    );
    let (p99_alone, p99_mixed) = (alone.percentile(99.0), mixed.percentile(99.0));
    let mixed_ok = p99_mixed <= p99_alone * 2 && p99_mixed <= Duration::from_millis(5);
    rows.push(Row {
        scenario: "mixed: protected p99 under login load",
        measured: ms(p99_mixed),
        limit: format!("{} alone", ms(p99_alone)),
        ratio: format!(
            "{:.2}x",
            p99_mixed.as_secs_f64() / p99_alone.as_secs_f64().max(1e-9)
        ),
        target: "<= 2x and <= 5 ms",
        met: Some(mixed_ok),
    });
    let (_, peak_rss) = server.memory();
    let errors = protected.errors + logins.errors + refreshes.errors + mixed.errors;

    // scale: p50 of login and refresh with many sessions, against the same with few
    let few = seed::sessions_in(&spec.database());
    let small = sequential_p50(&client, &base, &users, plan.sequential).await;
    server.stop();
    let many = seed::add(&spec.database(), plan.scale_users, plan.scale_sessions);
    let server = spec.start().await;
    let startup = server.started_in;
    let base = server.base.clone();
    let large = sequential_p50(&client, &base, &users, plan.sequential).await;
    server.stop();
    for (name, index) in [("scale: login p50", 0), ("scale: refresh p50", 1)] {
        let (small, large) = (small[index], large[index]);
        let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-9);
        rows.push(Row {
            scenario: name,
            measured: format!("{} at {many} sessions", ms(large)),
            limit: format!("{} at {few}", ms(small)),
            ratio: format!("{ratio:.2}x"),
            target: "<= 1.5x",
            met: Some(ratio <= 1.5),
        });
    }

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
        "| start to first 200 from /healthz, existing database ({many} sessions) | {} | <= 100 ms {} |",
        ms(startup),
        mark(startup <= Duration::from_millis(100))
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

async fn register_users(client: &reqwest::Client, base: &str, count: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..count {
        let name = format!("bench-user-{i}");
        names.push(name.clone());
        let (client, url) = (client.clone(), format!("{base}/api/auth/register"));
        tasks.push(tokio::spawn(async move {
            let body = json!({ "username": name, "password": PASSWORD });
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .map(|r| r.status())
        }));
    }
    for task in tasks {
        let status = task.await.expect("task").expect("register");
        assert!(status.is_success(), "registering failed: {status}");
    }
    names
}

async fn post_tokens(
    client: &reqwest::Client,
    url: String,
    body: Value,
) -> Option<(String, String)> {
    let response = client.post(url).json(&body).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    Some((
        body["access_token"].as_str()?.to_owned(),
        body["refresh_token"].as_str()?.to_owned(),
    ))
}

async fn login(client: &reqwest::Client, base: &str, user: &str) -> Option<(String, String)> {
    let body = json!({ "username": user, "password": PASSWORD });
    post_tokens(client, format!("{base}/api/auth/login"), body).await
}

async fn refresh(client: &reqwest::Client, base: &str, token: &str) -> Option<(String, String)> {
    let body = json!({ "refresh_token": token });
    post_tokens(client, format!("{base}/api/auth/refresh"), body).await
}

async fn get_load(
    client: &reqwest::Client,
    url: String,
    token: Option<String>,
    concurrency: usize,
    plan: &Plan,
) -> Sample {
    get_load_across(client, &[url], token, concurrency, plan).await
}

/// Like `get_load`, with the workers spread over several instances' copies of one URL.
async fn get_load_across(
    client: &reqwest::Client,
    urls: &[String],
    token: Option<String>,
    concurrency: usize,
    plan: &Plan,
) -> Sample {
    let budget = Budget::new(i64::MAX, plan.time);
    run(concurrency, budget, |worker, budget| {
        let (client, url, token) = (
            client.clone(),
            urls[worker % urls.len()].clone(),
            token.clone(),
        );
        async move {
            let mut latencies = Vec::new();
            while budget.take() {
                let mut request = client.get(&url);
                if let Some(token) = &token {
                    request = request.bearer_auth(token);
                }
                let answered = timed(async {
                    let response = request.send().await.ok()?;
                    let ok = response.status().is_success();
                    response.bytes().await.ok()?;
                    ok.then_some(())
                })
                .await;
                match answered {
                    Some((_, latency)) => latencies.push(latency),
                    None => budget.error(),
                }
            }
            latencies
        }
    })
    .await
}

async fn login_load(
    client: &reqwest::Client,
    base: &str,
    users: &[String],
    concurrency: usize,
    plan: &Plan,
) -> Sample {
    let budget = Budget::new(i64::MAX, plan.time);
    run(concurrency, budget, |worker, budget| {
        let (client, base) = (client.clone(), base.to_owned());
        let user = users[worker % users.len()].clone();
        async move {
            let mut latencies = Vec::new();
            while budget.take() {
                match timed(login(&client, &base, &user)).await {
                    Some((_, latency)) => latencies.push(latency),
                    None => budget.error(),
                }
            }
            latencies
        }
    })
    .await
}

/// `chains` sessions, each refreshed with the successor of its previous refresh.
async fn refresh_load(
    client: &reqwest::Client,
    base: &str,
    users: &[String],
    chains: usize,
    plan: &Plan,
) -> Sample {
    refresh_load_across(client, &[base.to_owned()], users, chains, plan).await
}

/// Like `refresh_load`, with every chain going round the instances one refresh at a time (no
/// sticky sessions).
async fn refresh_load_across(
    client: &reqwest::Client,
    bases: &[String],
    users: &[String],
    chains: usize,
    plan: &Plan,
) -> Sample {
    let mut tokens = Vec::new();
    for i in 0..chains {
        tokens.push(
            login(client, &bases[i % bases.len()], &users[i % users.len()])
                .await
                .expect("login")
                .1,
        );
    }
    let budget = Budget::new(i64::MAX, plan.time);
    run(chains, budget, |worker, budget| {
        let (client, bases) = (client.clone(), bases.to_vec());
        let mut token = tokens[worker].clone();
        async move {
            let mut latencies = Vec::new();
            let mut turn = worker;
            while budget.take() {
                turn += 1;
                let base = &bases[turn % bases.len()];
                match timed(refresh(&client, base, &token)).await {
                    Some(((_, next), latency)) => {
                        token = next;
                        latencies.push(latency);
                    }
                    None => {
                        budget.error();
                        break;
                    }
                }
            }
            latencies
        }
    })
    .await
}

/// Median latency of `count` sequential logins and of `count` sequential refreshes.
async fn sequential_p50(
    client: &reqwest::Client,
    base: &str,
    users: &[String],
    count: usize,
) -> [Duration; 2] {
    let mut logins = Vec::new();
    let mut token = String::new();
    for i in 0..count.min(50) {
        let ((_, refresh_token), latency) = timed(login(client, base, &users[i % users.len()]))
            .await
            .expect("login");
        logins.push(latency);
        token = refresh_token;
    }
    let mut refreshes = Vec::new();
    for _ in 0..count {
        let ((_, next), latency) = timed(refresh(client, base, &token)).await.expect("refresh");
        refreshes.push(latency);
        token = next;
    }
    let median = |mut v: Vec<Duration>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    [median(logins), median(refreshes)]
}

fn ratio_row(
    scenario: &'static str,
    measured: f64,
    limit: f64,
    unit: &str,
    limit_name: &str,
    target: f64,
    at_least: bool,
) -> Row {
    let ratio = measured / limit.max(1e-9);
    Row {
        scenario,
        measured: format!("{measured:.0} {unit}"),
        limit: format!("{limit:.0} {unit} ({limit_name})"),
        ratio: format!("{ratio:.2}"),
        target: match target {
            t if t >= 0.9 => ">= 0.90",
            t if t >= 0.8 => ">= 0.80",
            _ => ">= 0.60",
        },
        met: Some(if at_least {
            ratio >= target
        } else {
            ratio <= target
        }),
    }
}

fn print_table(rows: &[Row]) {
    println!("| scenario | measured | limit | ratio | target | met |");
    println!("|---|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            row.scenario,
            row.measured,
            row.limit,
            row.ratio,
            row.target,
            row.met.map_or("", mark)
        );
    }
}

fn mark(met: bool) -> &'static str {
    if met { "yes" } else { "NO" }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
