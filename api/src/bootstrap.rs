//! Administrators made by the operator on the server host, outside the
//! four-eyes provisioning of the API: on first start with no active
//! administrator, from `CAREGRAPH_ADMIN_EMAIL` / `CAREGRAPH_ADMIN_PASSWORD`;
//! at any time with `caregraph create-admin --email E` (the password read
//! from standard input). Whoever can run these can already read the database.

use caregraph_entity::user;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use crate::access::{UnrestrictedAccount, unrestricted_create_account};
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::policy::Role;

pub async fn ensure_admin(db: &DatabaseConnection, config: &Config) -> AppResult<()> {
    let admins = user::Entity::find()
        .filter(user::Column::Role.eq(Role::Admin.as_str()))
        .filter(user::Column::Active.eq(true))
        .count(db)
        .await?;
    if admins > 0 {
        return Ok(());
    }
    match (&config.admin_email, &config.admin_password) {
        (Some(email), Some(password)) => {
            create_admin(db, email, password.expose_secret().clone())
                .await
                .map_err(|e| match e {
                    AppError::BadUserInput(message) => AppError::BadUserInput(format!(
                        "CAREGRAPH_ADMIN_EMAIL / CAREGRAPH_ADMIN_PASSWORD: {message}"
                    )),
                    other => other,
                })?;
        }
        _ => tracing::warn!(
            "no administrator account exists: set CAREGRAPH_ADMIN_EMAIL and CAREGRAPH_ADMIN_PASSWORD and restart, \
             or run `caregraph seed-demo` for a demo clinic"
        ),
    }
    Ok(())
}

/// An active administrator with this e-mail and password.
pub async fn create_admin(db: &DatabaseConnection, email: &str, password: String) -> AppResult<user::Model> {
    let admin = unrestricted_create_account(
        db,
        UnrestrictedAccount {
            email: email.to_owned(),
            name: "Administrator".to_owned(),
            role: Role::Admin,
            password,
            patient_id: None,
        },
    )
    .await?;
    tracing::info!(target: "caregraph::security", user_id = %admin.id, "administrator created by the operator");
    Ok(admin)
}
