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
#[path = "api/mailbox.rs"]
#[allow(dead_code, reason = "this binary uses a few of the shared helpers")]
mod mailbox;
#[path = "api/test_db.rs"]
#[allow(dead_code, reason = "this binary uses a few of the shared helpers")]
mod test_db;

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use helpers::{PASSWORD, spawn_app_with};

/// One measurement at a time: tests in one binary run in parallel, and the other's bcrypt work
/// would be noise in this one's times.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn median_login_time_for_unknown_and_known_users_is_within_15_percent() {
    let _alone = ONE_AT_A_TIME.lock().await;
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

/// A reset request answers before any account is looked up; this measures that the answer's
/// time says nothing either: known identifiers (with a verified address, so a mail is written)
/// against unknown ones, interleaved, 30 each.
#[tokio::test]
async fn median_reset_request_time_for_known_and_unknown_identifiers_is_within_15_percent() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let smtp = mailbox::SmtpServer::shared();
    let url = smtp.url();
    let app = spawn_app_with(move |s| {
        s.rate_limit = false;
        s.smtp_url = Some(latchkey::config::Secret::new(url));
    })
    .await;
    const TRIES: usize = 30;
    let mut addresses = Vec::new();
    for i in 0..TRIES {
        let email = mailbox::unique_address(&format!("timed{i}"));
        let body = serde_json::json!({"username": format!("timed{i}"), "password": PASSWORD, "email": email});
        let response = app.post_json("/api/auth/register", &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let token = smtp.nth(&email, 1).await.token("/verify");
        let verified = app
            .post_json(
                "/api/auth/verify-email",
                &serde_json::json!({"token": token}),
            )
            .await;
        assert_eq!(verified.status(), StatusCode::OK);
        addresses.push(email);
    }
    let ask = |identifier: String| {
        let app = &app;
        async move {
            let body = serde_json::json!({"identifier": identifier});
            let start = Instant::now();
            let response = app.post_json("/api/auth/password-reset", &body).await;
            let took = start.elapsed();
            assert_eq!(response.status(), StatusCode::ACCEPTED);
            // Let the work behind a known identifier (the write, then the SMTP delivery) finish
            // before the next measurement, so it competes with neither kind of request.
            tokio::time::sleep(Duration::from_millis(300)).await;
            took
        }
    };
    ask("warm-up-nobody".into()).await;
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    // Interleaved, each first in turn, so drift in machine load hits both alike.
    for (i, email) in addresses.iter().enumerate() {
        let nobody = format!("nobody{i}@example.com");
        if i % 2 == 0 {
            known.push(ask(email.clone()).await);
            unknown.push(ask(nobody).await);
        } else {
            unknown.push(ask(nobody).await);
            known.push(ask(email.clone()).await);
        }
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2].as_secs_f64()
    };
    let (known, unknown) = (median(&mut known), median(&mut unknown));
    let ratio = known.max(unknown) / known.min(unknown);
    println!(
        "median reset request: known {:.3} ms, unknown {:.3} ms, ratio {ratio:.3}",
        known * 1e3,
        unknown * 1e3
    );
    assert!(ratio <= 1.15, "known {known}s vs unknown {unknown}s");
    // Every known identifier got its mail: the answer came first, the work after it.
    for email in &addresses {
        smtp.wait_for(email, 2).await;
    }
}
