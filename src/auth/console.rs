//! What the admin console does to accounts beyond the basics: create an account for someone
//! (who then chooses their password through a one-time link), look one up by id.

use super::AuthService;
use super::access::Admin;
use super::error::AuthError;
use super::sessions::ClientInfo;
use super::types::{Account, Role, UserId};
use crate::db;

impl AuthService {
    /// An admin creates an account for someone else: its password is random and never shown;
    /// the admin gets a one-time link for the person to choose theirs (and an address, if
    /// given, gets its confirmation link). Recorded with the admin as actor.
    pub fn create_user_by_admin(
        &self,
        admin: &Admin,
        username: &str,
        email: Option<&str>,
        role: Role,
        client: &ClientInfo,
    ) -> Result<(Account, String), AuthError> {
        let password = super::random_token()?;
        let email = email.map(str::trim).filter(|e| !e.is_empty());
        let created =
            self.create_user_as(admin.actor_id(), username, &password, email, role, client)?;
        let link = self.reset_link_by_admin(admin, &created.account.id, client)?;
        Ok((created.account, link))
    }

    /// The account with this id, for an admin.
    pub fn account(&self, _: &Admin, user_id: &UserId) -> Result<Account, AuthError> {
        db::users::find_by_id(&mut *self.db.conn()?, user_id.as_str())?
            .map(|user| Account::from(&user))
            .ok_or(AuthError::UserNotFound)
    }
}
