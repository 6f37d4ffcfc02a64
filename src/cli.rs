//! The command line: `latchkey` (= `latchkey serve`) and the operator's commands.

use std::io::Read;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::auth::sessions::{ClientInfo, ROLE_ADMIN, ROLE_USER};
use crate::auth::{AuthError, AuthService, Clock};
use crate::config::Settings;
use crate::startup::{Application, StartupError, build_auth_service};
use crate::telemetry;

#[derive(Debug, Parser)]
#[command(
    name = "latchkey",
    version,
    about = "A self-hosted authentication server",
    long_about = "A self-hosted authentication server: a JSON API, EdDSA JWT access tokens, \
                  rotating refresh tokens and session management on an embedded SQLite database.\n\n\
                  Settings come from LATCHKEY_* environment variables or latchkey.toml; see the README.",
    after_help = "Examples:\n  latchkey                          serve on 127.0.0.1:8080\n  \
                  echo \"$PW\" | latchkey user add alice --admin --password-stdin\n  \
                  latchkey keys rotate"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Delete sessions and refresh tokens that ended more than 7 days ago (the server also does
    /// this every LATCHKEY_PRUNE_INTERVAL).
    Prune,
    /// Show the effective configuration (secrets redacted) and check it.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input, never from the command line.
    #[command(
        after_help = "Example:\n  printf '%s' \"$PASSWORD\" | latchkey user add alice --admin --password-stdin"
    )]
    Add(AddUser),
    /// Disable a user: every session ends and sign-ins are refused until enabled.
    Disable { username: String },
    /// Enable a disabled user again.
    Enable { username: String },
    /// Give a user the admin or user role.
    SetRole {
        username: String,
        #[arg(value_enum)]
        role: Role,
    },
}

#[derive(Debug, Args)]
pub struct AddUser {
    pub username: String,
    /// Give the user the admin role.
    #[arg(long)]
    pub admin: bool,
    /// Read the password from standard input (one line).
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Role {
    Admin,
    User,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Admin => ROLE_ADMIN,
            Role::User => ROLE_USER,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key; new tokens are signed with it (by a running server within
    /// LATCHKEY_KEY_RELOAD_INTERVAL), tokens signed by older keys stay valid until they expire.
    Rotate,
    /// List signing keys.
    List,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting with its effective value and report problems.
    Check,
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("{}", describe_auth_error(.0))]
    Auth(#[from] AuthError),
    #[error("{0}")]
    Usage(String),
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

fn describe_auth_error(error: &AuthError) -> String {
    match error {
        AuthError::Invalid(errors) => errors
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

pub async fn run(cli: Cli) -> ExitCode {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("latchkey: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log, settings.log_json);
    for name in crate::config::unknown_env_vars() {
        tracing::warn!("{name} is not a Latchkey setting and is ignored; see the README's list");
    }
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        command => {
            // Operator commands block (bcrypt, SQLite): keep them off the async runtime.
            tokio::task::spawn_blocking(move || run_command(settings, command))
                .await
                .unwrap_or_else(|e| Err(CliError::Usage(format!("command panicked: {e}"))))
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("latchkey: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> Result<(), CliError> {
    let addr = settings.addr.clone();
    let app = Application::build(settings)?;
    tracing::info!("latchkey listening on http://{addr} (port {})", app.port());
    app.run_until_stopped().await?;
    Ok(())
}

fn run_command(settings: Settings, command: Command) -> Result<(), CliError> {
    if let Command::Config(ConfigCommand::Check) = command {
        return config_check(&settings);
    }
    let auth = build_auth_service(&settings, Clock::system())?;
    match command {
        Command::User(UserCommand::Add(add)) => add_user(&auth, &add),
        Command::User(UserCommand::SetRole { username, role }) => {
            let user = auth.set_role(&username, role.as_str())?;
            println!("{} is now {}", user.username, user.role);
            Ok(())
        }
        Command::User(UserCommand::Disable { username }) => {
            let user_id = auth.user_id_by_name(&username)?;
            let revoked = auth.disable_user(&user_id, None, &ClientInfo::command_line())?;
            println!("{username} is disabled; {revoked} session(s) ended");
            Ok(())
        }
        Command::User(UserCommand::Enable { username }) => {
            let user_id = auth.user_id_by_name(&username)?;
            auth.enable_user(&user_id, None, &ClientInfo::command_line())?;
            println!("{username} is enabled");
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate) => {
            let kid = auth.rotate_keys()?;
            println!("new signing key {kid}");
            Ok(())
        }
        Command::Keys(KeysCommand::List) => {
            println!("{:<45} {:<22} {:<22} signing", "kid", "created", "retired");
            for key in auth.list_keys()? {
                println!(
                    "{:<45} {:<22} {:<22} {}",
                    key.kid,
                    crate::routes::api::rfc3339(key.created_at),
                    key.retired_at
                        .map(crate::routes::api::rfc3339)
                        .unwrap_or_else(|| "-".into()),
                    if key.signing { "yes" } else { "" }
                );
            }
            Ok(())
        }
        Command::Prune => {
            let pruned = auth.prune()?;
            println!(
                "deleted {} ended sessions, {} stale throttles, {} old audit events",
                pruned.sessions, pruned.throttles, pruned.events
            );
            Ok(())
        }
        Command::Serve | Command::Config(_) => unreachable!("handled above"),
    }
}

fn add_user(auth: &AuthService, add: &AddUser) -> Result<(), CliError> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(|e| {
        CliError::Usage(format!("cannot read the password from standard input: {e}"))
    })?;
    let password = input.strip_suffix('\n').unwrap_or(&input);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.contains('\n') {
        return Err(CliError::Usage(
            "the password on standard input must be one line".into(),
        ));
    }
    let role = if add.admin { ROLE_ADMIN } else { ROLE_USER };
    let user = auth.create_user(&add.username, password, role, &ClientInfo::command_line())?;
    println!(
        "created {} ({}) with id {}",
        user.username, user.role, user.id
    );
    Ok(())
}

fn config_check(settings: &Settings) -> Result<(), CliError> {
    for (name, value) in settings.describe() {
        println!("{name:<32} {value}");
    }
    settings.check().map_err(StartupError::from)?;
    println!("configuration is valid");
    Ok(())
}
