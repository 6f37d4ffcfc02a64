//! Timing, in its own test binary: cargo runs test binaries one after another, so no other test
//! competes for the CPU while this one measures.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test states what it expects; a failed expectation is a failed test"
)]

#[path = "api/helpers.rs"]
#[allow(dead_code, reason = "this binary uses a few of the shared helpers")]
mod helpers;
#[path = "api/test_db.rs"]
#[allow(dead_code, reason = "this binary uses a few of the shared helpers")]
mod test_db;

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use helpers::{PASSWORD, spawn_app_with};

#[tokio::test]
async fn median_login_time_for_unknown_and_known_users_is_within_15_percent() {
    // Cost 10 so bcrypt, not the loopback, dominates; distinct names so no throttle kicks in.
    let app = spawn_app_with(|s| {
        s.bcrypt_cost = 10;
        s.rate_limit = false;
    })
    .await;
    const TRIES: usize = 30;
    for i in 0..TRIES {
        let response = app.register(&format!("known{i}"), PASSWORD).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    // Warm the dummy hash and the connection pool.
    app.login("warm-up-nobody", "whatever whatever").await;

    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    // Interleaved, so drift in machine load hits both alike.
    for i in 0..TRIES {
        for (name, times) in [
            (format!("known{i}"), &mut known),
            (format!("unknown{i}"), &mut unknown),
        ] {
            let start = Instant::now();
            let response = app.login(&name, "wrong password, certainly").await;
            times.push(start.elapsed());
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
    }

    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2].as_secs_f64()
    };
    let (known, unknown) = (median(&mut known), median(&mut unknown));
    let ratio = known.max(unknown) / known.min(unknown);
    println!("median login: known {known:.4}s, unknown {unknown:.4}s, ratio {ratio:.3}");
    assert!(ratio <= 1.15, "known {known}s vs unknown {unknown}s");
}
