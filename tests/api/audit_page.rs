//! The audit page reads like a story: who acted, as its own column, and the routine renewals
//! out of the way unless asked for, while replays and failures always show.

use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app};

/// The rows of the admin's audit page at `query`, each as its HTML.
async fn rows(admin: &crate::browser::Browser, query: &str) -> Vec<String> {
    let page = admin.get(&format!("/admin/events?{query}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    html.split("<tr data-event=\"")
        .skip(1)
        .map(|row| row.split("</tr>").next().unwrap().to_owned())
        .collect()
}

fn of<'a>(rows: &'a [String], event: &str) -> Vec<&'a String> {
    rows.iter()
        .filter(|row| row.starts_with(&format!("{event}\"")))
        .collect()
}

async fn admin_browser(app: &TestApp) -> crate::browser::Browser {
    app.admin_signed_in("root").await;
    let browser = app.browser();
    browser.sign_in("root").await;
    browser
}

#[tokio::test]
async fn the_audit_page_names_the_admin_who_acted_in_a_column_of_its_own() {
    let app = spawn_app().await;
    let alice = app.signed_in("alice").await;
    let alice_id = app.me(&alice.access).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let root = app.admin_signed_in("boss").await;
    let disabled = app
        .client
        .post(app.url(&format!("/api/admin/users/{alice_id}/disable")))
        .bearer_auth(&root.access)
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), StatusCode::OK);

    let admin = admin_browser(&app).await;
    let listed = rows(&admin, "").await;
    let disable = of(&listed, "user_disabled");
    assert_eq!(disable.len(), 1, "{listed:?}");
    let cells: Vec<&str> = disable[0].split("<td").collect();
    // When, What, User, By, ...
    assert!(cells[3].contains(">alice</a>"), "{}", disable[0]);
    assert!(cells[4].contains(">boss</a>"), "{}", disable[0]);
    // Alice's own sign-in was nobody else's doing.
    let sign_in = of(&listed, "login_succeeded");
    assert!(
        sign_in
            .iter()
            .any(|row| row.contains(">alice</a>") && row.contains("–"))
    );
}

#[tokio::test]
async fn routine_renewals_are_left_out_until_asked_for_and_replays_always_show() {
    let app = spawn_app().await;
    let first = app.signed_in("alice").await;
    let second = app.refresh_ok(&first.refresh).await;
    app.refresh_ok(&second.refresh).await;
    // The first token again, two generations old: a replay.
    assert_eq!(
        app.refresh(&first.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let admin = admin_browser(&app).await;

    let default = rows(&admin, "").await;
    assert!(
        of(&default, "refreshed")
            .iter()
            .all(|row| !row.contains("Session renewed")),
        "{default:?}"
    );
    assert_eq!(of(&default, "refresh_reuse_detected").len(), 1);

    let shown = rows(&admin, "routine=show").await;
    let renewals = of(&shown, "refreshed");
    assert_eq!(
        renewals
            .iter()
            .filter(|row| row.contains("Session renewed"))
            .count(),
        2
    );
    let asked = rows(&admin, "event=refreshed").await;
    assert!(
        !of(&asked, "refreshed").is_empty(),
        "asking for renewals shows them"
    );

    let without_sign_ins = rows(&admin, "exclude=login_succeeded").await;
    assert!(of(&without_sign_ins, "login_succeeded").is_empty());
    assert!(!of(&without_sign_ins, "registered").is_empty());
}
