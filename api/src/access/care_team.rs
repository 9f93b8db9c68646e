//! Who cares for a patient: nurse assignments, made by the treating doctor.

use caregraph_entity::{care_assignment, user};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::disclosure::Disclosed;
use super::patients::PatientField;
use super::scope::active_assignment;
use super::values::{Account, CareAssignment};
use super::{Caller, PatientRecord};
use crate::audit::{AuditAction, Detail};
use crate::domain::AssignmentKind;
use crate::domain::parse_id;
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass, Role};

/// A new care-team assignment: who, in which capacity, from when to when.
pub struct NewAssignment {
    pub staff_id: String,
    pub kind: AssignmentKind,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

impl Caller {
    /// Assigns a nurse to a patient from now on, with no end. Assigning the
    /// same nurse twice returns the assignment that already holds.
    /// Commits an assignment made or ended with its ASSIGNMENT_CHANGE event.
    async fn commit_assignment_change(
        &self,
        txn: sea_orm::DatabaseTransaction,
        principal: crate::auth::Principal,
        patient: Uuid,
        detail: Detail,
    ) -> AppResult<()> {
        let event = self.write_event(principal, AuditAction::AssignmentChange, Some(patient), detail);
        self.commit_write(txn, event).await
    }

    pub async fn assign_nurse(&self, patient_id: &str, nurse_id: &str) -> AppResult<CareAssignment> {
        let new = NewAssignment {
            staff_id: nurse_id.to_owned(),
            kind: AssignmentKind::Nurse,
            starts_at: None,
            ends_at: None,
        };
        self.assign(patient_id, new).await
    }

    /// Adds a nurse (NURSE) or a doctor (ATTENDING) to a patient's care team
    /// for a time window; outside the window the assignment grants nothing.
    pub async fn assign(&self, patient_id: &str, new: NewAssignment) -> AppResult<CareAssignment> {
        let found = self
            .patient_for_write(patient_id, Action::Write, self.care_team())
            .await;
        let asked_for = parse_id("patientId", patient_id).ok();
        let (principal, patient) =
            self.noting_refusal(found, AuditAction::AssignmentChange, asked_for, "care_assignment")?;
        let staff_id = parse_id("staffId", &new.staff_id)?;
        // Assigning oneself would turn "may change the care team" into "may
        // read what only the attending doctor reads", and outlive any window.
        if staff_id == principal.user_id {
            return Err(AppError::forbidden(
                "you cannot assign yourself; ask a colleague in the care team",
            ));
        }
        let needed = if new.kind == AssignmentKind::Nurse {
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
                .filter(care_assignment::Column::Kind.eq(new.kind.as_str()))
                .filter(care_assignment::Column::EndsAt.is_null())
                .filter(active_assignment(now))
                .one(&self.db)
                .await?
        {
            return Ok(self.assignment(existing, staff));
        }
        let txn = self.begin_write().await?;
        let assignment = care_assignment::ActiveModel {
            id: Set(Uuid::new_v4()),
            patient_id: Set(patient.id()),
            staff_id: Set(staff.id),
            kind: Set(new.kind.as_str().to_owned()),
            assigned_by: Set(principal.user_id),
            starts_at: Set(starts_at),
            ends_at: Set(new.ends_at),
            revoked_at: Set(None),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let detail = Detail::new()
            .code("record", "care_assignment")
            .id("id", assignment.id)
            .id("staff", staff.id)
            .code("kind", new.kind.as_str());
        self.commit_assignment_change(txn, principal, patient.id(), detail)
            .await?;
        tracing::info!(
            patient_id = %patient.id(),
            staff_id = %staff.id,
            kind = new.kind.as_str(),
            user_id = %principal.user_id,
            "care team assignment made"
        );
        Ok(self.assignment(assignment, staff))
    }

    /// Ends an assignment now. An assignment of a patient outside the
    /// caller's scope is NOT_FOUND.
    pub async fn revoke_assignment(&self, id: &str) -> AppResult<CareAssignment> {
        let principal = self.require(Action::Write, self.care_team())?;
        let id = parse_id("id", id)?;
        let found = self
            .writable_in_scope::<care_assignment::Entity>(
                principal,
                care_assignment::Column::Id,
                id,
                self.care_team(),
                "you may not change the care team of this patient",
            )
            .await;
        let (assignment, patient) =
            self.noting_refusal(found, AuditAction::AssignmentChange, None, "care_assignment")?;
        let staff = user::Entity::find_by_id(assignment.staff_id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound)?;
        if assignment.revoked_at.is_some() {
            return Ok(self.assignment(assignment, staff));
        }
        let mut row: care_assignment::ActiveModel = assignment.into();
        row.revoked_at = Set(Some(Utc::now()));
        let txn = self.begin_write().await?;
        let revoked = row.update(&txn).await?;
        let detail = Detail::new()
            .code("record", "care_assignment")
            .id("id", revoked.id)
            .names("changed", ["revoked_at"]);
        self.commit_assignment_change(txn, principal, patient.id(), detail)
            .await?;
        tracing::info!(patient_id = %revoked.patient_id, assignment_id = %revoked.id, user_id = %principal.user_id, "care team assignment revoked");
        Ok(self.assignment(revoked, staff))
    }

    /// The nurses currently assigned to a disclosed patient: `None`
    /// (refused) unless the door allowed their class.
    pub async fn assigned_nurses(
        &self,
        patient: &PatientRecord,
    ) -> AppResult<Option<Disclosed<Vec<Account>>>> {
        let nurses = self
            .related(patient, PatientField::AssignedNurses, &self.nurses)
            .await?;
        Ok(nurses.map(|nurses| nurses.map(|rows| rows.into_iter().map(|n| self.account_view(n)).collect())))
    }

    fn assignment(&self, row: care_assignment::Model, staff: user::Model) -> CareAssignment {
        CareAssignment::new(row, self.account_view(staff))
    }

    /// The class the care team is written and read under, from the policy.
    fn care_team(&self) -> FieldClass {
        self.patient_classes.of(PatientField::AssignedNurses)
    }
}
