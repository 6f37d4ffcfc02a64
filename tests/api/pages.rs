//! The browser pages, driven like a browser without JavaScript: forms, CSRF, redirects, cookies.

use reqwest::StatusCode;

use crate::browser::{cookie_value, location, set_cookie};
use crate::helpers::{PASSWORD, spawn_app};

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_the_username_kept() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();

    let response = browser
        .submit(
            "/login",
            "/login",
            &[("username", "alice"), ("password", "not it at all")],
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let html = response.text().await.unwrap();
    assert!(html.contains("Invalid username or password"));
    assert!(html.contains(r#"value="alice""#));
    assert!(
        !html.contains("not it at all"),
        "the password must not be echoed"
    );
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_get_403() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    browser.csrf("/login").await; // the page session exists, so only the token is wrong

    for token in [None, Some("wrong-token")] {
        let mut fields = vec![("username", "alice"), ("password", PASSWORD)];
        if let Some(token) = token {
            fields.push(("csrf_token", token));
        }
        let status = browser.post_form("/login", &fields).await.status();
        // A missing field is a bad form (400); a wrong token is refused (403).
        assert!(
            status == StatusCode::FORBIDDEN || status == StatusCode::BAD_REQUEST,
            "{status}"
        );
    }
    let wrong = browser
        .post_form(
            "/login",
            &[
                ("username", "alice"),
                ("password", PASSWORD),
                ("csrf_token", ""),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);

    // Signed in, the same holds for every form that changes something.
    browser.sign_in("alice").await;
    for action in ["/logout", "/sessions/revoke-others", "/sessions/x/revoke"] {
        let response = browser.post_form(action, &[("csrf_token", "forged")]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{action}");
    }
    // A cross-site form has no page session at all: the same 403 (or a trip to sign-in).
    let stranger = app.browser();
    let response = stranger
        .post_form(
            "/register",
            &[
                ("username", "bob"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("csrf_token", "x"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn signing_in_sets_the_refresh_cookie_with_exact_attributes_and_renews_the_page_session() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    let before = browser.get("/login").await;
    let anonymous_session = set_cookie(&before, "latchkey_session").unwrap();
    let token = crate::browser::csrf_in(&before.text().await.unwrap()).unwrap();

    let response = browser
        .post_form(
            "/login",
            &[
                ("username", "alice"),
                ("password", PASSWORD),
                ("csrf_token", &token),
                ("next", "/sessions"),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/sessions");
    let refresh = set_cookie(&response, "latchkey_refresh").expect("refresh cookie");
    let attributes: Vec<&str> = refresh.split("; ").skip(1).collect();
    let mut sorted = attributes.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["HttpOnly", "Max-Age=604800", "Path=/", "SameSite=Strict"],
        "{refresh}"
    );
    let page = set_cookie(&response, "latchkey_session").expect("a renewed page session");
    assert_ne!(page, anonymous_session);
    assert!(page.contains("HttpOnly"));
    // The new page session carries a new CSRF token.
    assert_ne!(browser.csrf("/sessions").await, token);
}

#[tokio::test]
async fn next_only_accepts_local_paths() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    for (next, expected) in [
        ("/sessions", "/sessions"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ] {
        let browser = app.browser();
        let response = browser
            .submit(
                "/login",
                "/login",
                &[
                    ("username", "alice"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(location(&response), expected, "next={next}");
    }
}

#[tokio::test]
async fn pages_without_a_live_session_redirect_to_login_with_next() {
    let app = spawn_app().await;
    let browser = app.browser();
    for (path, next) in [
        ("/", "%2F"),
        ("/sessions", "%2Fsessions"),
        ("/admin/sessions", "%2Fadmin%2Fsessions"),
    ] {
        let response = browser.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&response), format!("/login?next={next}"));
    }

    // A session revoked elsewhere ends the page session at the next request.
    app.register("alice", PASSWORD).await;
    browser.sign_in("alice").await;
    browser.page("/").await;
    let api = app.login_ok("alice").await;
    app.delete("/api/sessions", &api.access).await; // signs out all other devices
    let response = browser.get("/sessions").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login?next=%2Fsessions&reason=ended");
    let html = browser.page("/login?next=%2Fsessions&reason=ended").await;
    assert!(html.contains("Your session has ended"));
}

#[tokio::test]
async fn registering_shows_inline_field_errors() {
    let app = spawn_app().await;
    app.register("taken-name", PASSWORD).await;
    let browser = app.browser();
    let cases: [(&str, &str, &str, StatusCode, &str); 4] = [
        (
            "taken-name",
            PASSWORD,
            PASSWORD,
            StatusCode::CONFLICT,
            "That username is taken",
        ),
        (
            "newbie",
            "short",
            "short",
            StatusCode::UNPROCESSABLE_ENTITY,
            "at least 12 characters",
        ),
        (
            "newbie",
            PASSWORD,
            "something else entirely",
            StatusCode::UNPROCESSABLE_ENTITY,
            "The two passwords differ",
        ),
        (
            "newbie",
            &"p".repeat(257),
            &"p".repeat(257),
            StatusCode::UNPROCESSABLE_ENTITY,
            "at most 256 characters",
        ),
    ];
    for (username, password, confirm, status, message) in cases {
        let response = browser
            .submit(
                "/register",
                "/register",
                &[
                    ("username", username),
                    ("password", password),
                    ("password_confirm", confirm),
                ],
            )
            .await;
        assert_eq!(response.status(), status, "{message}");
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{message}: {html}");
        assert!(html.contains(&format!(r#"value="{username}""#)));
    }
}

#[tokio::test]
async fn registering_signs_the_person_in() {
    let app = spawn_app().await;
    let browser = app.browser();

    let response = browser.register("newbie").await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    assert!(set_cookie(&response, "latchkey_refresh").is_some());
    let html = browser.page("/").await;
    assert!(html.contains("newbie"));
}

#[tokio::test]
async fn the_sessions_page_lists_devices_and_revokes_them() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let laptop = app.browser();
    laptop.sign_in("alice").await;
    let phone = app.browser_as("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1");
    phone.sign_in("alice").await;
    let tablet = app.browser();
    tablet.sign_in("alice").await;

    let html = laptop.page("/sessions").await;
    assert!(html.contains("Firefox on Linux"));
    assert!(html.contains("Safari on iOS"));
    assert!(html.contains("This device"));
    assert!(html.contains("127.0.0.1"));
    assert!(html.contains("just now"));

    // Revoke the phone's session from the laptop.
    let phone_session = app.auth();
    let sessions = tokio::task::spawn_blocking(move || {
        let users = phone_session
            .list_live_sessions(&phone_session.operator_at_command_line(), None, 10, 0)
            .unwrap();
        users
            .items
            .into_iter()
            .find(|(s, _)| s.user_agent.as_deref().unwrap_or("").contains("iPhone"))
            .unwrap()
            .0
            .id
    })
    .await
    .unwrap();
    let response = laptop
        .submit(
            "/sessions",
            &format!("/sessions/{sessions}/revoke"),
            &[("confirmed", "yes")],
        )
        .await;
    assert_eq!(location(&response), "/sessions");
    assert!(laptop.page("/sessions").await.contains("Session revoked."));
    assert_eq!(phone.get("/").await.status(), StatusCode::SEE_OTHER);

    // And every other device.
    let response = laptop
        .submit(
            "/sessions",
            "/sessions/revoke-others",
            &[("confirmed", "yes")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        laptop
            .page("/sessions")
            .await
            .contains("Signed out 1 other device.")
    );
    assert_eq!(tablet.get("/").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(laptop.get("/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn admin_pages_are_for_admins_only() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    app.admin_signed_in("root").await;
    let user = app.browser();
    user.sign_in("alice").await;
    let admin = app.browser();
    admin.sign_in("root").await;

    for path in ["/admin/sessions", "/admin/users"] {
        let response = user.get(path).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("for administrators")
        );
    }

    let html = admin.page("/admin/sessions").await;
    assert!(html.contains("alice") && html.contains("root"));
    let users = admin.page("/admin/users").await;
    assert!(users.contains("alice") && users.contains("admin"));

    let alice_id = app.login_ok("alice").await; // a third session, to be revoked by the admin
    let me = app.me(&alice_id.access).await;
    let response = admin
        .submit(
            "/admin/sessions",
            &format!(
                "/admin/users/{}/revoke-sessions",
                me["id"].as_str().unwrap()
            ),
            &[("back", "/admin/users"), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(location(&response), "/admin/users");
    assert!(
        admin
            .page("/admin/users")
            .await
            .contains("Revoked 2 sessions.")
    );
    assert_eq!(user.get("/").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn logout_revokes_and_clears_both_cookies() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    let signed_in = browser.sign_in("alice").await;
    let refresh_value = cookie_value(&signed_in, "latchkey_refresh").unwrap();

    let response = browser.submit("/", "/logout", &[]).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login?reason=signed_out");
    assert!(
        set_cookie(&response, "latchkey_refresh")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert!(
        set_cookie(&response, "latchkey_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert!(
        browser
            .page("/login?reason=signed_out")
            .await
            .contains("You have been signed out")
    );
    // The old refresh cookie, replayed, is refused.
    let replay = app.refresh(&refresh_value).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_pages_get_an_html_404_and_unknown_api_paths_a_problem() {
    let app = spawn_app().await;
    let browser = app.browser();

    let page = browser.get("/no-such-page").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().await.unwrap().contains("Page not found"));

    let api = browser.get("/api/no-such-thing").await;
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert_eq!(api.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn pages_send_the_content_security_policy_and_assets_are_served() {
    let app = spawn_app().await;
    let browser = app.browser();
    let response = browser.get("/login").await;
    assert_eq!(
        response.headers()["content-security-policy"],
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'"
    );
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    // No HSTS over plain HTTP (it would be ignored, and it is a promise we cannot keep).
    assert!(
        response
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
    let html = response.text().await.unwrap();
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "no inline script or style"
    );

    let css = browser.get("/static/app.css").await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let js = browser.get("/static/latchkey.js").await;
    assert!(js.text().await.unwrap().contains("latchkey"));
}

#[tokio::test]
async fn a_restart_keeps_people_signed_in_on_their_pages() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    browser.sign_in("alice").await;

    let app = app.restart().await;
    let browser = crate::browser::Browser {
        client: browser.client,
        ..app.browser()
    };

    assert!(browser.page("/").await.contains("alice"));
}

#[tokio::test]
async fn signing_in_again_in_one_browser_replaces_its_session() {
    let app = spawn_app().await;
    app.register("alice", PASSWORD).await;
    let browser = app.browser();
    browser.sign_in("alice").await;

    // Signed in, /login redirects; a second sign-in posted anyway replaces the first session.
    assert_eq!(browser.get("/login").await.status(), StatusCode::SEE_OTHER);
    let response = browser
        .submit(
            "/sessions",
            "/login",
            &[("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let html = browser.page("/sessions").await;
    assert_eq!(html.matches("data-session-id=").count(), 1, "{html}");
}
