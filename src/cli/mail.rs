//! `latchkey mail ...` and `latchkey user reset-link`: the outbox and SMTP from the command line.

use super::{CliError, MailCommand};
use crate::auth::AuthService;
use crate::auth::sessions::ClientInfo;
use crate::config::Settings;
use crate::routes::api::rfc3339;
use crate::startup::StartupError;
use crate::wording::count;

const LIST_LIMIT: i64 = 200;

/// `latchkey user reset-link NAME`: prints a one-time link (nothing is mailed).
pub fn reset_link(auth: &AuthService, username: &str, cli: &ClientInfo) -> Result<(), CliError> {
    let operator = auth.operator_at_command_line();
    let link = auth.reset_link_by_admin(&operator, &auth.user_id_by_name(username)?, cli)?;
    let minutes = auth.config().mail.reset_ttl_seconds / 60;
    println!("{link}");
    eprintln!(
        "a one-time link to set a new password for {username}: it works once, for {}, \
         and stops working when the password changes",
        count(minutes as u64, "minute")
    );
    Ok(())
}

pub fn mail(auth: &AuthService, settings: &Settings, command: MailCommand) -> Result<(), CliError> {
    match command {
        MailCommand::List { status } => {
            let operator = auth.operator_at_command_line();
            let page = auth.outbox(&operator, status.map(|s| s.as_str()), LIST_LIMIT, 0)?;
            println!(
                "{:>6}  {:<18} {:<32} {:<8} {:>8}  {:<21} last error",
                "id", "kind", "to", "status", "attempts", "created"
            );
            for mail in &page.items {
                println!(
                    "{:>6}  {:<18} {:<32} {:<8} {:>8}  {:<21} {}",
                    mail.id,
                    mail.kind,
                    mail.recipient,
                    mail.status,
                    mail.attempts,
                    rfc3339(mail.created_at),
                    mail.last_error.as_deref().unwrap_or("")
                );
            }
            println!("{}", count(page.total as u64, "mail"));
            Ok(())
        }
        MailCommand::Test { address } => {
            let Some(target) = settings.smtp_target().map_err(StartupError::from)? else {
                return Err(CliError::Usage(
                    "LATCHKEY_SMTP_URL is not set: there is no SMTP server to test".into(),
                ));
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| CliError::Usage(format!("cannot start the mail client: {e}")))?;
            let reply = runtime
                .block_on(crate::mail::send_test_mail(
                    &target,
                    &settings.mail_from,
                    &address,
                ))
                .map_err(CliError::Usage)?;
            println!(
                "{} accepted the test mail to {address}: {reply}",
                target.describe()
            );
            Ok(())
        }
    }
}
