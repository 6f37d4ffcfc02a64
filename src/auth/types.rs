//! The domain's own words for users and sessions: typed ids, the role, and the views of a user
//! and a session that the surfaces see (never the database rows themselves).

use std::fmt;

use crate::db::models::{Session, User};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> $name {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> $name {
                $name(id.to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    };
}

id_type!(
    /// A user's id (a UUID; the `sub` of access tokens).
    UserId
);
id_type!(
    /// A session's id (a UUID; the `sid` of access tokens).
    SessionId
);

/// What a user may do.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    strum::EnumIter,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
    serde::Serialize,
    utoipa::ToSchema,
)]
#[strum(serialize_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The role as stored. Anything else (a row edited by hand) gets the lesser role.
    pub fn stored(text: &str) -> Role {
        text.parse().unwrap_or(Role::User)
    }
}

/// A user as the surfaces see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: UserId,
    pub username: String,
    pub role: Role,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    pub email: Option<String>,
    pub email_verified: bool,
}

/// Whether the user's current address is the verified one.
pub fn email_verified(user: &User) -> bool {
    user.email_key.is_some() && user.email_verified_at.is_some()
}

impl Account {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

impl From<&User> for Account {
    fn from(user: &User) -> Account {
        Account {
            id: UserId::from(user.id.as_str()),
            username: user.username.clone(),
            role: Role::stored(&user.role),
            created_at: user.created_at,
            disabled_at: user.disabled_at,
            email: user.email.clone(),
            email_verified: email_verified(user),
        }
    }
}

/// A session as the surfaces see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: i64,
    pub last_used_at: i64,
    /// The absolute end (the idle end may come first: `Lifetimes::ends_at`).
    pub expires_at: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// How it signed in: stored RFC 8176 values (`pwd otp mfa`).
    pub amr: String,
    /// The sign-in, or the last re-authentication.
    pub authenticated_at: i64,
}

impl From<Session> for SessionInfo {
    fn from(session: Session) -> SessionInfo {
        SessionInfo {
            id: SessionId::from(session.id),
            user_id: UserId::from(session.user_id),
            created_at: session.created_at,
            last_used_at: session.last_used_at,
            expires_at: session.expires_at,
            user_agent: session.user_agent,
            ip: session.ip,
            amr: session.amr,
            authenticated_at: session.authenticated_at,
        }
    }
}
