//! The admin Users page as a small console: find, create (with a one-time link), change role,
//! make a reset link, delete.

use reqwest::StatusCode;

use crate::browser::location;
use crate::helpers::{PASSWORD, spawn_app};
use crate::mailbox::{SmtpServer, unique_address};
use crate::recovery::{NEW_PASSWORD, app_mailing_to, confirm};

fn id_in(html: &str, username: &str) -> String {
    // The row's buttons post to /admin/users/{id}/...: the first action after the name.
    let row = &html[html.find(&format!(">{username}<")).expect("the user's row")..];
    let at = row.find("/admin/users/").unwrap() + "/admin/users/".len();
    row[at..at + 36].to_owned()
}

#[tokio::test]
async fn an_admin_finds_users_by_name_or_address_and_sees_whether_it_is_confirmed() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let email = crate::recovery::verified_user(&app, &smtp, "findme").await;
    app.register("other_one", PASSWORD).await;
    app.admin_signed_in("root").await;
    let admin = app.browser();
    admin.sign_in("root").await;
    let domain_part = &email[email.find('-').unwrap()..];
    let found = admin
        .page(&format!("/admin/users?q={}", domain_part.to_uppercase()))
        .await;
    assert!(
        found.contains("findme") && found.contains("confirmed"),
        "{found}"
    );
    assert!(!found.contains("other_one"));
    let by_name = admin.page("/admin/users?q=OTHER_").await;
    assert!(by_name.contains("other_one") && !by_name.contains("findme"));
    // `%` and `_` are letters here, not wildcards.
    assert!(!admin.page("/admin/users?q=%25").await.contains("findme"));
}

#[tokio::test]
async fn an_admin_creates_an_account_whose_owner_chooses_the_password_through_a_one_time_link() {
    let app = spawn_app().await;
    app.admin_signed_in("root").await;
    let admin = app.browser();
    admin.sign_in("root").await;
    let email = unique_address("newcomer");
    let created = admin
        .submit(
            "/admin/users",
            "/admin/users/new",
            &[("username", "newcomer"), ("email", &email)],
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let html = created.text().await.unwrap();
    let start = html
        .find(&format!("{}/reset?token=", app.address))
        .expect("the link");
    let link = &html[start..start + html[start..].find('"').unwrap()];
    let token = link.split("token=").nth(1).unwrap();
    assert_eq!(
        confirm(&app, token, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.login("newcomer", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );

    let taken = admin
        .submit(
            "/admin/users",
            "/admin/users/new",
            &[("username", "NEWCOMER")],
        )
        .await;
    assert_eq!(location(&taken), "/admin/users");
    assert!(
        admin
            .page("/admin/users")
            .await
            .contains("No account was created")
    );
}

#[tokio::test]
async fn an_admin_changes_a_role_makes_a_reset_link_and_deletes_after_confirming() {
    let app = spawn_app().await;
    app.register("worker", PASSWORD).await;
    app.admin_signed_in("root").await;
    let admin = app.browser();
    admin.sign_in("root").await;
    let id = id_in(&admin.page("/admin/users").await, "worker");

    let promoted = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/role"),
            &[("role", "admin"), ("back", "/admin/users")],
        )
        .await;
    assert_eq!(location(&promoted), "/admin/users");
    assert!(
        admin
            .page("/admin/users")
            .await
            .contains("worker is now admin")
    );
    let tokens = app.login_ok("worker").await;
    assert_eq!(
        app.get("/api/admin/users", &tokens.access).await.status(),
        StatusCode::OK
    );

    let link = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/reset-link"),
            &[],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(link.contains("/reset?token="), "{link}");

    // Delete asks first; only the confirmed form deletes.
    let asked = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/delete"),
            &[("back", "/admin/users")],
        )
        .await;
    assert_eq!(asked.status(), StatusCode::OK);
    assert!(asked.text().await.unwrap().contains("cannot be undone"));
    assert_eq!(app.login("worker", PASSWORD).await.status(), StatusCode::OK);
    let deleted = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/delete"),
            &[("back", "/admin/users"), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(location(&deleted), "/admin/users");
    assert!(
        admin
            .page("/admin/users")
            .await
            .contains("worker is deleted")
    );
    assert_eq!(
        app.login("worker", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
