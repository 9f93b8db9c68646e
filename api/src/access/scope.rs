//! The caller's relationship to patients, both as a SQL filter (for lists)
//! and as a set of scopes per patient (for field decisions).

use caregraph_entity::{care_assignment, patient};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Query, SimpleExpr};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass, Policy, Relationships, Role, Scope};

pub const ATTENDING: &str = "ATTENDING";
pub const NURSE: &str = "NURSE";

/// Assignments that hold right now: started, not ended, not revoked.
pub fn active_assignment(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(care_assignment::Column::StartsAt.lte(now))
        .add(
            Condition::any()
                .add(care_assignment::Column::EndsAt.is_null())
                .add(care_assignment::Column::EndsAt.gt(now)),
        )
        .add(care_assignment::Column::RevokedAt.is_null())
}

fn assigned_patients(staff_id: Uuid, kind: &str, now: DateTime<Utc>) -> SimpleExpr {
    patient::Column::Id.in_subquery(
        Query::select()
            .column(care_assignment::Column::PatientId)
            .from(care_assignment::Entity)
            .cond_where(
                Condition::all()
                    .add(care_assignment::Column::StaffId.eq(staff_id))
                    .add(care_assignment::Column::Kind.eq(kind))
                    .add(active_assignment(now)),
            )
            .to_owned(),
    )
}

/// The rows of `patients` on which the role may do `action` to `class`, as a
/// WHERE condition. Errors with FORBIDDEN when no scope grants it at all.
pub fn patient_filter(
    policy: &Policy,
    role: Role,
    staff_id: Uuid,
    action: Action,
    class: FieldClass,
    now: DateTime<Utc>,
) -> AppResult<Condition> {
    let scopes = policy.scopes(role, action, class);
    if scopes.is_empty() {
        return Err(AppError::forbidden("your role may not read patient records"));
    }
    let mut any = Condition::any();
    for scope in scopes {
        match scope {
            Scope::Any => return Ok(Condition::all()),
            Scope::Treating => {
                any = any
                    .add(patient::Column::RegisteredBy.eq(staff_id))
                    .add(assigned_patients(staff_id, ATTENDING, now));
            }
            Scope::Assigned => any = any.add(assigned_patients(staff_id, NURSE, now)),
            // Neither a patient link nor break-glass grants exist yet: these
            // scopes match no row (an id is never null).
            Scope::OwnRecord | Scope::BreakGlass => any = any.add(patient::Column::Id.is_null()),
        }
    }
    Ok(any)
}

/// The scopes that hold between a staff member and one patient, from the
/// patient row and the staff member's active assignments to that patient.
pub fn relationships(staff_id: Uuid, patient: &patient::Model, assignment_kinds: &[String]) -> Relationships {
    let mut rel = Relationships::none_but_any();
    if patient.registered_by == staff_id || assignment_kinds.iter().any(|k| k == ATTENDING) {
        rel = rel.with(Scope::Treating);
    }
    if assignment_kinds.iter().any(|k| k == NURSE) {
        rel = rel.with(Scope::Assigned);
    }
    rel
}
