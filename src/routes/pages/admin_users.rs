//! The Users page's console actions: create an account (the person chooses a password through a
//! one-time link), change a role, delete an account.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::admin::{back_to, flash_outcome};
use super::guard::AdminPage;
use super::{Confirmed, Csrf, Layout, PageError, page_session, render, see_other};
use crate::auth::AuthService;
use crate::auth::accounts::Change;
use crate::auth::sessions::ClientInfo;
use crate::auth::types::{Role, UserId};
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::page;
use crate::wording::count;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        page("/admin/users/new")
            .post(create)
            .get_goes_to("/admin/users"),
    )
    .service(
        page("/admin/users/{id}/role")
            .post(set_role)
            .get_goes_to("/admin/users"),
    )
    .service(
        page("/admin/users/{id}/reset-factors")
            .post(reset_factors)
            .get_goes_to("/admin/users")
            .confirm(
                "Reset this user's second factors? Their authenticator app and recovery codes stop working, every session of theirs ends, and the password alone signs in until they set up a new app.",
                "Reset",
            ),
    )
    .service(
        page("/admin/users/{id}/delete")
            .post(delete)
            .get_goes_to("/admin/users")
            .confirm(
                "Delete this account? It cannot be undone: every session ends and the name becomes free. Its audit events stay.",
                "Delete",
            ),
    );
}

/// Every field has a default: a non-admin gets the 403 page (the guard), not a form error.
#[derive(Deserialize)]
struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    admin: Option<String>,
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    back: String,
}

#[derive(Deserialize)]
struct BackForm {
    #[serde(default)]
    back: String,
}

#[derive(Template)]
#[template(path = "admin/created.html")]
struct CreatedPage {
    layout: Layout,
    username: String,
    link: String,
    lifetime: String,
    email: Option<String>,
}

async fn create(
    AdminPage { admin, user: me }: AdminPage,
    auth: web::Data<AuthService>,
    Csrf(form): Csrf<NewUserForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let role = if form.admin.is_some() {
        Role::Admin
    } else {
        Role::User
    };
    let minutes = auth.config().mail.reset_ttl_seconds / 60;
    let (username, email) = (form.username, form.email);
    let outcome =
        blocking(move || auth.create_user_by_admin(&admin, &username, Some(&email), role, &client))
            .await;
    match outcome {
        Ok((account, link)) => Ok(render(
            StatusCode::CREATED,
            &CreatedPage {
                layout: me.layout(),
                username: account.username,
                email: account.email,
                link,
                lifetime: count(minutes as u64, "minute"),
            },
        )),
        Err(refused) if refused.is_client_error() => {
            page_session::flash(
                &me.page,
                "error",
                format!("No account was created: {}", refused.description().message),
            );
            Ok(see_other("/admin/users"))
        }
        Err(other) => Err(other.into()),
    }
}

async fn set_role(
    AdminPage { admin, user: me }: AdminPage,
    auth: web::Data<AuthService>,
    path: web::Path<String>,
    Csrf(form): Csrf<RoleForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let role = match form.role.as_str() {
        "admin" => Role::Admin,
        "user" => Role::User,
        _ => return Err(PageError::bad_request("role is admin or user.")),
    };
    let user_id = UserId::from(path.into_inner());
    let outcome = blocking(move || {
        let account = auth.account(&admin, &user_id)?;
        auth.set_role(&admin, &account.username, role, false, &client)
    })
    .await;
    flash_outcome(&me.page, outcome, |change| match change {
        Change::Done(user) => format!("{} is now {}.", user.username, user.role.as_str()),
        Change::Already => "That user already had that role.".into(),
    })?;
    Ok(see_other(&back_to(&form.back)))
}

async fn delete(
    auth: web::Data<AuthService>,
    path: web::Path<String>,
    Confirmed {
        by: AdminPage { admin, user: me },
        fields: form,
    }: Confirmed<AdminPage, BackForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let user_id = UserId::from(path.into_inner());
    if me.user().id == user_id {
        let refused = ApiError::Forbidden("You cannot delete your own account here.".into());
        page_session::flash(&me.page, "error", refused.description().message);
        return Ok(see_other("/admin/users"));
    }
    let outcome = blocking(move || {
        let account = auth.account(&admin, &user_id)?;
        auth.delete_user(&admin, &user_id, false, &client)?;
        Ok(account.username)
    })
    .await;
    flash_outcome(&me.page, outcome, |name| {
        format!("{name} is deleted, with every session.")
    })?;
    Ok(see_other(&back_to(&form.back)))
}

async fn reset_factors(
    auth: web::Data<AuthService>,
    path: web::Path<String>,
    Confirmed {
        by: AdminPage { admin, user: me },
        fields: form,
    }: Confirmed<AdminPage, BackForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let user_id = UserId::from(path.into_inner());
    let outcome = blocking(move || {
        let account = auth.account(&admin, &user_id)?;
        let reset = auth.reset_factors(&admin, &user_id, &client)?;
        Ok((account.username, reset.sessions_ended))
    })
    .await;
    flash_outcome(&me.page, outcome, |(name, ended)| {
        format!(
            "The second factors of {name} are reset; {} ended. They sign in with their password alone until they set up a new app.",
            count(ended as u64, "session")
        )
    })?;
    Ok(see_other(&back_to(&form.back)))
}
