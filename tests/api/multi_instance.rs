//! Two server processes on one PostgreSQL database, as behind a load balancer without sticky
//! sessions. Runs when LATCHKEY_TEST_POSTGRES_URL names a server (`.ci/run` sets it).

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TEST_SECRET};
use crate::process::{Server, start_binary_with};
use crate::test_db::{POSTGRES_URL_VAR, postgres_admin_url, postgres_database};

struct Instance {
    server: Server,
    client: reqwest::Client,
}

impl Instance {
    fn start(dir: &std::path::Path, database_url: &str) -> Instance {
        Instance {
            server: start_binary_with(dir, "4", &[("LATCHKEY_DATABASE_URL", database_url)]),
            client: reqwest::Client::new(),
        }
    }

    async fn post(&self, path: &str, body: Value, bearer: Option<&str>) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.server.base))
            .json(&body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn refresh(&self, token: &str) -> (StatusCode, Value) {
        self.post("/api/auth/refresh", json!({ "refresh_token": token }), None)
            .await
    }

    async fn me(&self, access: &str) -> StatusCode {
        self.client
            .get(format!("{}/api/me", self.server.base))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn kids(&self) -> HashSet<String> {
        let jwks: Value = self
            .client
            .get(format!("{}/.well-known/jwks.json", self.server.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["kid"].as_str().unwrap().to_owned())
            .collect()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.server.child.kill();
        let _ = self.server.child.wait();
    }
}

fn tokens(body: &Value) -> (String, String) {
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn unused_tokens_of(database_url: &str, username: &str) -> i64 {
    let mut conn = PgConnection::establish(database_url).unwrap();
    let counted: Count = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM refresh_tokens t
           JOIN sessions s ON s.id = t.session_id
           JOIN users u ON u.id = s.user_id
          WHERE u.username = $1 AND t.used_at IS NULL",
    )
    .bind::<diesel::sql_types::Text, _>(username)
    .get_result(&mut conn)
    .unwrap();
    counted.n
}

#[tokio::test]
async fn two_instances_on_one_postgres_database_behave_as_one_server() {
    let Some(admin_url) = postgres_admin_url() else {
        eprintln!("skipped: {POSTGRES_URL_VAR} is not set");
        return;
    };
    let database = postgres_database(&admin_url);
    let dir = tempfile::tempdir().unwrap();
    // Started together on an empty database: they take turns migrating and creating the key.
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| Instance::start(dir.path(), &database.url));
        let b = scope.spawn(|| Instance::start(dir.path(), &database.url));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a.kids().await, b.kids().await, "one first key, not two");

    // Sign in on A, refresh on B, and back.
    let credentials = json!({ "username": "carol", "password": PASSWORD });
    assert_eq!(
        a.post("/api/auth/register", credentials.clone(), None)
            .await
            .0,
        StatusCode::CREATED
    );
    let (status, body) = a.post("/api/auth/login", credentials.clone(), None).await;
    assert_eq!(status, StatusCode::OK);
    let (access, refresh) = tokens(&body);
    assert_eq!(b.me(&access).await, StatusCode::OK);
    let (status, body) = b.refresh(&refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, refresh) = tokens(&body);
    let (status, body) = a.refresh(&refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, refresh) = tokens(&body);

    // 20 concurrent refreshes of one token, split across A and B: one successor for all.
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..20 {
        let base = [&a, &b][i % 2].server.base.clone();
        let (client, token) = (a.client.clone(), refresh.clone());
        attempts.spawn(async move {
            let response = client
                .post(format!("{base}/api/auth/refresh"))
                .json(&json!({ "refresh_token": token }))
                .send()
                .await
                .unwrap();
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        });
    }
    let answers = attempts.join_all().await;
    let successors: HashSet<String> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, StatusCode::OK, "{body}");
            tokens(body).1
        })
        .collect();
    assert_eq!(successors.len(), 1, "the family branched: {successors:?}");
    assert_eq!(unused_tokens_of(&database.url, "carol"), 1);
    let successor = successors.into_iter().next().unwrap();
    let (status, body) = b.refresh(&successor).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (access, refresh) = tokens(&body);

    // Sign out on B: A refuses the session's refresh token at once.
    let (status, _) = b.post("/api/auth/logout", json!({}), Some(&access)).await;
    assert!(status.is_success(), "logout on B: {status}");
    assert_eq!(a.refresh(&refresh).await.0, StatusCode::UNAUTHORIZED);

    // A key rotated with the CLI: an instance started after it signs with it, and the instance
    // that was already running accepts its tokens and publishes it at once (unknown kid ->
    // re-read the keys), long before its periodic reload.
    let before = a.kids().await;
    let rotated = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["keys", "rotate"])
        .env("LATCHKEY_DATABASE_URL", &database.url)
        .env("LATCHKEY_SECRET", TEST_SECRET)
        .output()
        .unwrap();
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    // A new key signs once it has been published for max(reload interval, JWKS max-age) + 2 s
    // (3 s for the new A; B keeps the defaults and has not re-read the keys in full when A's
    // token reaches it).
    std::thread::sleep(Duration::from_millis(3100));
    drop(a);
    let a = Instance {
        server: start_binary_with(
            dir.path(),
            "4",
            &[
                ("LATCHKEY_DATABASE_URL", &database.url),
                ("LATCHKEY_KEY_RELOAD_INTERVAL", "1s"),
                ("LATCHKEY_JWKS_MAX_AGE", "1s"),
            ],
        ),
        client: reqwest::Client::new(),
    };
    let new_kids: HashSet<String> = a.kids().await.difference(&before).cloned().collect();
    assert_eq!(new_kids.len(), 1, "A publishes the rotated key");
    let (status, body) = a.post("/api/auth/login", credentials, None).await;
    assert_eq!(status, StatusCode::OK);
    let (access, _) = tokens(&body);
    let header = access.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert!(
        new_kids.contains(header["kid"].as_str().unwrap()),
        "A signs with the rotated key"
    );
    let started = Instant::now();
    assert_eq!(b.me(&access).await, StatusCode::OK, "B accepts the new key");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        b.kids().await.is_superset(&new_kids),
        "B publishes the new key"
    );
}
