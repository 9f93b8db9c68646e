//! Staff and patient accounts: administered by whoever the policy grants
//! ACCOUNTS to; listed to whoever it grants STAFF_DIRECTORY to.

use caregraph_entity::{patient, user};
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::Caller;
use crate::auth::password;
use crate::auth::sessions::SessionStore;
use crate::domain::{Email, Password, parse_id, parse_name};
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass, Role};

pub struct NewAccount {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: String,
    /// PATIENT accounts only: the record the account belongs to.
    pub patient_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
}

impl Caller {
    pub async fn me(&self) -> AppResult<user::Model> {
        let principal = self.principal()?;
        user::Entity::find_by_id(principal.user_id)
            .one(&self.db)
            .await?
            .ok_or(AppError::Unauthenticated)
    }

    /// With ACCOUNTS: every account. With only STAFF_DIRECTORY: active staff,
    /// never patients' accounts (being a patient here is itself PHI).
    pub async fn users(&self, role: Option<Role>) -> AppResult<Vec<user::Model>> {
        let principal = self.require(Action::Read, FieldClass::StaffDirectory)?;
        let mut query = user::Entity::find();
        if !self
            .policy
            .could_ever(principal.role, Action::Read, FieldClass::Accounts)
        {
            query = query
                .filter(user::Column::Role.ne(Role::Patient.as_str()))
                .filter(user::Column::Active.eq(true));
        }
        if let Some(role) = role {
            query = query.filter(user::Column::Role.eq(role.as_str()));
        }
        Ok(query
            .order_by_asc(user::Column::Name)
            .order_by_asc(user::Column::Id)
            .all(&self.db)
            .await?)
    }

    pub async fn create_user(&self, account: NewAccount) -> AppResult<user::Model> {
        let principal = self.require(Action::Create, FieldClass::Accounts)?;
        if account.role == Role::Patient || account.patient_id.is_some() {
            return Err(AppError::bad_input(
                "patient accounts are created with invitePatient: the patient chooses the password",
            ));
        }
        create_account(&self.db, account).await.inspect(|created| {
            tracing::info!(
                target: "caregraph::security",
                user_id = %principal.user_id,
                created_user_id = %created.id,
                role = %created.role,
                "account created"
            )
        })
    }

    pub async fn delete_user(&self, id: &str) -> AppResult<()> {
        let principal = self.require(Action::Delete, FieldClass::Accounts)?;
        let target = self.other_account(principal.user_id, id, "delete").await?;
        self.keep_an_admin(&target).await?;
        // Sessions go with the account (foreign key), so its tokens die with it.
        user::Entity::delete_by_id(target.id).exec(&self.db).await?;
        tracing::info!(target: "caregraph::security", user_id = %principal.user_id, deleted_user_id = %target.id, "account deleted");
        Ok(())
    }

    pub async fn deactivate_user(&self, id: &str) -> AppResult<user::Model> {
        let principal = self.require(Action::Write, FieldClass::Accounts)?;
        let target = self.other_account(principal.user_id, id, "deactivate").await?;
        self.keep_an_admin(&target).await?;
        let mut row: user::ActiveModel = target.into();
        row.active = Set(false);
        row.deactivated_at = Set(Some(Utc::now()));
        let updated = row.update(&self.db).await?;
        SessionStore::revoke_all_for_user(&self.db, updated.id).await?;
        tracing::info!(target: "caregraph::security", user_id = %principal.user_id, deactivated_user_id = %updated.id, "account deactivated");
        Ok(updated)
    }

    async fn other_account(&self, own_id: Uuid, id: &str, verb: &str) -> AppResult<user::Model> {
        let id = parse_id("id", id)?;
        if id == own_id {
            return Err(AppError::bad_input(format!("you cannot {verb} your own account")));
        }
        user::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// The clinic must never be left without an active administrator.
    async fn keep_an_admin(&self, target: &user::Model) -> AppResult<()> {
        if target.role != Role::Admin.as_str() || !target.active {
            return Ok(());
        }
        let admins = user::Entity::find()
            .filter(user::Column::Role.eq(Role::Admin.as_str()))
            .filter(user::Column::Active.eq(true))
            .count(&self.db)
            .await?;
        if admins <= 1 {
            return Err(AppError::bad_input(
                "the last active administrator cannot be removed",
            ));
        }
        Ok(())
    }
}

/// Creates an account after checking every input. Also used by the start-up
/// bootstrap and the demo seed, which act for no caller.
pub async fn create_account(db: &sea_orm::DatabaseConnection, account: NewAccount) -> AppResult<user::Model> {
    let email = Email::parse(&account.email)?;
    match (account.role, account.patient_id) {
        (Role::Patient, None) => {
            return Err(AppError::bad_input(
                "a PATIENT account needs the patientId of its record",
            ));
        }
        (Role::Patient, Some(patient_id)) => {
            let exists = patient::Entity::find_by_id(patient_id).count(db).await? > 0;
            if !exists {
                return Err(AppError::bad_input("patientId does not name a patient"));
            }
            let linked = user::Entity::find()
                .filter(user::Column::PatientId.eq(patient_id))
                .count(db)
                .await?;
            if linked > 0 {
                return Err(AppError::bad_input("this patient already has an account"));
            }
        }
        (_, Some(_)) => {
            return Err(AppError::bad_input(
                "only a PATIENT account is linked to a patient record",
            ));
        }
        (_, None) => {}
    }
    super::departments::existing_department(db, account.department_id).await?;
    let name = parse_name("name", &account.name)?;
    let password = Password::parse(account.password)?;
    let taken = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .count(db)
        .await?;
    if taken > 0 {
        return Err(AppError::bad_input("an account with this email already exists"));
    }
    let password_hash = password::hash(password).await?;
    user::ActiveModel {
        id: Set(Uuid::new_v4()),
        email: Set(email.as_str().to_owned()),
        name: Set(name),
        role: Set(account.role.as_str().to_owned()),
        password_hash: Set(password_hash),
        active: Set(true),
        department_id: Set(account.department_id),
        patient_id: Set(account.patient_id),
        created_at: Set(Utc::now()),
        deactivated_at: Set(None),
    }
    .insert(db)
    .await
    .map_err(|e| AppError::unique_or_database(e, "an account with this email already exists"))
}
