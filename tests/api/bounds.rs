//! Bounded inputs, bounded memory, bounded disk (review items 6 to 10).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::docs::openapi;
use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app, spawn_app_with};

async fn metrics_size(app: &TestApp) -> usize {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap().len()
}

async fn invented_methods(app: &TestApp, range: std::ops::Range<usize>) {
    for index in range {
        let method = Method::from_bytes(format!("INVENTED{index}").as_bytes()).unwrap();
        let response = app
            .client
            .request(method, app.url("/api/me"))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error());
    }
}

#[tokio::test]
async fn a_thousand_invented_methods_do_not_grow_the_metrics() {
    let app = spawn_app_with(|s| s.metrics = true).await;
    invented_methods(&app, 0..10).await;
    // The first scrape is itself counted (a new label set) in the next one.
    metrics_size(&app).await;
    let before = metrics_size(&app).await;

    invented_methods(&app, 10..1000).await;
    let after = metrics_size(&app).await;

    // Counts grow by a few digits; a label per method would add kilobytes per method.
    assert!(
        after < before + 512,
        "/metrics grew from {before} to {after} bytes"
    );
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains(r#"method="other""#));
    assert!(!text.contains("INVENTED"));
}

async fn throttle_rows(app: &TestApp, admin: &str) -> Value {
    let response = app.get("/api/admin/throttles", admin).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap()["items"].clone()
}

#[tokio::test]
async fn a_username_no_account_can_have_is_refused_at_once_and_nothing_is_stored() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    // 15 KB (and 9 KB, over PostgreSQL's index entry limit), and control characters.
    for name in ["x".repeat(15_000), "y".repeat(9_000), "al\nice".into()] {
        for _ in 0..6 {
            let refused = app.login(&name, PASSWORD).await;
            let body = assert_problem(refused, StatusCode::UNAUTHORIZED).await;
            assert_eq!(body["code"], "invalid_credentials");
        }
    }
    assert_eq!(throttle_rows(&app, &admin.access).await, json!([]));
}

#[tokio::test]
async fn the_throttle_list_never_shows_what_was_typed_for_an_unknown_name() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    app.register("alice", PASSWORD).await;
    // People type passwords into the username field.
    for _ in 0..5 {
        app.login("Hunter2-typed-by-mistake", "x").await;
        app.login("alice", "not it").await;
    }

    let rows = throttle_rows(&app, &admin.access).await;

    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
    assert!(
        !rows.to_string().to_lowercase().contains("hunter2"),
        "{rows}"
    );
    let names: Vec<&Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["username"])
        .collect();
    assert!(
        names.contains(&&json!("alice")) && names.contains(&&Value::Null),
        "{rows}"
    );
    let page = admin_page(&app, "/admin/throttles").await;
    assert!(!page.to_lowercase().contains("hunter2"));
}

/// An admin page's HTML, signed in through the pages as `root`.
async fn admin_page(app: &TestApp, path: &str) -> String {
    let browser = app.browser();
    browser.sign_in("root").await;
    browser.page(path).await
}

#[tokio::test]
async fn huge_page_numbers_are_a_400_or_an_empty_page_never_a_500() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    for path in [
        "/api/admin/users",
        "/api/admin/sessions",
        "/api/admin/events",
        "/api/me/events",
    ] {
        let huge = app
            .get(&format!("{path}?page=9223372036854775807"), &admin.access)
            .await;
        assert_problem(huge, StatusCode::BAD_REQUEST).await;
        let past_int32 = app
            .get(&format!("{path}?page=2147483648"), &admin.access)
            .await;
        assert_problem(past_int32, StatusCode::BAD_REQUEST).await;
        let last = app
            .get(
                &format!("{path}?page=2147483647&per_page=200"),
                &admin.access,
            )
            .await;
        assert_eq!(last.status(), StatusCode::OK, "{path}");
        assert_eq!(last.json::<Value>().await.unwrap()["items"], json!([]));
    }
    let browser = app.browser();
    browser.sign_in("root").await;
    for path in ["/admin/users", "/admin/sessions", "/admin/events"] {
        for page in ["9223372036854775807", "-9223372036854775808", "2147483648"] {
            let response = browser.get(&format!("{path}?page={page}")).await;
            assert!(
                response.status() == StatusCode::OK || response.status() == StatusCode::BAD_REQUEST,
                "{path}?page={page}: {}",
                response.status()
            );
        }
    }
}

#[tokio::test]
async fn the_openapi_document_gives_page_numbers_the_range_the_server_takes() {
    let app = spawn_app().await;
    let document = openapi(&app).await;
    let parameters = &document["paths"]["/api/admin/users"]["get"]["parameters"];
    let page = parameters
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "page")
        .unwrap();
    assert_eq!(page["schema"]["format"], "int32", "{page}");
    assert_eq!(page["schema"]["maximum"], i32::MAX, "{page}");
    assert_eq!(page["schema"]["minimum"], 1, "{page}");
}

/// Sends the headers of a JSON request promising 100 bytes, then trickles a byte every 200 ms.
/// Returns what the server answered before closing, or what it had sent after 10 s.
fn trickle_a_body(address: &str) -> String {
    let authority = address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let head = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    for _ in 0..50 {
        if stream.write_all(b" ").is_err() {
            break;
        }
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => answer.extend_from_slice(&buffer[..read]),
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_body_that_trickles_in_is_refused_with_408_and_its_connection_closed() {
    let app = spawn_app_with(|s| s.body_timeout = Duration::from_secs(1)).await;
    let address = app.address.clone();

    let answer = tokio::task::spawn_blocking(move || trickle_a_body(&address))
        .await
        .unwrap();

    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(
        answer.to_lowercase().contains("connection: close"),
        "{answer:?}"
    );
    // A body sent in one go is untouched.
    app.register("alice", PASSWORD).await;
    app.login_ok("alice").await;
}
