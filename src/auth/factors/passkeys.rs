//! Passkeys (WebAuthn, webauthn-rs): registered from a fresh session, used to sign in without a
//! password (a discoverable credential, which counts as two factors: the device and its PIN or
//! biometric), or as the second step after a password. Ceremony state lives in the database
//! for a few minutes and is claimed once, so any instance finishes what another began.

use webauthn_rs::Webauthn;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, WebauthnBuilder,
};

use super::super::access::Caller;
use super::super::audit::{AuditEvent, EventKind, Outcome};
use super::super::error::{AuthError, FieldError};
use super::super::sessions::ClientInfo;
use super::super::{AuthService, IssuedTokens, devices};
use super::{Fresh, SignInMethod};
use crate::db::models::{Ceremony, PasskeyRow, User};
use crate::db::{self, Conn, DbError};

const CEREMONY_TTL_SECONDS: i64 = 5 * 60;
pub const MAX_PASSKEYS: i64 = 10;
const MAX_NAME_CHARS: usize = 64;

/// A passkey as its owner sees it.
#[derive(Debug, Clone)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl From<&PasskeyRow> for PasskeyView {
    fn from(row: &PasskeyRow) -> PasskeyView {
        PasskeyView {
            id: row.id.clone(),
            name: row.name.clone(),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// What a finished registration gives back: the passkey, and recovery codes when the account
/// had none (shown once).
#[derive(Debug, Clone)]
pub struct RegisteredPasskey {
    pub passkey: PasskeyView,
    pub recovery_codes: Option<Vec<String>>,
}

/// A passkey sign-in under way, as the browser needs it: the `publicKey` request options for
/// `navigator.credentials.get` and the id to finish it with.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PasskeySignInOptions {
    pub challenge_id: String,
    #[serde(rename = "publicKey")]
    pub public_key: serde_json::Value,
}

/// WebAuthn for an origin, if its host is a name (WebAuthn refuses IP addresses).
pub fn relying_party(origin: &str) -> Option<Webauthn> {
    let url = Url::parse(origin).ok()?;
    let host = url.domain()?.to_owned();
    WebauthnBuilder::new(&host, &url)
        .ok()?
        .rp_name("Latchkey")
        .build()
        .ok()
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, AuthError> {
    serde_json::to_string(value).map_err(|e| AuthError::Internal(format!("passkey state: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, AuthError> {
    serde_json::from_str(text).map_err(|e| AuthError::Internal(format!("passkey state: {e}")))
}

/// The name a person gave, tidied; refused when empty, too long or with control characters.
fn check_name(name: &str) -> Result<String, AuthError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(AuthError::Invalid(vec![FieldError::new(
            "name",
            "Give the passkey a name of 1 to 64 characters, such as \"Work laptop\".",
        )]));
    }
    Ok(name.to_owned())
}

impl AuthService {
    /// Whether passkeys work on this server (its origin has a host name).
    pub fn passkeys_available(&self) -> bool {
        self.relying_party.is_some()
    }

    fn webauthn(&self) -> Result<&Webauthn, AuthError> {
        self.relying_party
            .as_ref()
            .ok_or(AuthError::PasskeysUnavailable)
    }

    fn new_ceremony(
        &self,
        kind: &str,
        user_id: Option<&str>,
        state: String,
    ) -> Result<Ceremony, AuthError> {
        let now = self.clock.now();
        Ok(Ceremony {
            id: super::super::random_uuid()?,
            kind: kind.to_owned(),
            user_id: user_id.map(str::to_owned),
            state,
            created_at: now,
            expires_at: now + CEREMONY_TTL_SECONDS,
            used_at: None,
        })
    }

    /// Starts registering a passkey: the creation options for `navigator.credentials.create`.
    /// It asks for a discoverable credential with user verification, so the passkey can sign
    /// in on its own.
    pub fn begin_passkey_registration(
        &self,
        fresh: &Fresh,
    ) -> Result<serde_json::Value, AuthError> {
        let webauthn = self.webauthn()?;
        let user = fresh.caller().user_row();
        let existing = db::passkeys::of_user(&mut *self.db.conn()?, &user.id)?;
        if existing.len() as i64 >= MAX_PASSKEYS {
            return Err(AuthError::Invalid(vec![FieldError::new(
                "name",
                "You have 10 passkeys already; remove one first.",
            )]));
        }
        let exclude = existing
            .iter()
            .map(|row| row.credential_id.clone())
            .collect();
        let handle = Uuid::parse_str(&user.id)
            .map_err(|_| AuthError::Internal(format!("user id {} is no UUID", user.id)))?;
        let (options, state) = webauthn
            .start_passkey_registration(handle, &user.username, &user.username, Some(exclude))
            .map_err(|e| AuthError::Internal(format!("passkey registration: {e}")))?;
        // Discoverable, so it can sign in without a username (webauthn-rs's passkey options
        // leave that to the authenticator).
        let mut options = serde_json::to_value(&options)
            .map_err(|e| AuthError::Internal(format!("passkey options: {e}")))?;
        if let Some(selection) = options
            .pointer_mut("/publicKey/authenticatorSelection")
            .and_then(serde_json::Value::as_object_mut)
        {
            selection.insert("residentKey".into(), "required".into());
            selection.insert("requireResidentKey".into(), true.into());
        }
        let ceremony = self.new_ceremony("registration", Some(&user.id), to_json(&state)?)?;
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            db::ceremonies::void_registrations_of(conn, &user.id, ceremony.created_at)?;
            db::ceremonies::insert(conn, &ceremony)
        })?;
        Ok(options)
    }

    /// Finishes the caller's open registration with the authenticator's answer.
    pub fn finish_passkey_registration(
        &self,
        fresh: &Fresh,
        name: &str,
        credential: &RegisterPublicKeyCredential,
        client: &ClientInfo,
    ) -> Result<RegisteredPasskey, AuthError> {
        let webauthn = self.webauthn()?;
        let name = check_name(name)?;
        let user = fresh.caller().user_row();
        let now = self.clock.now();
        let ceremony = db::ceremonies::open_registration_of(&mut *self.db.conn()?, &user.id, now)?
            .ok_or(AuthError::PasskeyCeremonyInvalid)?;
        let state: PasskeyRegistration = from_json(&ceremony.state)?;
        let passkey = webauthn
            .finish_passkey_registration(credential, &state)
            .map_err(|_| AuthError::PasskeyRefused)?;
        let row = PasskeyRow {
            id: super::super::random_uuid()?,
            user_id: user.id.clone(),
            credential_id: passkey.cred_id().to_vec(),
            name,
            passkey: to_json(&passkey)?,
            created_at: now,
            last_used_at: None,
        };
        let (codes, code_rows) = self.new_recovery_codes(&user.id, now)?;
        let issued = db::write_transaction(&mut *self.db.conn()?, |conn| {
            if !db::ceremonies::claim(conn, &ceremony.id, now)? {
                return Err(AuthError::PasskeyCeremonyInvalid);
            }
            match db::passkeys::insert(conn, &row) {
                Err(DbError::Conflict) => return Err(AuthError::PasskeyExists),
                other => other?,
            }
            let first_backup = db::recovery_codes::unused_count(conn, &user.id)? == 0;
            if first_backup {
                db::recovery_codes::replace_all(conn, &user.id, &code_rows)?;
            }
            let added = AuditEvent::success(EventKind::SecondFactorAdded)
                .user(&user.id)
                .session(fresh.caller().session().id.as_str())
                .detail("passkey");
            self.audit_in(conn, added, client, now)?;
            Ok::<_, AuthError>(first_backup)
        })?;
        Ok(RegisteredPasskey {
            passkey: PasskeyView::from(&row),
            recovery_codes: issued.then_some(codes),
        })
    }

    pub fn my_passkeys(&self, caller: &Caller) -> Result<Vec<PasskeyView>, AuthError> {
        let rows = db::passkeys::of_user(&mut *self.db.conn()?, caller.user().id.as_str())?;
        Ok(rows.iter().map(PasskeyView::from).collect())
    }

    /// Removes one of the caller's passkeys. With it the last second factor, the recovery codes
    /// go too (they are the backup of a factor).
    pub fn remove_passkey(
        &self,
        fresh: &Fresh,
        passkey_id: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let user = fresh.caller().user_row();
        let now = self.clock.now();
        db::write_transaction(&mut *self.db.conn()?, |conn| {
            if !db::passkeys::delete(conn, &user.id, passkey_id)? {
                return Err(AuthError::PasskeyNotFound);
            }
            self.factor_removed_in(conn, fresh, "passkey", client, now)
        })
    }

    /// Starts a sign-in with a passkey: the request options for `navigator.credentials.get`
    /// (any discoverable passkey of this site), and the id to finish it with.
    pub fn begin_passkey_sign_in(&self) -> Result<PasskeySignInOptions, AuthError> {
        let (options, state) = self
            .webauthn()?
            .start_discoverable_authentication()
            .map_err(|e| AuthError::Internal(format!("passkey sign-in: {e}")))?;
        let ceremony = self.new_ceremony("sign_in", None, to_json(&state)?)?;
        db::ceremonies::insert(&mut *self.db.conn()?, &ceremony)?;
        let public_key = serde_json::to_value(&options)
            .ok()
            .and_then(|mut value| value.get_mut("publicKey").map(serde_json::Value::take))
            .ok_or_else(|| AuthError::Internal("passkey request options".into()))?;
        Ok(PasskeySignInOptions {
            challenge_id: ceremony.id,
            public_key,
        })
    }

    /// Finishes a passkey sign-in and starts a session. With `mfa_token` it finishes that
    /// password sign-in instead (the passkey must be the same account's).
    pub fn finish_passkey_sign_in(
        &self,
        challenge_id: &str,
        credential: &PublicKeyCredential,
        mfa_token: Option<&str>,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, AuthError> {
        let webauthn = self.webauthn()?;
        let now = self.clock.now();
        let (ceremony, row, user) = {
            let conn = &mut *self.db.conn()?;
            let ceremony = db::ceremonies::find_open(conn, challenge_id, "sign_in", now)?
                .ok_or(AuthError::PasskeyCeremonyInvalid)?;
            let (handle, credential_id) = webauthn
                .identify_discoverable_authentication(credential)
                .map_err(|_| AuthError::PasskeyRefused)?;
            let row = db::passkeys::find_by_credential(conn, credential_id)?
                .filter(|row| Uuid::parse_str(&row.user_id).ok() == Some(handle))
                .ok_or(AuthError::PasskeyRefused)?;
            let user = db::users::find_by_id(conn, &row.user_id)?
                .filter(|user| user.disabled_at.is_none())
                .ok_or(AuthError::PasskeyRefused)?;
            (ceremony, row, user)
        };
        let challenge = match mfa_token {
            Some(token) => Some(self.open_challenge_of(token, &user, now)?),
            None => None,
        };
        let state: DiscoverableAuthentication = from_json(&ceremony.state)?;
        let mut passkey: Passkey = from_json(&row.passkey)?;
        let verified =
            match webauthn.finish_discoverable_authentication_v2(credential, state, &passkey) {
                Ok(result) if result.user_verified() => result,
                _ => {
                    self.refuse_passkey(&user, client)?;
                    return Err(AuthError::PasskeyRefused);
                }
            };
        passkey.update_credential(&verified);
        let updated = to_json(&passkey)?;
        let (session, secret) = self.start_session(
            &user,
            client,
            Some("passkey"),
            None,
            None,
            match challenge {
                Some(_) => SignInMethod::PasswordAndPasskey,
                None => SignInMethod::Passkey,
            },
            |conn| {
                if !db::ceremonies::claim(conn, &ceremony.id, now)? {
                    return Err(AuthError::PasskeyCeremonyInvalid);
                }
                if let Some(hash) = &challenge
                    && !db::challenges::claim(conn, hash, now)?
                {
                    return Err(AuthError::SignInStepInvalid);
                }
                db::passkeys::record_use(conn, &row.id, &updated, now)?;
                let used = AuditEvent::success(EventKind::SecondFactorUsed)
                    .user(&user.id)
                    .detail("passkey");
                Ok(self.audit_in(conn, used, client, now)?)
            },
        )?;
        let mut tokens = self.issue(&user, &session, &secret, session.created_at)?;
        tokens.device_token = Some(devices::issue(&self.device_key, &user.id, None, now)?);
        Ok(tokens)
    }

    fn refuse_passkey(&self, user: &User, client: &ClientInfo) -> Result<(), AuthError> {
        let failed = AuditEvent::new(EventKind::SecondFactorFailed, Outcome::Failure)
            .user(&user.id)
            .detail("passkey not verified");
        self.audit(failed, client)
    }
}

/// Removes every passkey of a user inside the caller's transaction (an admin's reset).
pub(crate) fn delete_all_in(conn: &mut Conn, user_id: &str) -> Result<usize, AuthError> {
    Ok(db::passkeys::delete_all(conn, user_id)?)
}
