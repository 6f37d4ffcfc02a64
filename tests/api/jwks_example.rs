//! `examples/verify_with_jwks.rs`, run as a real process against a test server: it accepts
//! Latchkey's tokens, refuses others, and picks up a rotated key by its unknown `kid`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::spawn_app_with;

/// Kills the example when the test ends, however it ends.
struct Example(Child);

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn example_binary() -> PathBuf {
    // cargo test builds examples next to the binaries: target/<profile>/examples/.
    PathBuf::from(env!("CARGO_BIN_EXE_latchkey"))
        .with_file_name("examples")
        .join("verify_with_jwks")
}

#[tokio::test]
async fn the_downstream_example_verifies_tokens_and_follows_a_key_rotation() {
    let app = spawn_app_with(|s| s.key_reload_interval = std::time::Duration::from_secs(1)).await;
    let mut child = Command::new(example_binary())
        .env("LATCHKEY_URL", &app.address)
        .env("DOWNSTREAM_ADDR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("examples/verify_with_jwks is built by `cargo test` (or `cargo build --examples`)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let example = Example(child);
    let port = line
        .split("(port ")
        .nth(1)
        .unwrap()
        .trim_end()
        .trim_end_matches(')');
    let hello = format!("http://127.0.0.1:{port}/hello");
    let client = reqwest::Client::new();
    let call = |token: String| {
        let client = client.clone();
        let hello = hello.clone();
        async move { client.get(&hello).bearer_auth(token).send().await.unwrap() }
    };

    let alice = app.signed_in("alice").await;
    let response = call(alice.access.clone()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["hello"], "alice");
    let forged = format!("{}x", alice.access);
    assert_eq!(call(forged).await.status(), StatusCode::UNAUTHORIZED);
    let anonymous = client.get(&hello).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().contains_key("www-authenticate"));

    // A rotation: the new token names a kid the example has not cached; it fetches again.
    let auth = app.auth();
    tokio::task::spawn_blocking(move || {
        auth.rotate_keys()?;
        // Once its publication time (the reload interval, 1 s here) has passed, it signs.
        auth.clock().advance(1);
        auth.reload_keys()
    })
    .await
    .unwrap()
    .unwrap();
    let after = app.login_ok("alice").await;
    // The example refetches for an unknown kid at most once a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let response = call(after.access).await;
    assert_eq!(response.status(), StatusCode::OK);
    drop(example);
}
