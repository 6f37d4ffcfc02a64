//! Usernames people cannot confuse, and a deleted account no username can imitate (review
//! items 17 and 18).

use diesel::prelude::*;
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app};

#[tokio::test]
async fn names_that_only_look_like_a_taken_one_are_taken() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("admin", PASSWORD).await.status(),
        StatusCode::CREATED
    );

    for look_alike in ["\u{0430}dmin", "adm\u{0131}n", "ADMIN", "ａｄｍｉｎ"] {
        let taken = assert_problem(
            app.register(look_alike, PASSWORD).await,
            StatusCode::CONFLICT,
        )
        .await;
        assert_eq!(taken["code"], "username_taken", "{look_alike:?}");
    }
}

#[tokio::test]
async fn invisible_and_direction_characters_are_refused_in_new_names() {
    let app = spawn_app().await;
    for name in [
        "ad\u{200B}min",
        "ad\u{200D}min",
        "\u{FEFF}admin",
        "admin\u{202E}",
        "ad\u{3164}min",
        "\u{3164}\u{3164}\u{3164}",
        "\u{2800}\u{2800}\u{2800}",
    ] {
        let refused = assert_problem(
            app.register(name, PASSWORD).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(refused["errors"][0]["field"], "username", "{name:?}");
    }
}

#[tokio::test]
async fn users_registered_before_the_confusable_rule_keep_their_names() {
    let app = spawn_app().await;
    app.register("admin", PASSWORD).await;
    // An older version let a look-alike in: the same row, but Cyrillic а and no skeleton.
    let auth = app.auth();
    tokio::task::spawn_blocking(move || {
        let mut conn = auth.db().conn().unwrap();
        diesel::sql_query(
            "INSERT INTO users (id, username, username_key, password_hash, role, created_at, \
             updated_at, password_changed_at) SELECT '00000000-0000-4000-8000-000000000001', \
             'аdmin', 'аdmin', password_hash, 'user', created_at + 1, updated_at, \
             password_changed_at FROM users WHERE username = 'admin'",
        )
        .execute(&mut *conn)
        .unwrap();
    })
    .await
    .unwrap();

    // And one registered before skeletons existed, whose skeleton nobody holds.
    let auth = app.auth();
    tokio::task::spawn_blocking(move || {
        let mut conn = auth.db().conn().unwrap();
        diesel::sql_query("UPDATE users SET username_skeleton = NULL WHERE username = 'admin'")
            .execute(&mut *conn)
            .unwrap();
    })
    .await
    .unwrap();

    // The start fills in skeletons in the background, oldest first: admin's again, while the
    // look-alike's stays empty.
    let app = app.restart().await;
    app.login_ok("admin").await;
    app.login_ok("аdmin").await;
    let mut filled = false;
    for _ in 0..50 {
        let auth = app.auth();
        filled = tokio::task::spawn_blocking(move || {
            let mut conn = auth.db().conn().unwrap();
            let row: Count = diesel::sql_query(
                "SELECT COUNT(*) AS n FROM users \
                 WHERE username = 'admin' AND username_skeleton IS NOT NULL",
            )
            .get_result(&mut *conn)
            .unwrap();
            row.n == 1
        })
        .await
        .unwrap();
        if filled {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(filled, "the start did not record admin's skeleton");
    assert_eq!(
        app.register("adm\u{0131}n", PASSWORD).await.status(),
        StatusCode::CONFLICT
    );
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn events_page(app: &TestApp) -> String {
    let browser = app.browser();
    browser.sign_in("root").await;
    browser.page("/admin/events?per_page=200").await
}

#[tokio::test]
async fn a_deleted_account_shows_in_the_audit_log_in_a_way_no_username_can_imitate() {
    let app = spawn_app().await;
    let admin = app.admin_signed_in("root").await;
    app.register("(deleted user)", PASSWORD).await;
    app.login_ok("(deleted user)").await;
    let alice = app.signed_in("alice").await;
    let alice_id = app.me(&alice.access).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let auth = app.auth();
    let cli = latchkey::auth::sessions::ClientInfo::command_line();
    tokio::task::spawn_blocking(move || {
        auth.delete_user(
            &auth.operator_at_command_line(),
            &alice_id.as_str().into(),
            false,
            &cli,
        )
    })
    .await
    .unwrap()
    .unwrap();

    let html = events_page(&app).await;
    let rows: Vec<&str> = html.split("<tr data-event=").skip(1).collect();
    let deleted: Vec<&&str> = rows
        .iter()
        .filter(|r| r.contains("data-deleted-user"))
        .collect();
    let imitation: Vec<&&str> = rows
        .iter()
        .filter(|r| r.contains("(deleted user)"))
        .collect();
    assert!(
        !deleted.is_empty(),
        "alice's events show as a deleted account"
    );
    assert!(
        !imitation.is_empty(),
        "the imitator's events show their name"
    );
    assert!(
        imitation
            .iter()
            .all(|row| !row.contains("data-deleted-user")),
        "a username rendered as a deleted account"
    );
    drop(admin);
}
