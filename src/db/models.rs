//! Row types: a `Queryable` struct per table (also `Insertable`, for copying whole rows between
//! databases) and an `Insertable` twin that borrows its fields for new rows.

use diesel::prelude::*;

use super::schema::{
    auth_events, mail_outbox, one_time_tokens, passkeys, recovery_codes, refresh_tokens,
    second_factor_challenges, sessions, sign_in_throttles, signing_keys, totp_factors, users,
    webauthn_ceremonies,
};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct User {
    pub id: String,
    pub username: String,
    pub username_key: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub password_changed_at: i64,
    pub disabled_at: Option<i64>,
    /// Bumped when sign-ins in flight must not become sessions (see the migration).
    pub auth_epoch: i64,
    pub username_skeleton: Option<String>,
    pub email: Option<String>,
    /// The address in lower case (unique).
    pub email_key: Option<String>,
    pub email_verified_at: Option<i64>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub username_key: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub created_at: i64,
    pub updated_at: i64,
    pub password_changed_at: i64,
    pub username_skeleton: &'a str,
    pub email: Option<&'a str>,
    pub email_key: Option<&'a str>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// RFC 8176 method references, space-separated: how the session signed in.
    pub amr: String,
    /// The sign-in, or the last re-authentication on this session.
    pub authenticated_at: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub user_agent: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub amr: &'a str,
    pub authenticated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct RefreshToken {
    pub id: i64,
    pub session_id: String,
    pub token_hash: Vec<u8>,
    pub parent_id: Option<i64>,
    pub issued_at: i64,
    pub used_at: Option<i64>,
    /// Handed out again to a client retrying after the grace window (see the migration).
    pub retried_at: Option<i64>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshToken<'a> {
    pub session_id: &'a str,
    pub token_hash: &'a [u8],
    pub parent_id: Option<i64>,
    pub issued_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct SigningKey {
    pub kid: String,
    pub generation: i32,
    pub algorithm: String,
    pub public_key: Vec<u8>,
    pub private_key_sealed: Vec<u8>,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct NewSigningKey<'a> {
    pub kid: &'a str,
    pub generation: i32,
    pub algorithm: &'a str,
    pub public_key: &'a [u8],
    pub private_key_sealed: &'a [u8],
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sign_in_throttles, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct SignInThrottle {
    pub throttle_key: String,
    pub scope: String,
    pub user_id: Option<String>,
    pub failures: i32,
    pub locked_until: i64,
    pub last_failure_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_events, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct AuthEventRow {
    pub id: i64,
    pub occurred_at: i64,
    pub event: String,
    pub outcome: String,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub actor_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = auth_events)]
pub struct NewAuthEvent<'a> {
    pub occurred_at: i64,
    pub event: &'a str,
    pub outcome: &'a str,
    pub user_id: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub actor_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub detail: Option<&'a str>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = one_time_tokens, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct OneTimeToken {
    pub token_hash: Vec<u8>,
    pub purpose: String,
    pub user_id: String,
    pub email: Option<String>,
    pub auth_epoch: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = mail_outbox, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct OutboxMail {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub user_id: Option<String>,
    pub subject: String,
    pub body_text: Option<String>,
    pub body_html: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub created_at: i64,
    pub next_attempt_at: i64,
    pub last_attempt_at: Option<i64>,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = mail_outbox)]
pub struct NewOutboxMail<'a> {
    pub kind: &'a str,
    pub recipient: &'a str,
    pub user_id: Option<&'a str>,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
    pub status: &'a str,
    pub attempts: i32,
    pub created_at: i64,
    pub next_attempt_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = totp_factors, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct TotpFactor {
    pub user_id: String,
    pub secret_sealed: Vec<u8>,
    pub created_at: i64,
    /// `None` while the set-up waits for its first code.
    pub confirmed_at: Option<i64>,
    pub last_used_step: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = recovery_codes, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct RecoveryCode {
    pub code_hash: Vec<u8>,
    pub user_id: String,
    pub created_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = second_factor_challenges, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct SecondFactorChallenge {
    pub token_hash: Vec<u8>,
    pub user_id: String,
    pub auth_epoch: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub failures: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = passkeys, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct PasskeyRow {
    pub id: String,
    pub user_id: String,
    pub credential_id: Vec<u8>,
    pub name: String,
    /// webauthn-rs's `Passkey`, as JSON.
    pub passkey: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webauthn_ceremonies, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Ceremony {
    pub id: String,
    pub kind: String,
    pub user_id: Option<String>,
    /// webauthn-rs's ceremony state, as JSON.
    pub state: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}
