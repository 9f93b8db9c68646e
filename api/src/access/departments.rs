//! Departments (wards). Membership is organisational only: it grants no
//! access to any patient.

use caregraph_entity::department;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};
use uuid::Uuid;

use super::Caller;
use super::values::Department;
use crate::domain::parse_name;
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass};

impl Caller {
    pub async fn departments(&self) -> AppResult<Vec<Department>> {
        self.require(Action::Read, FieldClass::Departments)?;
        Ok(department::Entity::find()
            .order_by_asc(department::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Department::from)
            .collect())
    }

    pub async fn create_department(&self, name: &str) -> AppResult<Department> {
        let principal = self.require(Action::Create, FieldClass::Departments)?;
        let name = parse_name("name", name)?;
        let created = department::ActiveModel {
            id: Set(Uuid::new_v4()),
            name: Set(name),
            created_at: Set(Utc::now()),
        }
        .insert(&self.db)
        .await
        .map_err(|e| AppError::unique_or_database(e, "a department with this name already exists"))?;
        tracing::info!(user_id = %principal.user_id, department_id = %created.id, "department created");
        Ok(created.into())
    }
}

impl Caller {
    pub async fn rename_department(&self, id: &str, name: &str) -> AppResult<Department> {
        let principal = self.require(Action::Write, FieldClass::Departments)?;
        let id = crate::domain::parse_id("id", id)?;
        let name = parse_name("name", name)?;
        let current = department::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut row: department::ActiveModel = current.into();
        row.name = Set(name);
        let renamed = row
            .update(&self.db)
            .await
            .map_err(|e| AppError::unique_or_database(e, "a department with this name already exists"))?;
        tracing::info!(user_id = %principal.user_id, department_id = %renamed.id, "department renamed");
        Ok(renamed.into())
    }
}

/// Checks that a department id names a department.
pub(super) async fn existing_department(
    db: &impl sea_orm::ConnectionTrait,
    id: Option<Uuid>,
) -> AppResult<()> {
    match id {
        None => Ok(()),
        Some(id) => department::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|_| ())
            .ok_or_else(|| AppError::bad_input("departmentId does not name a department")),
    }
}
