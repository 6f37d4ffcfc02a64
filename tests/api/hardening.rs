//! The security-hardening requirements as worded in the tracker: each test is named after the
//! promise it checks (the README maps requirement -> test).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::browser::{cookie_value, csrf_in, set_cookie, set_cookies};
use crate::helpers::{PASSWORD, TestApp, assert_invalid_token, spawn_app, spawn_app_with};

/// Status, body and Set-Cookie lines of a response.
async fn observed(response: Response) -> (StatusCode, Vec<String>, String) {
    let status = response.status();
    let cookies = set_cookies(&response);
    (status, cookies, response.text().await.unwrap())
}

async fn login_with_cookie(app: &TestApp, username: &str, password: &str) -> Response {
    app.post_json(
        "/api/auth/login",
        &json!({"username": username, "password": password, "set_cookie": true}),
    )
    .await
}

#[tokio::test]
async fn unknown_user_wrong_password_and_disabled_user_get_identical_status_body_and_cookies() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    app.register("alice", PASSWORD).await;
    let carol = app.signed_in("carol").await;
    let carol_id = app.me(&carol.access).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let disabled = app
        .client
        .post(app.url(&format!("/api/admin/users/{carol_id}/disable")))
        .bearer_auth(&admin.access)
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), StatusCode::OK);

    let unknown = observed(login_with_cookie(&app, "nobody", PASSWORD).await).await;
    let wrong = observed(login_with_cookie(&app, "alice", "not the right password").await).await;
    let refused = observed(login_with_cookie(&app, "carol", PASSWORD).await).await;

    assert_eq!(unknown.0, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown, wrong);
    assert_eq!(unknown, refused);
}

