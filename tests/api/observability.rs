//! Request ids, metrics and structured logs.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, spawn_app, spawn_app_with};
use crate::process::{signal, start_binary_with};

#[tokio::test]
async fn every_response_carries_its_own_request_id() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for path in ["/healthz", "/api/me", "/login", "/no-such-page"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(id.len() >= 16, "{id}");
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
}

#[tokio::test]
async fn metrics_are_off_by_default() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn scrape(url: String) -> String {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_requests_per_route_and_auth_events_and_live_sessions() {
    let app = spawn_app_with(|s| s.metrics = true).await;
    let alice = app.signed_in("alice").await;
    app.login("alice", "not the password, no").await;
    app.refresh_ok(&alice.refresh).await;
    app.client
        .delete(app.url("/api/sessions/some-id"))
        .bearer_auth(&alice.access)
        .send()
        .await
        .unwrap();

    let text = scrape(app.url("/metrics")).await;

    for line in [
        r#"latchkey_http_requests_total{method="POST",route="/api/auth/login",status="200"} 1"#,
        r#"latchkey_http_requests_total{method="POST",route="/api/auth/login",status="401"} 1"#,
        r#"latchkey_http_requests_total{method="DELETE",route="/api/sessions/{id}",status="404"} 1"#,
        r#"latchkey_auth_events_total{event="login_succeeded",outcome="success"} 1"#,
        r#"latchkey_auth_events_total{event="login_failed",outcome="failure"} 1"#,
        r#"latchkey_auth_events_total{event="refreshed",outcome="success"} 1"#,
        r#"latchkey_auth_events_total{event="refresh_reuse_detected",outcome="denied"} 0"#,
        "latchkey_live_sessions 1",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    assert!(text.contains(
        r#"latchkey_http_request_duration_seconds_bucket{le="0.001",method="POST",route="/api/auth/refresh",status="200"}"#
    ) || text.contains(r#"latchkey_http_request_duration_seconds_count{method="POST",route="/api/auth/refresh",status="200"} 1"#), "{text}");
    assert!(!text.contains("some-id"), "raw paths never become labels");
}

#[tokio::test]
async fn metrics_can_live_on_their_own_address() {
    let app = spawn_app_with(|s| {
        s.metrics = true;
        s.metrics_addr = Some("127.0.0.1:0".into());
    })
    .await;
    app.signed_in("alice").await;

    let main = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(main.status(), StatusCode::NOT_FOUND);
    let port = app.metrics_port.expect("a metrics listener");
    let text = scrape(format!("http://127.0.0.1:{port}/metrics")).await;
    assert!(text.contains(r#"latchkey_auth_events_total{event="registered",outcome="success"} 1"#));
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_request_id_and_escaped_client_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_binary_with(
        dir.path(),
        "4",
        &[("LATCHKEY_LOG_FORMAT", "json"), ("LATCHKEY_LOG", "info")],
    );
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/api/auth/login", server.base))
        .header("user-agent", r#"evil" "level":"ERROR"#)
        .json(&json!({ "username": "alice", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let mut audit = None;
    while audit.is_none() {
        let line = server
            .log
            .recv_timeout(Duration::from_secs(10))
            .expect("the audit line is logged");
        let parsed: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if parsed["event"] == "login_failed" {
            audit = Some((parsed, line));
        }
    }
    let (audit, line) = audit.unwrap();
    assert_eq!(audit["level"], "INFO", "{line}");
    assert_eq!(audit["target"], "latchkey::audit");
    assert!(line.contains(&request_id), "{line}");
    assert!(
        audit["user_agent"].as_str().unwrap().contains("evil"),
        "{line}"
    );
    signal(&server, "TERM");
    let _ = server.child.wait();
}
