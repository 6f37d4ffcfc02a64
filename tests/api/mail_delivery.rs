//! The outbox: mail survives an SMTP outage and a restart, a refused mail is marked failed
//! with the server's answer, and admins see all of it.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app_with};
use crate::mailbox::{SmtpServer, unique_address};
use crate::recovery::app_mailing_to;

/// The outbox as an admin sees it through the API.
async fn outbox(app: &TestApp, admin: &str) -> Vec<Value> {
    let body: Value = app
        .get("/api/admin/outbox", admin)
        .await
        .json()
        .await
        .unwrap();
    body["items"].as_array().unwrap().clone()
}

async fn register_with(app: &TestApp, name: &str, email: &str) {
    let response = app
        .post_json(
            "/api/auth/register",
            &json!({"username": name, "password": PASSWORD, "email": email}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

/// Waits until the mail to `email` has been tried `attempts` times.
async fn tried(app: &TestApp, admin: &str, email: &str, attempts: i64) -> Value {
    for _ in 0..200 {
        if let Some(mail) = outbox(app, admin)
            .await
            .into_iter()
            .find(|m| m["recipient"] == email && m["attempts"].as_i64() >= Some(attempts))
        {
            return mail;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the mail to {email} was not tried {attempts} times");
}

#[tokio::test]
async fn mail_queued_while_the_smtp_server_is_down_is_delivered_once_it_is_back() {
    let mut smtp = SmtpServer::start_own(0);
    smtp.stop();
    let app = app_mailing_to(&smtp).await;
    let admin = app.admin_signed_in("postmaster").await.access;
    let email = unique_address("patient");
    register_with(&app, "patient", &email).await;

    let waiting = tried(&app, &admin, &email, 1).await;
    assert_eq!(waiting["status"], "pending");
    let error = waiting["last_error"].as_str().unwrap();
    assert!(!error.is_empty(), "the connection failure is recorded");
    assert!(waiting["next_attempt_at"].is_string());
    assert!(waiting.get("body_text").is_none() && !waiting.to_string().contains("token="));

    smtp.start();
    // The retry is due a few seconds later on the server's clock.
    app.clock.advance(10);
    let mail = smtp.nth(&email, 1).await;
    assert!(mail.link("/verify").contains("token="));
    let sent = tried(&app, &admin, &email, 2).await;
    assert_eq!(sent["status"], "sent");
    assert!(sent["sent_at"].is_string());
}

#[tokio::test]
async fn mail_queued_before_a_restart_is_delivered_by_the_restarted_server() {
    let mut smtp = SmtpServer::start_own(0);
    smtp.stop();
    let app = app_mailing_to(&smtp).await;
    let admin = app.admin_signed_in("restarter").await.access;
    let email = unique_address("restart");
    register_with(&app, "restart", &email).await;
    tried(&app, &admin, &email, 1).await;

    let app = app.restart().await;
    smtp.start();
    app.clock.advance(10);
    smtp.nth(&email, 1).await;
    assert_eq!(smtp.wait_for(&email, 1).await.len(), 1, "delivered once");
}

#[tokio::test]
async fn a_mail_the_server_refuses_is_marked_failed_with_its_answer() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let admin = app.admin_signed_in("bounces").await.access;
    let email = unique_address("refuse-me");
    register_with(&app, "refused", &email).await;
    let failed = tried(&app, &admin, &email, 1).await;
    // Permanent: no retry.
    for _ in 0..20 {
        let mail = outbox(&app, &admin)
            .await
            .into_iter()
            .find(|m| m["recipient"] == email)
            .unwrap();
        if mail["status"] == "failed" {
            assert!(
                mail["last_error"].as_str().unwrap().contains("550"),
                "{mail}"
            );
            assert_eq!(mail["attempts"], 1);
            let filtered: Value = app
                .get("/api/admin/outbox?status=failed", &admin)
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not marked failed: {failed}");
}

#[tokio::test]
async fn without_smtp_in_development_mail_is_held_and_its_link_is_logged() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.admin_signed_in("developer").await.access;
    let email = unique_address("held");
    register_with(&app, "held", &email).await;
    for _ in 0..100 {
        let held = outbox(&app, &admin).await;
        if held
            .iter()
            .any(|m| m["recipient"] == email && m["status"] == "held")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the mail was not held");
}

#[tokio::test]
async fn the_outbox_is_for_admins_only_and_refuses_an_unknown_status() {
    let app = spawn_app_with(|_| {}).await;
    let user = app.signed_in("plainuser").await.access;
    assert_problem(
        app.get("/api/admin/outbox", &user).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let admin = app.admin_signed_in("boss").await.access;
    let bad = app.get("/api/admin/outbox?status=lost", &admin).await;
    assert_problem(bad, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn the_development_server_without_smtp_prints_the_link_of_each_mail_in_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::process::start_binary_with(dir.path(), "4", &[("LATCHKEY_LOG", "info")]);
    let email = unique_address("devlog");
    let registered = reqwest::Client::new()
        .post(format!("{}/api/auth/register", server.base))
        .json(&json!({"username": "devlog", "password": PASSWORD, "email": email}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut seen = String::new();
    while std::time::Instant::now() < deadline {
        while let Ok(line) = server.log.try_recv() {
            seen.push_str(&line);
            seen.push('\n');
        }
        if seen.contains(&format!("{}/verify?token=", server.base)) {
            assert!(seen.contains("LATCHKEY_SMTP_URL"), "the log says why");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no link in the log:\n{seen}");
}

#[tokio::test]
async fn metrics_count_the_outbox_by_status_and_the_send_outcomes() {
    let smtp = SmtpServer::shared();
    let url = smtp.url();
    let app = spawn_app_with(move |s| {
        s.metrics = true;
        s.smtp_url = Some(latchkey::config::Secret::new(url));
    })
    .await;
    let email = unique_address("counted");
    register_with(&app, "counted", &email).await;
    smtp.wait_for(&email, 1).await;
    for _ in 0..100 {
        let text = app
            .client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains(r#"latchkey_mail_outbox{status="sent"} 1"#) {
            assert!(
                text.contains(r#"latchkey_mail_outbox{status="pending"} 0"#),
                "{text}"
            );
            assert!(
                text.contains(r#"latchkey_mail_sends_total{outcome="sent"} 1"#),
                "{text}"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the sent mail was not counted");
}
