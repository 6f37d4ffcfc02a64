//! The operator's commands (everything but `serve`), run on a blocking thread.

use std::io::{IsTerminal, Read};
use std::path::Path;

use zeroize::Zeroizing;

use super::{AddUser, CliError, Command, ConfigCommand, KeysCommand, SessionsCommand, UserCommand};
use crate::auth::accounts::Change;
use crate::auth::sessions::ClientInfo;
use crate::auth::types::{Role, SessionId};
use crate::auth::{AuthService, Clock};
use crate::config::Settings;
use crate::db::{Backend, Db, redacted, sqlite_path, transfer};
use crate::routes::api::rfc3339;
use crate::startup::{StartupError, build_auth_service};
use crate::wording::count;

/// Every listing prints at most this many rows.
const LIST_LIMIT: i64 = 10_000;

pub fn run_command(settings: Settings, command: Command) -> Result<(), CliError> {
    match command {
        Command::Config(ConfigCommand::Check) => return config_check(&settings),
        Command::Config(ConfigCommand::Table) => {
            print!("{}", crate::config::markdown_table());
            return Ok(());
        }
        Command::Openapi => {
            println!(
                "{}",
                crate::routes::api::docs::openapi_json(settings.password_min_length)
            );
            return Ok(());
        }
        Command::Migrate => return migrate(&settings),
        Command::MigrateData { from, to } => return migrate_data(&from, &to),
        Command::Health => return health(&settings),
        _ => {}
    }
    let auth = build_auth_service(&settings, Clock::system())?;
    let cli = ClientInfo::command_line();
    match command {
        Command::User(command) => user(&auth, command, &cli),
        Command::Sessions(command) => sessions(&auth, command, &cli),
        Command::Keys(command) => keys(&auth, command),
        Command::Mail(command) => super::mail::mail(&auth, &settings, command),
        Command::Backup { path } => {
            auth.db().backup_to(&path).map_err(StartupError::from)?;
            println!(
                "wrote a consistent copy of the database to {}",
                path.display()
            );
            Ok(())
        }
        Command::Prune => {
            let pruned = auth.prune()?;
            println!(
                "deleted {} ended sessions, {} stale throttles, {} old audit events, {} expired \
                 links, {} old mails",
                pruned.sessions, pruned.throttles, pruned.events, pruned.links, pruned.mails
            );
            Ok(())
        }
        Command::Serve
        | Command::Config(_)
        | Command::Openapi
        | Command::Migrate
        | Command::MigrateData { .. }
        | Command::Health => unreachable!("handled above"),
    }
}

fn user(auth: &AuthService, command: UserCommand, cli: &ClientInfo) -> Result<(), CliError> {
    let operator = auth.operator_at_command_line();
    match command {
        UserCommand::Add(add) => add_user(auth, &add, cli),
        UserCommand::ResetLink { username } => super::mail::reset_link(auth, &username, cli),
        UserCommand::ResetFactors { username } => {
            let id = auth.user_id_by_name(&username)?;
            let reset = auth.reset_factors(&operator, &id, cli)?;
            let removed = match (reset.had_totp, reset.passkeys) {
                (false, 0) => "no second factor was set up".to_owned(),
                (totp, passkeys) => format!(
                    "removed {}{} and the recovery codes",
                    if totp { "the authenticator app, " } else { "" },
                    count(passkeys as u64, "passkey")
                ),
            };
            println!(
                "{username}: {removed}; {} ended",
                count(reset.sessions_ended as u64, "session")
            );
            Ok(())
        }
        UserCommand::SetPassword {
            username,
            password_stdin,
        } => {
            let password = new_password(&username, password_stdin)?;
            let ended = auth.set_password_by_admin(&operator, &username, &password, cli)?;
            println!(
                "set the password of {username}; {} ended",
                count(ended as u64, "session")
            );
            Ok(())
        }
        UserCommand::SetRole {
            username,
            role,
            force,
        } => {
            let role = Role::from(role);
            match auth.set_role(&operator, &username, role, force, cli)? {
                Change::Done(user) => println!("{} is now {}", user.username, user.role.as_str()),
                Change::Already => println!("{username} already has the {} role", role.as_str()),
            }
            Ok(())
        }
        UserCommand::Disable { username, force } => {
            let id = auth.user_id_by_name(&username)?;
            match auth.disable_user(&operator, &id, force, cli)? {
                Change::Done(revoked) => {
                    println!(
                        "{username} is disabled; {} ended",
                        count(revoked as u64, "session")
                    )
                }
                Change::Already => println!("{username} was already disabled; nothing changed"),
            }
            Ok(())
        }
        UserCommand::Enable { username } => {
            match auth.enable_user(&operator, &auth.user_id_by_name(&username)?, cli)? {
                Change::Done(()) => println!("{username} is enabled"),
                Change::Already => println!("{username} was already enabled; nothing changed"),
            }
            Ok(())
        }
        UserCommand::Delete {
            username, force, ..
        } => {
            auth.delete_user(&operator, &auth.user_id_by_name(&username)?, force, cli)?;
            println!("{username} is deleted, with every session");
            Ok(())
        }
        UserCommand::List => {
            let page = auth.list_users(&operator, None, LIST_LIMIT, 0)?;
            println!(
                "{:<36}  {:<24} {:<6} {:<21} {:>5}  disabled",
                "id", "username", "role", "created", "live"
            );
            for summary in page.items {
                let user = summary.user;
                println!(
                    "{:<36}  {:<24} {:<6} {:<21} {:>5}  {}",
                    user.id,
                    user.username,
                    user.role,
                    rfc3339(user.created_at),
                    summary.live_sessions,
                    if user.disabled_at.is_some() {
                        "yes"
                    } else {
                        ""
                    }
                );
            }
            println!("{}", count(page.total, "user"));
            Ok(())
        }
    }
}

