//! Who cares for a patient: nurse assignments, made by the treating doctor.

use caregraph_entity::{care_assignment, user};
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::scope::{NURSE, active_assignment};
use super::{Caller, PatientView};
use crate::domain::parse_id;
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass, Role};

impl Caller {
    /// Assigns a nurse to a patient from now on. Assigning the same nurse
    /// twice returns the assignment that already holds.
    pub async fn assign_nurse(&self, patient_id: &str, nurse_id: &str) -> AppResult<care_assignment::Model> {
        let (principal, patient) = self
            .patient_for_write(patient_id, Action::Write, FieldClass::CareTeam)
            .await?;
        let nurse_id = parse_id("nurseId", nurse_id)?;
        let nurse = user::Entity::find_by_id(nurse_id)
            .one(&self.db)
            .await?
            .filter(|u| u.active && u.role == Role::Nurse.as_str())
            .ok_or_else(|| AppError::bad_input("nurseId does not name an active nurse"))?;
        let now = Utc::now();
        if let Some(existing) = care_assignment::Entity::find()
            .filter(care_assignment::Column::PatientId.eq(patient.id()))
            .filter(care_assignment::Column::StaffId.eq(nurse.id))
            .filter(care_assignment::Column::Kind.eq(NURSE))
            .filter(active_assignment(now))
            .one(&self.db)
            .await?
        {
            return Ok(existing);
        }
        let assignment = care_assignment::ActiveModel {
            id: Set(Uuid::new_v4()),
            patient_id: Set(patient.id()),
            staff_id: Set(nurse.id),
            kind: Set(NURSE.to_owned()),
            assigned_by: Set(principal.user_id),
            starts_at: Set(now),
            ends_at: Set(None),
            revoked_at: Set(None),
            created_at: Set(now),
        }
        .insert(&self.db)
        .await?;
        tracing::info!(
            patient_id = %patient.id(),
            nurse_id = %nurse.id,
            user_id = %principal.user_id,
            "nurse assigned"
        );
        Ok(assignment)
    }

    /// The nurses currently assigned to a patient, if the caller may read the care team.
    pub async fn assigned_nurses(&self, patient: &PatientView) -> AppResult<Vec<user::Model>> {
        if !patient.may(Action::Read, FieldClass::CareTeam) {
            return Err(AppError::forbidden(
                "you may not read the care team of this patient",
            ));
        }
        Ok(self.nurses.load_one(patient.id()).await?.unwrap_or_default())
    }

    /// Staff accounts named by an assignment; the caller already holds the
    /// assignment, so this reveals nothing new about the patient.
    pub async fn staff_member(&self, id: Uuid) -> AppResult<Option<user::Model>> {
        self.principal()?;
        Ok(user::Entity::find_by_id(id).one(&self.db).await?)
    }
}
