//! The command line: `latchkey` (= `latchkey serve`) and the operator's commands.

mod commands;
mod mail;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::auth::AuthError;
use crate::auth::types::Role;
use crate::config::Settings;
use crate::startup::{Application, StartupError};
use crate::telemetry;
use commands::run_command;

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
                  latchkey sessions list --user alice\n  \
                  latchkey backup /var/backups/latchkey-$(date +%F).db\n  \
                  latchkey keys rotate"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Start even though the server secret exists and the SQLite database does not (it is
    /// otherwise refused: it means the data was lost or the path is wrong).
    #[arg(long, global = true)]
    pub new_database: bool,
    /// Once listening, write the bound port (and the metrics port, if any, on a second line)
    /// to this file: how scripts and tests learn the port when `LATCHKEY_ADDR` ends in `:0`.
    #[arg(long, value_name = "PATH")]
    pub port_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// List and end live sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// See the mail outbox, and test the SMTP server.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Write a consistent copy of the live database to PATH (safe while the server runs).
    #[command(after_help = "Example:\n  latchkey backup /var/backups/latchkey-$(date +%F).db")]
    Backup {
        /// Where to write the copy; must not exist yet.
        path: PathBuf,
    },
    /// Apply pending database migrations and exit (the server also applies them at start).
    Migrate,
    /// Copy every user, session, refresh token, key, throttle and audit event from a SQLite
    /// database into an empty PostgreSQL one. Stop the server first; nobody is signed out.
    #[command(
        name = "migrate-data",
        after_help = "Example:\n  latchkey migrate-data --from data/latchkey.db \\\n    --to postgres://latchkey@db.internal/latchkey"
    )]
    MigrateData {
        /// The SQLite database to copy from.
        #[arg(long)]
        from: String,
        /// The PostgreSQL database to copy into (created tables, no rows yet).
        #[arg(long)]
        to: String,
    },
    /// Delete sessions that ended more than 7 days ago, stale throttles and audit events past
    /// LATCHKEY_AUDIT_RETENTION (the server also does this every LATCHKEY_PRUNE_INTERVAL).
    Prune,
    /// Show the effective configuration (secrets redacted) and check it.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the OpenAPI document (the one served at /api/openapi.json).
    Openapi,
    /// Ask the server on LATCHKEY_ADDR whether it is ready (GET /readyz); exit 0 if it is.
    /// For container health checks and scripts: no curl needed.
    Health,
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List live sessions, newest sign-in first.
    List {
        /// Only this user's sessions.
        #[arg(long)]
        user: Option<String>,
    },
    /// End one session by id, or every session of a user with --user.
    #[command(
        after_help = "Examples:\n  latchkey sessions revoke 6f1c0a52-8a3e-4c3b-9d7e-2f5b1c9a0e11\n  \
                            latchkey sessions revoke --user alice"
    )]
    Revoke {
        /// The session id (see `latchkey sessions list`).
        #[arg(required_unless_present = "user", conflicts_with = "user")]
        id: Option<String>,
        /// End every live session of this user instead.
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is asked for (twice, not shown) on a terminal, or read as
    /// one line from standard input; never from the command line.
    #[command(
        after_help = "Examples:\n  latchkey user add alice --admin\n  printf '%s' \"$PASSWORD\" | latchkey user add alice --admin"
    )]
    Add(AddUser),
    /// Set a user's password (for someone who forgot theirs); every session of the user ends.
    /// Asked for on a terminal, or read as one line from standard input.
    SetPassword {
        username: String,
        /// Read the password from standard input even on a terminal.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print a one-time link that lets the user choose a new password (nothing is mailed);
    /// hand it over yourself. It works once, for LATCHKEY_RESET_TTL.
    ResetLink { username: String },
    /// Remove every second factor of a user (authenticator app, recovery codes) who lost them;
    /// every session of the user ends, and the password alone signs in again.
    ResetFactors { username: String },
    /// Disable a user: every session ends and sign-ins are refused until enabled.
    Disable {
        username: String,
        /// Go ahead even if this is the last enabled admin.
        #[arg(long)]
        force: bool,
    },
    /// Enable a disabled user again.
    Enable { username: String },
    /// Give a user the admin or user role.
    SetRole {
        username: String,
        #[arg(value_enum)]
        role: RoleArg,
        /// Go ahead even if this demotes the last enabled admin.
        #[arg(long)]
        force: bool,
    },
    /// List users with their role and live sessions.
    List,
    /// Delete a user with every session (their audit events stay until retention ends).
    Delete {
        username: String,
        /// Confirm: deleting cannot be undone.
        #[arg(long, required = true)]
        yes: bool,
        /// Go ahead even if this is the last enabled admin.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct AddUser {
    pub username: String,
    /// Give the user the admin role.
    #[arg(long)]
    pub admin: bool,
    /// Read the password from standard input (one line) even on a terminal.
    #[arg(long)]
    pub password_stdin: bool,
    /// The user's email address (a verification link is mailed to it).
    #[arg(long)]
    pub email: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// List the outbox, newest first: status, attempts and the last error (never the links).
    List {
        /// Only mails with this status.
        #[arg(long, value_enum)]
        status: Option<MailStatusArg>,
    },
    /// Send a test mail to ADDRESS through LATCHKEY_SMTP_URL now and print the server's answer.
    Test { address: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MailStatusArg {
    Pending,
    Sent,
    Failed,
    Held,
}

impl MailStatusArg {
    pub fn as_str(self) -> &'static str {
        match self {
            MailStatusArg::Pending => "pending",
            MailStatusArg::Sent => "sent",
            MailStatusArg::Failed => "failed",
            MailStatusArg::Held => "held",
        }
    }
}

/// The domain's `Role`, as clap reads it.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    User,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::User => Role::User,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key. It is published in the JWKS at once and signs new tokens after
    /// LATCHKEY_KEY_RELOAD_INTERVAL (when every instance has it); tokens signed by older keys
    /// stay valid until they expire.
    Rotate,
    /// List signing keys.
    List,
    /// Retire an older key: it leaves the JWKS and tokens it signed are refused at once (use it
    /// when a key may have leaked: rotate, then retire the old key; the new one signs at once).
    /// The newest key cannot be retired; rotate first.
    Retire {
        /// A kid is base64url and may start with `-`: taken as the kid, never as an option.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting with its effective value and report problems.
    Check,
    /// Print the settings table (Markdown) with each default, as in the README.
    Table,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
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
        AuthError::LastAdmin => "that is the only enabled admin: nobody could administer the \
                                 server from the pages or the API afterwards; make another user \
                                 an admin first (latchkey user set-role NAME admin), or repeat \
                                 the command with --force"
            .into(),
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
        Ok(settings) => Settings {
            allow_new_database: cli.new_database,
            ..settings
        },
        Err(error) => {
            eprintln!("latchkey: {error}");
            return ExitCode::from(2);
        }
    };
    // The server logs what it does; a command prints its outcome for a person, and its audit
    // lines go to the log only when the person asks for them (LATCHKEY_LOG).
    let serving = matches!(cli.command, None | Some(Command::Serve));
    let default_filter = if serving { "info" } else { "warn" };
    telemetry::init(
        settings.log.as_deref().unwrap_or(default_filter),
        settings.log_format == crate::config::LogFormat::Json,
    );
    for name in crate::config::unknown_env_vars() {
        tracing::warn!("{name} is not a Latchkey setting and is ignored; see the README's list");
    }
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings, cli.port_file).await,
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

async fn serve(settings: Settings, port_file: Option<std::path::PathBuf>) -> Result<(), CliError> {
    let addr = settings.addr.clone();
    let app = Application::build(settings)?;
    let port = app.port();
    tracing::info!(port, "latchkey listening on http://{addr} (port {port})");
    if let Some(path) = port_file {
        write_port_file(&path, port, app.metrics_port())
            .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", path.display())))?;
    }
    app.run_until_stopped().await?;
    Ok(())
}

/// Written whole under another name, then renamed: a reader never sees half a file.
fn write_port_file(
    path: &std::path::Path,
    port: u16,
    metrics_port: Option<u16>,
) -> std::io::Result<()> {
    let mut text = format!("{port}\n");
    if let Some(metrics) = metrics_port {
        text.push_str(&format!("{metrics}\n"));
    }
    let partial = path.with_extension("partial");
    std::fs::write(&partial, text)?;
    std::fs::rename(&partial, path)
}
