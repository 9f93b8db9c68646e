//! First start: with no active administrator, create one from
//! `CAREGRAPH_ADMIN_EMAIL` / `CAREGRAPH_ADMIN_PASSWORD`.

use caregraph_entity::user;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use crate::access::{NewAccount, create_account};
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
            let account = NewAccount {
                email: email.clone(),
                name: "Administrator".to_owned(),
                role: Role::Admin,
                password: password.expose_secret().clone(),
                patient_id: None,
                department_id: None,
            };
            let admin = create_account(db, account).await.map_err(|e| match e {
                AppError::BadUserInput(message) => AppError::BadUserInput(format!(
                    "CAREGRAPH_ADMIN_EMAIL / CAREGRAPH_ADMIN_PASSWORD: {message}"
                )),
                other => other,
            })?;
            tracing::info!(target: "caregraph::security", user_id = %admin.id, "first administrator created");
        }
        _ => tracing::warn!(
            "no administrator account exists: set CAREGRAPH_ADMIN_EMAIL and CAREGRAPH_ADMIN_PASSWORD and restart, \
             or run `caregraph seed-demo` for a demo clinic"
        ),
    }
    Ok(())
}
