//! Changing the address of a signed-in account: the current password first (throttled like a
//! sign-in; with a second factor, also a fresh session), then a link to the new address. A verified address stays the account's until the
//! new one is proved (whoever typed a wrong address keeps a working one); the old address is
//! told when the change takes effect (`verify_email`).

use super::AuthService;
use super::access::Caller;
use super::audit::{AuditEvent, EventKind};
use super::email::parse_email;
use super::error::{AuthError, FieldError};
use super::input::normalise_password;
use super::sessions::ClientInfo;
use crate::db;

impl AuthService {
    /// Mails a confirmation link to `new_email`; returns the address as it will be shown.
    pub fn change_email(
        &self,
        caller: &Caller,
        new_email: &str,
        current_password: &str,
        device_token: Option<&str>,
        client: &ClientInfo,
    ) -> Result<String, AuthError> {
        self.step_up_for_credential_change(caller)?;
        let email = parse_email(new_email, "email").map_err(|e| AuthError::Invalid(vec![e]))?;
        let user = caller.user_row();
        if user.email_key.as_deref() == Some(email.key.as_str()) {
            return Err(AuthError::Invalid(vec![FieldError::new(
                "email",
                "That is already your confirmed address.",
            )]));
        }
        let session = caller.session().id.as_str();
        let event = |outcome| {
            AuditEvent::new(EventKind::EmailChanged, outcome)
                .user(&user.id)
                .session(session)
        };
        let password = normalise_password(current_password);
        let (checked, counter) =
            self.check_current_password(caller, &password, device_token, event, client)?;
        let now = self.clock.now();
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            // The password checked above (slowly) must still be the account's.
            let current = db::users::find_by_id_locked(conn, &user.id)?
                .filter(|now| now.password_hash == user.password_hash)
                .ok_or(AuthError::SessionEnded)?;
            if checked.earlier_failures {
                self.clear_counter(conn, &counter)?;
            }
            if current.email_key.is_none() {
                // Nothing verified to keep: the new address is the one waiting for its link.
                db::users::set_unverified_email(conn, &user.id, &email.display, now)?;
            }
            self.send_verification_in(conn, &current, &email, now)
        })?;
        self.ring_postbox();
        Ok(email.display)
    }
}
