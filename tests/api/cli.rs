//! The operator's command line, run as a real process against a test server's database.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TEST_SECRET, TestApp, assert_problem, spawn_app, spawn_app_with};

pub fn latchkey(app: &TestApp, args: &[&str], stdin: Option<&str>) -> Output {
    run(cli_command(app, args), stdin)
}

/// The binary with this app's database and settings, logging only warnings.
pub fn cli_command(app: &TestApp, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .args(args)
        .current_dir(app.dir.path())
        .env("LATCHKEY_DATABASE_URL", &app.settings.database_url)
        .env("LATCHKEY_SECRET", TEST_SECRET)
        .env("LATCHKEY_BCRYPT_COST", "4")
        .env("LATCHKEY_LOG", "warn")
        // Key timing settings are shared by every instance and the command line.
        .env(
            "LATCHKEY_KEY_RELOAD_INTERVAL",
            format!("{}s", app.settings.key_reload_interval.as_secs()),
        )
        .env(
            "LATCHKEY_JWKS_MAX_AGE",
            format!("{}s", app.settings.jwks_max_age.as_secs()),
        );
    command
}

pub fn run(mut command: Command, stdin: Option<&str>) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the latchkey binary runs");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn user_add_creates_an_admin_who_can_use_admin_routes() {
    let app = spawn_app().await;

    let output = latchkey(
        &app,
        &["user", "add", "root", "--admin", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );

    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("root (admin)"));
    let tokens = app.login_ok("root").await;
    assert_eq!(
        app.get("/api/admin/users", &tokens.access).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn user_add_refuses_weak_passwords_and_an_empty_pipe() {
    let app = spawn_app().await;

    let weak = latchkey(
        &app,
        &["user", "add", "root", "--password-stdin"],
        Some("short\n"),
    );
    assert!(!weak.status.success());
    assert!(
        text(&weak.stderr).contains("at least 12 characters"),
        "{}",
        text(&weak.stderr)
    );

    // Nothing on the pipe is an empty password, refused like any short one.
    let empty = latchkey(&app, &["user", "add", "root"], None);
    assert!(!empty.status.success());
    assert!(text(&empty.stderr).contains("at least 12 characters"));
}

#[tokio::test]
async fn set_role_promotes_and_demotes() {
    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;
    assert_problem(
        app.get("/api/admin/users", &tokens.access).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    let promoted = latchkey(&app, &["user", "set-role", "ALICE", "admin"], None);
    assert!(promoted.status.success(), "{}", text(&promoted.stderr));
    assert_eq!(
        app.get("/api/admin/users", &tokens.access).await.status(),
        StatusCode::OK
    );

    // Alice is the only admin: demoting her would leave nobody to administer the server.
    let refused = latchkey(&app, &["user", "set-role", "alice", "user"], None);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("--force"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(
        app.get("/api/admin/users", &tokens.access).await.status(),
        StatusCode::OK
    );

    let demoted = latchkey(
        &app,
        &["user", "set-role", "alice", "user", "--force"],
        None,
    );
    assert!(demoted.status.success(), "{}", text(&demoted.stderr));
    assert_problem(
        app.get("/api/admin/users", &tokens.access).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    let unknown = latchkey(&app, &["user", "set-role", "nobody", "admin"], None);
    assert!(!unknown.status.success());
}

#[tokio::test]
async fn keys_rotate_is_picked_up_by_a_running_server() {
    let app = spawn_app_with(|s| s.key_reload_interval = Duration::from_secs(1)).await;
    let before = app.signed_in("alice").await;

    let output = latchkey(&app, &["keys", "rotate"], None);
    assert!(output.status.success(), "{}", text(&output.stderr));
    // "new key KID: published in the JWKS now; ..."
    let printed = text(&output.stdout);
    let new_kid = printed
        .split_whitespace()
        .nth(2)
        .unwrap()
        .trim_end_matches(':')
        .to_owned();
    assert!(printed.contains("publishes"), "{printed}");

    let mut published = false;
    for _ in 0..50 {
        let jwks = app.jwks().await;
        if jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == new_kid.as_str())
        {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "the running server never published {new_kid}");
    app.me(&before.access).await;

    let listed = latchkey(&app, &["keys", "list"], None);
    assert!(text(&listed.stdout).contains(&new_kid));
}

#[tokio::test]
async fn prune_and_config_check_run() {
    let app = spawn_app().await;
    let prune = latchkey(&app, &["prune"], None);
    assert!(prune.status.success(), "{}", text(&prune.stderr));
    assert!(text(&prune.stdout).contains("deleted 0"));

    let check = latchkey(&app, &["config", "check"], None);
    assert!(check.status.success());
    let shown = text(&check.stdout);
    assert!(shown.contains("LATCHKEY_ACCESS_TTL"));
    assert!(
        !shown.contains(TEST_SECRET),
        "config check printed the secret"
    );
}

#[tokio::test]
async fn config_check_prints_every_setting_of_the_one_list() {
    let app = spawn_app().await;
    let table = text(&latchkey(&app, &["config", "table"], None).stdout);
    let check = text(&latchkey(&app, &["config", "check"], None).stdout);
    let mut settings = 0;
    for row in table.lines().skip(2) {
        let name = row.split('`').nth(1).unwrap();
        assert!(
            check
                .lines()
                .any(|line| line.split_whitespace().next() == Some(name)),
            "config check does not print {name}:\n{check}"
        );
        settings += 1;
    }
    assert!(settings >= 30, "only {settings} settings in the table");
}

#[tokio::test]
async fn commands_print_their_outcome_and_log_only_when_asked() {
    let app = spawn_app().await;
    let mut quiet = cli_command(&app, &["user", "add", "bob", "--password-stdin"]);
    quiet.env_remove("LATCHKEY_LOG");
    let added = run(quiet, Some(PASSWORD));
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert!(text(&added.stdout).contains("created bob"));
    assert_eq!(text(&added.stderr), "", "a command logged by default");

    let mut asked = cli_command(&app, &["user", "add", "carol", "--password-stdin"]);
    asked.env("LATCHKEY_LOG", "info");
    let logged = run(asked, Some(PASSWORD));
    assert!(text(&logged.stderr).contains("auth event"));
}

#[tokio::test]
async fn a_bad_setting_stops_the_binary_with_a_message_naming_it() {
    let app = spawn_app().await;
    let output = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["config", "check"])
        .current_dir(app.dir.path())
        .env("LATCHKEY_ACCESS_TTL", "forever")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("LATCHKEY_ACCESS_TTL"));
}

#[tokio::test]
async fn user_disable_and_enable_work_from_the_command_line() {
    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;

    let disabled = latchkey(&app, &["user", "disable", "Alice"], None);
    assert!(disabled.status.success(), "{}", text(&disabled.stderr));
    assert!(text(&disabled.stdout).contains("1 session ended"));
    assert_problem(app.refresh(&tokens.refresh).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        app.login("alice", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let enabled = latchkey(&app, &["user", "enable", "alice"], None);
    assert!(enabled.status.success());
    app.login_ok("alice").await;
}

#[tokio::test]
async fn an_operator_sets_a_forgotten_password_and_every_session_ends() {
    let app = spawn_app().await;
    let tokens = app.signed_in("alice").await;
    let new = "a fresh start for alice 2027";

    let set = latchkey(&app, &["user", "set-password", "alice"], Some(new));
    assert!(set.status.success(), "{}", text(&set.stderr));
    assert!(
        text(&set.stdout).contains("1 session ended"),
        "{}",
        text(&set.stdout)
    );
    assert_problem(app.refresh(&tokens.refresh).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        app.login("alice", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.login("alice", new).await.status(), StatusCode::OK);

    // The rules of a new password hold here too, and an unknown name says so.
    let weak = latchkey(&app, &["user", "set-password", "alice"], Some("short"));
    assert!(!weak.status.success());
    let nobody = latchkey(&app, &["user", "set-password", "nobody"], Some(new));
    assert!(!nobody.status.success());
    // user add reads one line from a pipe without --password-stdin too.
    let added = latchkey(&app, &["user", "add", "bob"], Some(PASSWORD));
    assert!(added.status.success(), "{}", text(&added.stderr));
    app.login_ok("bob").await;
}

/// `user add` on a terminal: asked twice, not from the command line. util-linux `script` gives
/// the command a pseudo-terminal (util-linux, on every Debian machine).
#[tokio::test]
async fn on_a_terminal_the_password_is_asked_twice_and_must_match() {
    let app = spawn_app().await;
    let on_a_terminal = |name: &str, typed: &str| {
        let line = format!("{} user add {name}", env!("CARGO_BIN_EXE_latchkey"));
        let settings = cli_command(&app, &[]);
        let mut script = Command::new("script");
        script
            .args(["-qec", &line, "/dev/null"])
            .current_dir(app.dir.path())
            .envs(
                settings
                    .get_envs()
                    .filter_map(|(key, value)| Some((key, value?))),
            );
        run(script, Some(typed))
    };
    let new = "a fresh start for dana 2027";
    let added = on_a_terminal("dana", &format!("{new}\n{new}\n"));
    let said = text(&added.stdout);
    assert!(said.contains("New password for dana:"), "{said}");
    assert!(said.contains("created dana"), "{said}");
    assert_eq!(app.login("dana", new).await.status(), StatusCode::OK);

    let differ = on_a_terminal("eve", &format!("{new}\nsomething else entirely\n"));
    assert!(!differ.status.success());
    assert!(
        text(&differ.stdout).contains("differ"),
        "{}",
        text(&differ.stdout)
    );
}