fn sessions(
    auth: &AuthService,
    command: SessionsCommand,
    cli: &ClientInfo,
) -> Result<(), CliError> {
    let operator = auth.operator_at_command_line();
    match command {
        SessionsCommand::List { user } => {
            let user_id = user.map(|name| auth.user_id_by_name(&name)).transpose()?;
            let page = auth.list_live_sessions(&operator, user_id.as_ref(), LIST_LIMIT, 0)?;
            println!(
                "{:<36}  {:<20} {:<21} {:<21} {:<15} device",
                "session", "user", "signed in", "last used", "ip"
            );
            for (session, username) in page.items {
                println!(
                    "{:<36}  {:<20} {:<21} {:<21} {:<15} {}",
                    session.id,
                    username,
                    rfc3339(session.created_at),
                    rfc3339(session.last_used_at),
                    session.ip.as_deref().unwrap_or("-"),
                    session.user_agent.as_deref().unwrap_or("-")
                );
            }
            println!("{}", count(page.total, "live session"));
            Ok(())
        }
        SessionsCommand::Revoke { id: Some(id), .. } => {
            auth.admin_revoke_session(&operator, &SessionId::from(id.as_str()), cli)?;
            println!("session {id} ended");
            Ok(())
        }
        SessionsCommand::Revoke {
            user: Some(user), ..
        } => {
            let user_id = auth.user_id_by_name(&user)?;
            let revoked = auth.admin_revoke_user_sessions(&operator, &user_id, cli)?;
            println!("{} of {user} ended", count(revoked as u64, "session"));
            Ok(())
        }
        SessionsCommand::Revoke { .. } => Err(CliError::Usage(
            "name a session id, or a user with --user".into(),
        )),
    }
}

fn keys(auth: &AuthService, command: KeysCommand) -> Result<(), CliError> {
    match command {
        KeysCommand::Rotate => {
            let kid = auth.rotate_keys()?;
            let seconds = auth.config().key_publish_seconds;
            println!(
                "new key {kid}: every running instance publishes it in its JWKS within about \
                 1 s; it signs new tokens from {} (in {seconds} s), once verifiers' cached \
                 copies of the JWKS (LATCHKEY_JWKS_MAX_AGE) have expired",
                rfc3339(auth.clock().now() + seconds)
            );
        }
        KeysCommand::Retire { kid } => {
            auth.retire_key(&kid)?;
            println!(
                "retired {kid}: within about 1 s every running instance drops it from its JWKS \
                 and refuses the tokens it signed"
            );
        }
        KeysCommand::List => {
            println!("{:<45} {:<22} {:<22} signing", "kid", "created", "retired");
            for key in auth.list_keys()? {
                println!(
                    "{:<45} {:<22} {:<22} {}",
                    key.kid,
                    rfc3339(key.created_at),
                    key.retired_at.map(rfc3339).unwrap_or_else(|| "-".into()),
                    if key.signing { "yes" } else { "" }
                );
            }
        }
    }
    Ok(())
}

