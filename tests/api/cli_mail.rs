//! `latchkey user reset-link`, `latchkey mail list` and `latchkey mail test`, as real processes.

use reqwest::StatusCode;
use serde_json::json;

use crate::cli::{cli_command, run, text};
use crate::helpers::PASSWORD;
use crate::mailbox::{SmtpServer, unique_address};
use crate::recovery::{NEW_PASSWORD, app_mailing_to, confirm};

#[tokio::test]
async fn reset_link_prints_a_one_time_link_and_a_newer_one_voids_it() {
    let app = crate::helpers::spawn_app().await;
    app.register("nomail", PASSWORD).await;
    let link = |app| {
        let mut command = cli_command(app, &["user", "reset-link", "nomail"]);
        command.env("LATCHKEY_PUBLIC_URL", &app.address);
        let output = run(command, None);
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert!(text(&output.stderr).contains("works once"));
        text(&output.stdout).trim().to_owned()
    };
    let first = link(&app);
    let second = link(&app);
    assert!(
        second.starts_with(&format!("{}/reset?token=", app.address)),
        "{second}"
    );
    let page = app.client.get(&second).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let token = |link: &str| link.split("token=").nth(1).unwrap().to_owned();
    let stale = confirm(&app, &token(&first), NEW_PASSWORD).await;
    assert_eq!(stale.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        confirm(&app, &token(&second), NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.login("nomail", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );

    let unknown = run(cli_command(&app, &["user", "reset-link", "nobody"]), None);
    assert!(!unknown.status.success());
}

#[tokio::test]
async fn mail_test_sends_through_the_smtp_server_and_prints_its_answer() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let to = unique_address("operator");
    let mut command = cli_command(&app, &["mail", "test", &to]);
    command.env("LATCHKEY_SMTP_URL", smtp.url());
    let output = run(command, None);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let said = text(&output.stdout);
    assert!(said.contains("250") && said.contains("queued"), "{said}");
    assert!(smtp.nth(&to, 1).await.text.contains("Mail delivery works"));

    let refused_to = unique_address("refuse-operator");
    let mut command = cli_command(&app, &["mail", "test", &refused_to]);
    command.env("LATCHKEY_SMTP_URL", smtp.url());
    let refused = run(command, None);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("550"),
        "{}",
        text(&refused.stderr)
    );

    let unset = run(cli_command(&app, &["mail", "test", &to]), None);
    assert!(text(&unset.stderr).contains("LATCHKEY_SMTP_URL"));
}

#[tokio::test]
async fn mail_list_shows_each_mail_with_its_status_and_never_its_link() {
    let smtp = SmtpServer::shared();
    let app = app_mailing_to(&smtp).await;
    let email = unique_address("listed");
    app.post_json(
        "/api/auth/register",
        &json!({"username": "listed", "password": PASSWORD, "email": email}),
    )
    .await;
    smtp.wait_for(&email, 1).await;
    for _ in 0..100 {
        let output = run(
            cli_command(&app, &["mail", "list", "--status", "sent"]),
            None,
        );
        let listed = text(&output.stdout);
        assert!(!listed.contains("token="));
        if listed.contains(&email) {
            assert!(
                listed.contains("email_verification") && listed.contains("1 mail"),
                "{listed}"
            );
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the sent mail was not listed");
}
