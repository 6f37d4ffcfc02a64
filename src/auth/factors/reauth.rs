//! Re-authentication (step-up): a change that would let a stolen session keep the account (a
//! second factor added or removed, new recovery codes, and for an account with a second factor
//! a new password or address) needs the session to have proved who it
//! is recently, by its sign-in or by a re-authentication. `Fresh` is that proof as a type: only
//! `fresh` makes one, so such an operation cannot forget the check.

use super::super::AuthService;
use super::super::access::Caller;
use super::super::audit::{AuditEvent, EventKind, Outcome};
use super::super::error::{AuthError, FieldError};
use super::super::sessions::ClientInfo;
use super::Proof;
use crate::db;

/// A caller whose session proved who they are within the re-authentication window.
#[derive(Debug, Clone)]
pub struct Fresh {
    caller: Caller,
}

impl Fresh {
    pub fn caller(&self) -> &Caller {
        &self.caller
    }
}

/// What a re-authentication was given: the password for an account without second factors,
/// a second factor for one with.
#[derive(Debug, Clone, Copy)]
pub enum Reauthentication<'a> {
    Password {
        password: &'a str,
        device_token: Option<&'a str>,
    },
    SecondFactor(Proof<'a>),
}

impl AuthService {
    /// The caller as `Fresh` if their session proved who they are within the window.
    pub fn fresh(&self, caller: Caller) -> Result<Fresh, AuthError> {
        let age = self.clock.now() - caller.session().authenticated_at;
        if age <= self.config.reauth_window_seconds {
            Ok(Fresh { caller })
        } else {
            Err(AuthError::ReauthenticationRequired)
        }
    }

    /// What a re-authentication of the caller asks for: a second factor when they have one.
    pub fn reauthentication_needs_second_factor(&self, caller: &Caller) -> Result<bool, AuthError> {
        Ok(self.my_factors(caller)?.any())
    }

    /// What a password or address change needs besides the current password it carries. For an
    /// account without second factors that password is the re-authentication. One with a second
    /// factor also needs the session fresh: a stolen session and a phished password must not be
    /// enough to take the account.
    pub fn step_up_for_credential_change(&self, caller: &Caller) -> Result<(), AuthError> {
        if self.reauthentication_needs_second_factor(caller)? {
            self.fresh(caller.clone())?;
        }
        Ok(())
    }

    /// Proves again who the caller is, which makes the session fresh for the window.
    pub fn reauthenticate(
        &self,
        caller: &Caller,
        proof: Reauthentication<'_>,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let user = caller.user_row();
        let session_id = caller.session().id.as_str();
        let has_factor = self.reauthentication_needs_second_factor(caller)?;
        let event = |outcome| {
            AuditEvent::new(EventKind::Reauthenticated, outcome)
                .user(&user.id)
                .session(session_id)
        };
        let now = self.clock.now();
        match proof {
            Reauthentication::Password { .. } if has_factor => {
                Err(AuthError::Invalid(vec![FieldError::new(
                    "password",
                    "This account has a second factor: confirm with a code from your \
                     authenticator app, or a recovery code.",
                )]))
            }
            Reauthentication::Password {
                password,
                device_token,
            } => {
                self.check_current_password(caller, password, device_token, event, client)?;
                db::write_transaction(&mut *self.db.conn()?, |conn| -> Result<(), AuthError> {
                    db::sessions::set_authenticated(conn, session_id, now)?;
                    Ok(self.audit_in(
                        conn,
                        event(Outcome::Success).detail("password"),
                        client,
                        now,
                    )?)
                })
            }
            Reauthentication::SecondFactor(_) if !has_factor => Err(AuthError::NoSecondFactor),
            Reauthentication::SecondFactor(proof) => {
                let checked = self.check_second_factor(user, proof, client)?;
                db::write_transaction(&mut *self.db.conn()?, |conn| -> Result<(), AuthError> {
                    self.consume_second_factor(conn, user, &checked, client, now)?;
                    db::sessions::set_authenticated(conn, session_id, now)?;
                    let detail = checked.describe();
                    Ok(self.audit_in(conn, event(Outcome::Success).detail(detail), client, now)?)
                })
            }
        }
    }
}
