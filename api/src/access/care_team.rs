//! Who cares for a patient: nurse assignments, made by the treating doctor.

use caregraph_entity::{care_assignment, user};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::disclosure::Disclosed;
use super::scope::{NURSE, active_assignment};
use super::{Caller, PatientView};
use crate::domain::parse_id;
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass, Role};

/// A new care-team assignment: who, in which capacity, from when to when.
pub struct NewAssignment {
    pub staff_id: String,
    pub kind: &'static str,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

impl Caller {
    /// Assigns a nurse to a patient from now on, with no end. Assigning the
    /// same nurse twice returns the assignment that already holds.
    pub async fn assign_nurse(
        &self,
        patient_id: &str,
        nurse_id: &str,
    ) -> AppResult<(care_assignment::Model, user::Model)> {
        let new = NewAssignment {
            staff_id: nurse_id.to_owned(),
            kind: NURSE,
            starts_at: None,
            ends_at: None,
        };
        self.assign(patient_id, new).await
    }

    /// Adds a nurse (NURSE) or a doctor (ATTENDING) to a patient's care team
    /// for a time window; outside the window the assignment grants nothing.
    pub async fn assign(
        &self,
        patient_id: &str,
        new: NewAssignment,
    ) -> AppResult<(care_assignment::Model, user::Model)> {
        let (principal, patient) = self
            .patient_for_write(patient_id, Action::Write, FieldClass::CareTeam)
            .await?;
        let staff_id = parse_id("staffId", &new.staff_id)?;
        // Assigning oneself would turn "may change the care team" into "may
        // read what only the attending doctor reads", and outlive any window.
        if staff_id == principal.user_id {
            return Err(AppError::forbidden(
                "you cannot assign yourself; ask a colleague in the care team",
            ));
        }
        let needed = if new.kind == NURSE {
            Role::Nurse
        } else {
            Role::Doctor
        };
        let staff = user::Entity::find_by_id(staff_id)
            .one(&self.db)
            .await?
            .filter(|u| u.active && u.role == needed.as_str())
            .ok_or_else(|| {
                AppError::bad_input(format!(
                    "the staff id does not name an active {}",
                    needed.as_str().to_lowercase()
                ))
            })?;
        let now = Utc::now();
        let starts_at = new.starts_at.unwrap_or(now);
        if new.ends_at.is_some_and(|end| end <= starts_at) {
            return Err(AppError::bad_input("endsAt must come after startsAt"));
        }
        let open_ended = new.starts_at.is_none() && new.ends_at.is_none();
        if open_ended
            && let Some(existing) = care_assignment::Entity::find()
                .filter(care_assignment::Column::PatientId.eq(patient.id()))
                .filter(care_assignment::Column::StaffId.eq(staff.id))
                .filter(care_assignment::Column::Kind.eq(new.kind))
                .filter(care_assignment::Column::EndsAt.is_null())
                .filter(active_assignment(now))
                .one(&self.db)
                .await?
        {
            return Ok((existing, staff));
        }
        let assignment = care_assignment::ActiveModel {
            id: Set(Uuid::new_v4()),
            patient_id: Set(patient.id()),
            staff_id: Set(staff.id),
            kind: Set(new.kind.to_owned()),
            assigned_by: Set(principal.user_id),
            starts_at: Set(starts_at),
            ends_at: Set(new.ends_at),
            revoked_at: Set(None),
            created_at: Set(now),
        }
        .insert(&self.db)
        .await?;
        tracing::info!(
            patient_id = %patient.id(),
            staff_id = %staff.id,
            kind = new.kind,
            user_id = %principal.user_id,
            "care team assignment made"
        );
        Ok((assignment, staff))
    }

    /// Ends an assignment now. An assignment of a patient outside the
    /// caller's scope is NOT_FOUND.
    pub async fn revoke_assignment(&self, id: &str) -> AppResult<(care_assignment::Model, user::Model)> {
        let principal = self.require(Action::Write, FieldClass::CareTeam)?;
        let id = parse_id("id", id)?;
        let (assignment, patient) = self
            .record_in_scope::<care_assignment::Entity>(
                principal,
                care_assignment::Column::Id,
                id,
                sea_orm::Condition::all(),
            )
            .await?;
        if !patient.may(Action::Write, FieldClass::CareTeam) {
            return Err(AppError::forbidden(
                "you may not change the care team of this patient",
            ));
        }
        let staff = user::Entity::find_by_id(assignment.staff_id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound)?;
        if assignment.revoked_at.is_some() {
            return Ok((assignment, staff));
        }
        let mut row: care_assignment::ActiveModel = assignment.into();
        row.revoked_at = Set(Some(Utc::now()));
        let revoked = row.update(&self.db).await?;
        tracing::info!(patient_id = %revoked.patient_id, assignment_id = %revoked.id, user_id = %principal.user_id, "care team assignment revoked");
        Ok((revoked, staff))
    }

    /// The nurses currently assigned to a patient, for the relation `field`
    /// of `Patient`: `None` (denied) unless the caller may read its class.
    pub async fn assigned_nurses(
        &self,
        patient: &PatientView,
        field: &str,
    ) -> AppResult<Option<Disclosed<Vec<user::Model>>>> {
        self.relation(patient, field, || async {
            Ok(self.nurses.load_one(patient.id()).await?.unwrap_or_default())
        })
        .await
    }
}
