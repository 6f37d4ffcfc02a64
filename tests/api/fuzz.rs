//! A property-based fuzz run of the JSON API: random methods, paths, query strings, headers and
//! bodies (hostile JSON, wrong shapes, raw bytes) against the real server. Whatever comes in, the
//! answer is never a 5xx, and no body names our internals (Diesel, SQLite, a panic, a file path).
//!
//! Bounded: `LATCHKEY_FUZZ_CASES` requests (default 2,000, about three seconds). A failure prints the
//! request, and proptest's seed for it, so it can be replayed.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;
use serde_json::{Map, Value};

use crate::helpers::{PASSWORD, spawn_app_with};

/// What a response body must never contain (lower-cased).
const LEAKS: [&str; 10] = [
    "diesel",
    "sqlite",
    "panicked",
    "backtrace",
    ".rs:",
    "/src/",
    "/tmp/",
    "/home/",
    "/root/",
    "/work/",
];

/// Routes of the API; `{}` is replaced by a path segment.
const ROUTES: [(&str, &str); 20] = [
    ("POST", "/api/auth/register"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/refresh"),
    ("POST", "/api/auth/logout"),
    ("POST", "/api/auth/revoke"),
    ("POST", "/api/me/password"),
    ("GET", "/api/me"),
    ("GET", "/api/me/events"),
    ("GET", "/api/sessions"),
    ("DELETE", "/api/sessions"),
    ("DELETE", "/api/sessions/{}"),
    ("GET", "/api/admin/users"),
    ("GET", "/api/admin/sessions"),
    ("GET", "/api/admin/events"),
    ("GET", "/api/admin/throttles"),
    ("DELETE", "/api/admin/throttles/{}"),
    ("DELETE", "/api/admin/sessions/{}"),
    ("DELETE", "/api/admin/users/{}/sessions"),
    ("POST", "/api/admin/users/{}/disable"),
    ("POST", "/auth/refresh"),
];

const FIELDS: [&str; 16] = [
    "username",
    "password",
    "refresh_token",
    "set_cookie",
    "current_password",
    "new_password",
    "page",
    "per_page",
    "user",
    "user_id",
    "event",
    "since",
    "id",
    "role",
    "__proto__",
    "",
];

fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[a-zA-Z0-9 _.@-]{0,40}",
        1 => Just(PASSWORD.to_owned()),
        1 => Just("alice".to_owned()),
        1 => Just("x".repeat(300)),
        1 => Just("\u{1F600}".repeat(200)),
        1 => Just("' OR 1=1; DROP TABLE users; --".to_owned()),
        1 => Just("\0\r\n\u{202E}\u{FEFF}".to_owned()),
        1 => Just("../../../../etc/passwd".to_owned()),
        1 => Just("9999999999999999999999".to_owned()),
        1 => Just("-1".to_owned()),
        1 => Just("login_failed".to_owned()),
        1 => Just("2026-11-01T00:00:00Z".to_owned()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        nasty_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((field(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(FIELDS.to_vec()).prop_map(str::to_owned),
        1 => nasty_string(),
    ]
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    /// A JSON object with the fields our endpoints read, holding anything.
    Shaped(Vec<(String, Value)>),
    Raw(Vec<u8>),
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        1 => Just(Body::None),
        2 => json_value().prop_map(Body::Json),
        4 => prop::collection::vec((field(), json_value()), 0..5).prop_map(Body::Shaped),
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Body::Raw),
    ]
}

/// Who the request claims to be.
#[derive(Debug, Clone, Copy)]
enum Caller {
    Nobody,
    User,
    Admin,
    Garbage,
}

#[derive(Debug, Clone)]
struct Case {
    route: usize,
    other_method: Option<&'static str>,
    segment: String,
    query: Vec<(String, String)>,
    content_type: Option<&'static str>,
    caller: Caller,
    garbage_auth: String,
    body: Body,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0..ROUTES.len(),
        prop::option::weighted(
            0.1,
            prop::sample::select(vec!["PUT", "PATCH", "GET", "OPTIONS"]),
        ),
        nasty_string(),
        prop::collection::vec((field(), nasty_string()), 0..4),
        prop::option::weighted(
            0.85,
            prop::sample::select(vec![
                "application/json",
                "text/plain",
                "application/x-www-form-urlencoded",
                "application/json; charset=utf-16",
            ]),
        ),
        prop_oneof![
            Just(Caller::Nobody),
            Just(Caller::User),
            Just(Caller::Admin),
            Just(Caller::Garbage),
        ],
        "[ -~]{0,80}",
        body(),
    )
        .prop_map(
            |(route, other_method, segment, query, content_type, caller, garbage_auth, body)| {
                Case {
                    route,
                    other_method,
                    segment,
                    query,
                    content_type,
                    caller,
                    garbage_auth,
                    body,
                }
            },
        )
}

/// Percent-encodes everything but unreserved characters, so any string is a valid path segment.
fn encode_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn random_requests_never_get_a_5xx_or_a_body_that_names_our_internals() {
    let cases: u32 = std::env::var("LATCHKEY_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let app = spawn_app_with(|s| s.rate_limit = false).await;
    let (mut user, mut admin) = (None, None);
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    let strategy = case();
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();

    for round in 0..cases {
        // Fresh accounts now and then: the fuzz signs out, revokes and disables what it holds.
        if round % 50 == 0 {
            user = Some(app.signed_in(&format!("fuzz-user-{round}")).await);
            admin = Some(app.admin_signed_in(&format!("fuzz-admin-{round}")).await);
        }
        let (user, admin) = (user.as_ref().unwrap(), admin.as_ref().unwrap());
        let case = strategy.new_tree(&mut runner).unwrap().current();
        let (method, template) = ROUTES[case.route];
        let method = case.other_method.unwrap_or(method);
        let path = template.replace("{}", &encode_segment(&case.segment));
        let query = serde_urlencoded::to_string(&case.query).unwrap();
        let mut request = app.client.request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            app.url(&format!("{path}?{query}")),
        );
        request = match case.caller {
            Caller::Nobody => request,
            Caller::User => request.bearer_auth(&user.access),
            Caller::Admin => request.bearer_auth(&admin.access),
            Caller::Garbage => request.header("authorization", case.garbage_auth.as_str()),
        };
        if let Some(content_type) = case.content_type {
            request = request.header("content-type", content_type);
        }
        if path == "/auth/refresh" {
            request = request.header("x-latchkey-refresh", "1");
        }
        request = match &case.body {
            Body::None => request,
            Body::Json(value) => request.body(serde_json::to_vec(value).unwrap()),
            Body::Shaped(pairs) => request
                .body(serde_json::to_vec(&pairs.iter().cloned().collect::<Map<_, _>>()).unwrap()),
            Body::Raw(bytes) => request.body(bytes.clone()),
        };

        let response = request.send().await.unwrap();
        let status = response.status();
        *statuses.entry(status.as_u16()).or_default() += 1;
        let text = response.text().await.unwrap_or_default();
        assert!(
            !status.is_server_error(),
            "{status} for {method} {path}: {case:?}\n{text}"
        );
        let lower = text.to_lowercase();
        if let Some(leak) = LEAKS.iter().find(|leak| lower.contains(*leak)) {
            panic!("body names {leak:?} for {method} {path}: {case:?}\n{text}");
        }
    }

    println!("fuzz: {cases} requests, statuses {statuses:?}");
    // The server is still whole: a new account registers, signs in and refreshes.
    let fresh = app.signed_in("after-the-fuzz").await;
    app.refresh_ok(&fresh.refresh).await;
}
