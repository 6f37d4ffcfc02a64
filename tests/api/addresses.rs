//! Addresses, URLs and cookies a client or another site controls (review items 11, 12, 14, 15
//! and 16).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::{cookie_value, location};
use crate::helpers::{PASSWORD, TestApp, spawn_app, spawn_app_with};

/// A login from behind the trusted proxy 127.0.0.1 with this `X-Forwarded-For`.
async fn login_forwarded_for(app: &TestApp, forwarded: &str) -> StatusCode {
    app.client
        .post(app.url("/api/auth/login"))
        .header("X-Forwarded-For", forwarded)
        .json(&json!({ "username": "nobody-here", "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .status()
}

async fn behind_a_proxy_with_three_logins_a_minute() -> TestApp {
    spawn_app_with(|s| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.rate_limit_login = 3;
    })
    .await
}

#[tokio::test]
async fn forwarded_entries_with_ports_still_name_the_client_so_spoofed_entries_do_not_escape_the_limit()
 {
    for real_client in ["9.9.9.8:5555", "[2001:db8::1]:443"] {
        let app = behind_a_proxy_with_three_logins_a_minute().await;
        let mut statuses = Vec::new();
        for attempt in 0..6 {
            // The client writes whatever it likes on the left; the proxy appends its address.
            let forwarded = format!("10.0.{attempt}.1, {real_client}");
            statuses.push(login_forwarded_for(&app, &forwarded).await);
        }
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
                .count(),
            3,
            "{real_client}: {statuses:?}"
        );
    }
}

#[tokio::test]
async fn an_entry_that_is_not_an_address_ends_the_trusted_chain() {
    let app = behind_a_proxy_with_three_logins_a_minute().await;
    let mut statuses = Vec::new();
    for attempt in 0..6 {
        let forwarded = format!("10.0.{attempt}.1, unknown");
        statuses.push(login_forwarded_for(&app, &forwarded).await);
    }
    assert_eq!(
        statuses[3..],
        [StatusCode::TOO_MANY_REQUESTS; 3],
        "{statuses:?}"
    );
}

#[tokio::test]
async fn every_address_of_one_ipv6_64_shares_one_rate_limit_bucket() {
    let app = behind_a_proxy_with_three_logins_a_minute().await;
    let mut statuses = Vec::new();
    for host in 1..=6 {
        statuses.push(login_forwarded_for(&app, &format!("2001:db8:7:9::{host:x}")).await);
    }
    assert_eq!(
        statuses[3..],
        [StatusCode::TOO_MANY_REQUESTS; 3],
        "{statuses:?}"
    );
    // Another /64 has its own.
    assert_eq!(
        login_forwarded_for(&app, "2001:db8:7:a::1").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_id_in_a_page_address_can_never_point_a_button_at_another_action() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    let victim = app.signed_in("alice").await;
    let victim_id = app.me(&victim.access).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let browser = app.browser();
    browser.sign_in("root").await;

    let hostile = format!("/admin/sessions?user_id=..%2Fusers%2F{victim_id}%2Fdisable%3F");
    let response = browser.get(&hostile).await;
    let status = response.status();
    let html = response.text().await.unwrap();
    assert!(
        !html.contains(&format!("/users/{victim_id}/disable")),
        "{html}"
    );
    assert!(!html.contains("/disable?"), "{html}");
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A real id still gets its button, posting where it says.
    let filtered = browser
        .page(&format!("/admin/sessions?user_id={victim_id}"))
        .await;
    assert!(filtered.contains(&format!(
        r#"action="/admin/users/{victim_id}/revoke-sessions""#
    )));
    drop(admin);
}

#[tokio::test]
async fn the_cookie_refresh_refuses_an_origin_with_another_scheme_or_port() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    browser.sign_in("alice").await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    let other_port = format!("http://127.0.0.1:{}", port.parse::<u16>().unwrap() + 1);
    for origin in [
        format!("https://127.0.0.1:{port}"),
        other_port,
        "http://127.0.0.1".to_owned(),
        "null".to_owned(),
    ] {
        let refused = browser
            .fetch_post("/auth/refresh", true, Some(&origin))
            .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{origin}");
    }
    let same = browser
        .fetch_post("/auth/refresh", true, Some(&app.address))
        .await;
    assert_eq!(same.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_planted_refresh_cookie_with_a_narrower_path_does_not_win() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    app.register("mallory", PASSWORD).await;
    // The attacker's own session, as a cookie another site on this host planted with
    // Path=/auth: browsers send it before the victim's Path=/ cookie of the same name.
    let planted = app.login_ok("mallory").await.refresh;
    let browser = app.browser();
    let signed_in = browser.sign_in("alice").await;
    let page = cookie_value(&signed_in, "latchkey_session").unwrap();
    let own = cookie_value(&signed_in, "latchkey_refresh").unwrap();

    let response = app
        .client
        .post(app.url("/auth/refresh"))
        .header("X-Latchkey-Refresh", "1")
        .header(
            "Cookie",
            format!("latchkey_refresh={planted}; latchkey_session={page}; latchkey_refresh={own}"),
        )
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let me = app.me(body["access_token"].as_str().unwrap()).await;
    assert_eq!(
        me["username"], "alice",
        "the page session's own token was used"
    );
    // The planted token was not touched: its owner can still use it once.
    app.refresh_ok(&planted).await;
}

#[tokio::test]
async fn without_a_page_session_two_refresh_cookies_are_refused() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let first = app.login_ok("alice").await.refresh;
    let second = app.login_ok("alice").await.refresh;
    let response = app
        .client
        .post(app.url("/auth/refresh"))
        .header("X-Latchkey-Refresh", "1")
        .header(
            "Cookie",
            format!("latchkey_refresh={first}; latchkey_refresh={second}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Neither was used.
    app.refresh_ok(&first).await;
    app.refresh_ok(&second).await;
}

#[tokio::test]
async fn a_get_on_a_form_only_page_path_is_sent_to_a_page() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    browser.sign_in("alice").await;
    for (path, goes_to) in [
        ("/logout", "/"),
        ("/sessions/revoke-others", "/sessions"),
        (
            "/sessions/1b4e28ba-2fa1-4d2b-883f-0016d3cca427/revoke",
            "/sessions",
        ),
        (
            "/admin/users/1b4e28ba-2fa1-4d2b-883f-0016d3cca427/disable",
            "/admin/users",
        ),
    ] {
        let response = browser.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&response), goes_to, "{path}");
    }
    let put = browser
        .client
        .put(browser.url("/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(put.headers()["allow"], "GET, POST");
    assert!(put.text().await.unwrap().contains("<html"), "an HTML page");
}
