//! The real binary as an operator runs it: crash safety under SIGKILL, graceful SIGTERM.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::Text;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::helpers::{PASSWORD, TEST_SECRET};

/// The real binary as a process (the shared test kit starts it and learns its port).
pub type Server = latchkey_testkit::ServerProcess;

fn start_binary(dir: &std::path::Path, bcrypt_cost: &str) -> Server {
    start_binary_with(dir, bcrypt_cost, &[])
}

/// Starts `latchkey` on port 0 with the database in `dir` (and extra environment).
pub fn start_binary_with(dir: &std::path::Path, bcrypt_cost: &str, env: &[(&str, &str)]) -> Server {
    let database = dir.join("latchkey.db").display().to_string();
    latchkey_testkit::Start::new(std::path::Path::new(env!("CARGO_BIN_EXE_latchkey")), dir)
        .env("LATCHKEY_DATABASE_URL", database)
        .env("LATCHKEY_SECRET", TEST_SECRET)
        .env("LATCHKEY_BCRYPT_COST", bcrypt_cost)
        .env("LATCHKEY_RATE_LIMIT", "false")
        .envs(env.iter().copied())
        .spawn()
}

pub fn signal(server: &Server, name: &str) {
    server.signal(name);
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> Option<(StatusCode, Value)> {
    let response = client.post(url).json(&body).send().await.ok()?;
    let status = response.status();
    Some((status, response.json().await.unwrap_or(Value::Null)))
}

#[derive(QueryableByName)]
struct IntegrityCheck {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

/// Per worker: (username, the last refresh token the server answered 2xx with).
type Acknowledged = (String, Option<String>);

#[tokio::test]
async fn every_acknowledged_write_survives_a_sigkill_mid_load() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_binary(dir.path(), "4");
    let client = reqwest::Client::new();

    let mut workers = JoinSet::new();
    for worker in 0..8 {
        let client = client.clone();
        let base = server.base.clone();
        workers.spawn(async move {
            let mut acknowledged: Vec<Acknowledged> = Vec::new();
            for round in 0.. {
                let username = format!("user-{worker}-{round}");
                let credentials = json!({ "username": username, "password": PASSWORD });
                match post(
                    &client,
                    format!("{base}/api/auth/register"),
                    credentials.clone(),
                )
                .await
                {
                    Some((StatusCode::CREATED, _)) => acknowledged.push((username.clone(), None)),
                    _ => return acknowledged,
                }
                let Some((StatusCode::OK, tokens)) =
                    post(&client, format!("{base}/api/auth/login"), credentials).await
                else {
                    return acknowledged;
                };
                let mut refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
                acknowledged.last_mut().unwrap().1 = Some(refresh.clone());
                for _ in 0..5 {
                    let body = json!({ "refresh_token": refresh });
                    match post(&client, format!("{base}/api/auth/refresh"), body).await {
                        Some((StatusCode::OK, tokens)) => {
                            refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
                            acknowledged.last_mut().unwrap().1 = Some(refresh.clone());
                        }
                        _ => return acknowledged,
                    }
                }
            }
            acknowledged
        });
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    signal(&server, "KILL");
    let mut acknowledged = Vec::new();
    while let Some(result) = workers.join_next().await {
        acknowledged.extend(result.unwrap());
    }
    assert!(
        acknowledged.len() > 20,
        "the load was too light to mean anything"
    );

    let server = start_binary(dir.path(), "4");
    for (username, last_refresh) in &acknowledged {
        let login = post(
            &client,
            format!("{}/api/auth/login", server.base),
            json!({ "username": username, "password": PASSWORD }),
        )
        .await;
        assert_eq!(
            login.map(|(s, _)| s),
            Some(StatusCode::OK),
            "{username} was lost"
        );
        if let Some(token) = last_refresh {
            let refreshed = post(
                &client,
                format!("{}/api/auth/refresh", server.base),
                json!({ "refresh_token": token }),
            )
            .await;
            assert_eq!(
                refreshed.map(|(s, _)| s),
                Some(StatusCode::OK),
                "{username}'s last refresh token was lost"
            );
        }
    }
    signal(&server, "TERM");

    let mut conn =
        diesel::SqliteConnection::establish(dir.path().join("latchkey.db").to_str().unwrap())
            .unwrap();
    let check: Vec<IntegrityCheck> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .unwrap();
    assert_eq!(check[0].integrity_check, "ok");
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let branched: Vec<Count> = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM (SELECT session_id FROM refresh_tokens WHERE used_at IS NULL \
         GROUP BY session_id HAVING COUNT(*) > 1)",
    )
    .load(&mut conn)
    .unwrap();
    assert_eq!(
        branched[0].n, 0,
        "a session ended up with two live refresh tokens"
    );
}

#[tokio::test]
async fn sigterm_finishes_requests_in_flight_then_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    // Cost 12: a sign-in takes a few hundred milliseconds, long enough to be in flight.
    let mut server = start_binary(dir.path(), "12");
    let client = reqwest::Client::new();
    let credentials = json!({ "username": "alice", "password": PASSWORD });
    post(
        &client,
        format!("{}/api/auth/register", server.base),
        credentials.clone(),
    )
    .await;

    let in_flight = tokio::spawn({
        let client = client.clone();
        let url = format!("{}/api/auth/login", server.base);
        async move { post(&client, url, credentials).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    signal(&server, "TERM");

    let (status, _) = in_flight
        .await
        .unwrap()
        .expect("the in-flight sign-in was answered");
    assert_eq!(status, StatusCode::OK);
    let exit = tokio::task::spawn_blocking(move || server.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "exit status {exit:?}");
}

#[tokio::test]
async fn sigint_stops_the_server_cleanly_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_binary(dir.path(), "4");
    let ready = reqwest::get(format!("{}/readyz", server.base))
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    signal(&server, "INT");
    let exit = tokio::task::spawn_blocking(move || server.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "exit status {exit:?}");
}