#[tokio::test]
async fn a_hundred_and_one_bad_attempts_then_the_right_password_get_429_with_retry_after() {
    let app = spawn_app_with(|s| s.rate_limit = false).await;
    app.register("alice", PASSWORD).await;

    for attempt in 1..=101 {
        let status = app.login("alice", "guess guess guess").await.status();
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
            "attempt {attempt}: {status}"
        );
    }
    let response = app.login("alice", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn a_refresh_cookie_planted_before_login_is_replaced() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    // The attacker's own, valid session: the classic fixation plant.
    let attacker = app.signed_in("mallory").await;

    // API login.
    let response = app
        .client
        .post(app.url("/api/auth/login"))
        .header("cookie", format!("latchkey_refresh={}", attacker.refresh))
        .json(&json!({"username": "alice", "password": PASSWORD, "set_cookie": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let issued = cookie_value(&response, "latchkey_refresh").expect("a new refresh cookie");
    assert_ne!(issued, attacker.refresh);

    // Page login, with the plant beside the page-session cookie.
    let login_page = app.client.get(app.url("/login")).send().await.unwrap();
    let page_cookie = set_cookie(&login_page, "latchkey_session")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = csrf_in(&login_page.text().await.unwrap()).unwrap();
    let response = app
        .client
        .post(app.url("/login"))
        .header(
            "cookie",
            format!("{page_cookie}; latchkey_refresh={}", attacker.refresh),
        )
        .form(&[
            ("username", "alice"),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let issued = cookie_value(&response, "latchkey_refresh").expect("a new refresh cookie");
    assert_ne!(issued, attacker.refresh);

    // What the browser now holds renews alice's session, not mallory's.
    let renewed = app
        .client
        .post(app.url("/auth/refresh"))
        .header("cookie", format!("latchkey_refresh={issued}"))
        .header("x-latchkey-refresh", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(renewed.status(), StatusCode::OK);
    let body: Value = renewed.json().await.unwrap();
    let me = app.me(body["access_token"].as_str().unwrap()).await;
    assert_eq!(me["username"], "alice");
}

/// `Max-Age` of the refresh cookie a response sets.
fn max_age(response: &Response) -> i64 {
    let line = set_cookie(response, "latchkey_refresh").expect("refresh cookie");
    line.split("; ")
        .find_map(|part| part.strip_prefix("Max-Age="))
        .expect("Max-Age")
        .parse()
        .unwrap()
}

#[tokio::test]
async fn refreshing_every_idle_minus_one_second_ends_at_the_absolute_limit_and_max_age_never_exceeds_what_is_left()
 {
    let idle = 600;
    let absolute = 3600;
    let app = spawn_app_with(|s| {
        s.idle_ttl = Duration::from_secs(idle);
        s.absolute_ttl = Duration::from_secs(absolute);
    })
    .await;
    app.register("alice", PASSWORD).await;
    let login = login_with_cookie(&app, "alice", PASSWORD).await;
    assert_eq!(max_age(&login), idle as i64);
    let mut cookie = cookie_value(&login, "latchkey_refresh").unwrap();
    let mut elapsed = 0_i64;

    loop {
        app.clock.advance(idle as i64 - 1);
        elapsed += idle as i64 - 1;
        let response = app
            .client
            .post(app.url("/auth/refresh"))
            .header("cookie", format!("latchkey_refresh={cookie}"))
            .header("x-latchkey-refresh", "1")
            .send()
            .await
            .unwrap();
        let left = absolute as i64 - elapsed;
        if left <= 0 {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(max_age(&response), 0, "the cookie is cleared");
            break;
        }
        assert_eq!(response.status(), StatusCode::OK, "at {elapsed}s");
        let age = max_age(&response);
        assert_eq!(age, left.min(idle as i64), "at {elapsed}s");
        cookie = cookie_value(&response, "latchkey_refresh").unwrap();
    }
    assert!(elapsed >= absolute as i64 && elapsed < (absolute + idle) as i64);
}

/// A JWT signed with an Ed25519 key we choose, from header and claims as raw JSON.
fn signed(header: &Value, claims: &Value) -> String {
    let key = ed25519_dalek::SigningKey::from_bytes(&[13u8; 32]);
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let input = format!("{}.{}", encode(header), encode(claims));
    let signature = URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).to_bytes());
    format!("{input}.{signature}")
}

#[tokio::test]
async fn every_forged_jwt_variant_gets_401_with_invalid_token() {
    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;
    let part = |i: usize| -> Value {
        let raw = tokens.access.split('.').nth(i).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(raw).unwrap()).unwrap()
    };
    let (header, claims) = (part(0), part(1));
    let attacker_key = ed25519_dalek::SigningKey::from_bytes(&[13u8; 32]);
    let attacker_jwk = json!({
        "kty": "OKP", "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(attacker_key.verifying_key().to_bytes()),
    });

    let with_header = |name: &str, value: Value| {
        let mut forged = header.clone();
        forged[name] = value;
        signed(&forged, &claims)
    };
    let with_claim = |name: &str, value: Option<Value>| {
        let mut forged = claims.clone();
        match value {
            Some(value) => forged[name] = value,
            None => {
                forged.as_object_mut().unwrap().remove(name);
            }
        }
        // Under our kid, so only the signature or the claim check can refuse it.
        signed(&header, &forged)
    };
    let exp = claims["exp"].as_i64().unwrap();
    let mut variants = vec![
        ("embedded jwk", with_header("jwk", attacker_jwk)),
        (
            "jku",
            with_header("jku", json!("https://attacker.example/jwks")),
        ),
        (
            "x5u",
            with_header("x5u", json!("https://attacker.example/c.pem")),
        ),
        ("unknown kid", with_header("kid", json!("attacker"))),
        ("no kid", with_header("kid", Value::Null)),
        ("typ JWT", with_header("typ", json!("JWT"))),
        ("alg HS256", with_header("alg", json!("HS256"))),
        ("alg none", with_header("alg", json!("none"))),
        (
            "exp as string",
            with_claim("exp", Some(json!(exp.to_string()))),
        ),
        (
            "nbf as string",
            with_claim("nbf", Some(json!(claims["nbf"].to_string()))),
        ),
        (
            "exp in the past",
            with_claim("exp", Some(json!(exp - 3600))),
        ),
        (
            "nbf in the future",
            with_claim("nbf", Some(json!(exp + 3600))),
        ),
        ("other audience", with_claim("aud", Some(json!("billing")))),
        ("other issuer", with_claim("iss", Some(json!("evil")))),
        ("admin role", with_claim("role", Some(json!("admin")))),
    ];
    for claim in ["exp", "nbf", "iat", "iss", "aud", "sub"] {
        variants.push(("missing claim", with_claim(claim, None)));
    }
    // A stripped signature on the real token.
    let mut parts: Vec<&str> = tokens.access.split('.').collect();
    parts[2] = "";
    variants.push(("no signature", parts.join(".")));

    for (name, token) in variants {
        let response = app.get("/api/me", &token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert_invalid_token(&response);
    }
}