/// `GET /readyz` over plain HTTP/1.0 on the configured address (a wildcard address is asked on
/// loopback).
fn health(settings: &Settings) -> Result<(), CliError> {
    use std::io::Write;
    use std::net::{SocketAddr, TcpStream};
    use std::time::Duration;

    let mut addr: SocketAddr = settings
        .addr
        .parse()
        .map_err(|_| CliError::Usage(format!("LATCHKEY_ADDR {} is not ip:port", settings.addr)))?;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let timeout = Duration::from_secs(3);
    let unhealthy = |reason: String| CliError::Usage(format!("not ready: {reason}"));
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| unhealthy(e.to_string()))?;
    stream.set_read_timeout(Some(timeout)).ok();
    stream
        .write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .map_err(|e| unhealthy(e.to_string()))?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| unhealthy(e.to_string()))?;
    let status = answer.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) == Some("200") {
        println!("ready");
        Ok(())
    } else {
        Err(unhealthy(status.to_owned()))
    }
}

fn migrate(settings: &Settings) -> Result<(), CliError> {
    let db = Db::connect(&settings.database_url, 1).map_err(StartupError::from)?;
    let applied = db.migrate().map_err(StartupError::from)?;
    println!(
        "applied {}; the database schema is current",
        count(applied as u64, "migration")
    );
    Ok(())
}

fn migrate_data(from: &str, to: &str) -> Result<(), CliError> {
    if Backend::of(from) != Backend::Sqlite || !Path::new(&sqlite_path(from)).is_file() {
        return Err(CliError::Usage(format!(
            "--from must be an existing SQLite database file; {from} is not one"
        )));
    }
    if Backend::of(to) != Backend::Postgres {
        return Err(CliError::Usage(
            "--to must be a PostgreSQL URL (postgres://user@host/database)".into(),
        ));
    }
    let source = Db::open(from, 1).map_err(StartupError::from)?;
    let target = Db::open(to, 1).map_err(StartupError::from)?;
    let copied = transfer::copy_all(
        &mut *source.conn().map_err(StartupError::from)?,
        &mut *target.conn().map_err(StartupError::from)?,
    )
    .map_err(StartupError::from)?;
    println!(
        "copied {} users, {} sessions, {} refresh tokens, {} signing keys, {} throttles, {} \
         audit events, {} one-time links and {} mails to {}",
        copied.of("users"),
        copied.of("sessions"),
        copied.of("refresh_tokens"),
        copied.of("signing_keys"),
        copied.of("sign_in_throttles"),
        copied.of("auth_events"),
        copied.of("one_time_tokens"),
        copied.of("mail_outbox"),
        redacted(to)
    );
    println!(
        "point LATCHKEY_DATABASE_URL at it and start the server with the same LATCHKEY_SECRET"
    );
    Ok(())
}

fn add_user(auth: &AuthService, add: &AddUser, cli: &ClientInfo) -> Result<(), CliError> {
    let password = new_password(&add.username, add.password_stdin)?;
    let role = if add.admin { Role::Admin } else { Role::User };
    let user = auth
        .create_user(&add.username, &password, add.email.as_deref(), role, cli)?
        .account;
    println!(
        "created {} ({}) with id {}",
        user.username,
        user.role.as_str(),
        user.id
    );
    Ok(())
}

/// A new password for `username`: asked for twice without echo on a terminal, else (or with
/// `--password-stdin`) one line of standard input.
fn new_password(username: &str, from_stdin: bool) -> Result<Zeroizing<String>, CliError> {
    if !from_stdin && std::io::stdin().is_terminal() {
        let ask = |prompt: String| {
            rpassword::prompt_password(prompt)
                .map(Zeroizing::new)
                .map_err(|e| CliError::Usage(format!("cannot read the password: {e}")))
        };
        let first = ask(format!("New password for {username}: "))?;
        let again = ask("The same password again: ".to_owned())?;
        if first != again {
            return Err(CliError::Usage(
                "the two passwords differ; nothing was changed".into(),
            ));
        }
        return Ok(first);
    }
    let mut input = Zeroizing::new(String::new());
    std::io::stdin().read_to_string(&mut input).map_err(|e| {
        CliError::Usage(format!("cannot read the password from standard input: {e}"))
    })?;
    let line = input.strip_suffix('\n').unwrap_or(&input);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.contains('\n') {
        return Err(CliError::Usage(
            "the password on standard input must be one line".into(),
        ));
    }
    Ok(Zeroizing::new(line.to_owned()))
}

fn config_check(settings: &Settings) -> Result<(), CliError> {
    for (name, value) in settings.describe() {
        println!("{name:<32} {value}");
    }
    settings.check().map_err(StartupError::from)?;
    println!("configuration is valid");
    Ok(())
}
