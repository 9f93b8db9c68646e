//! The caller's relationship to patients, both as a SQL filter (for lists)
//! and as a set of scopes per patient (for field decisions). The attribute
//! rules of the policy file live here: assignment windows, and restricted
//! patients reachable only through an explicit assignment or SELF.

use caregraph_entity::{break_glass_grant, care_assignment, patient};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Query, SelectStatement, SimpleExpr};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::AssignmentKind;
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass, Policy, Relationships, Scope};

pub const ATTENDING: &str = AssignmentKind::Attending.as_str();
pub const NURSE: &str = AssignmentKind::Nurse.as_str();
/// Not an assignment: the relation an active break-glass grant gives, loaded
/// alongside the caller's assignments.
pub const BREAK_GLASS: &str = "BREAK_GLASS";

/// Break-glass grants that hold right now: opened, not yet expired.
pub fn active_grant(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(break_glass_grant::Column::OpenedAt.lte(now))
        .add(break_glass_grant::Column::ExpiresAt.gt(now))
}

/// The patients this user holds an active break-glass grant for.
pub fn broken_glass_of(user_id: Uuid, now: DateTime<Utc>) -> SelectStatement {
    Query::select()
        .column(break_glass_grant::Column::PatientId)
        .from(break_glass_grant::Entity)
        .cond_where(
            Condition::all()
                .add(break_glass_grant::Column::UserId.eq(user_id))
                .add(active_grant(now)),
        )
        .to_owned()
}

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

/// The patients to whom this staff member holds an active assignment of
/// this kind, as a subquery of patient ids.
fn assignments_of(staff_id: Uuid, kind: &str, now: DateTime<Utc>) -> SelectStatement {
    Query::select()
        .column(care_assignment::Column::PatientId)
        .from(care_assignment::Entity)
        .cond_where(
            Condition::all()
                .add(care_assignment::Column::StaffId.eq(staff_id))
                .add(care_assignment::Column::Kind.eq(kind))
                .add(active_assignment(now)),
        )
        .to_owned()
}

/// The patients this doctor attends right now (active ATTENDING assignment).
pub fn attended_by(staff_id: Uuid, now: DateTime<Utc>) -> SelectStatement {
    assignments_of(staff_id, ATTENDING, now)
}

fn assigned_patients(staff_id: Uuid, kind: &str, now: DateTime<Utc>) -> SimpleExpr {
    patient::Column::Id.in_subquery(assignments_of(staff_id, kind, now))
}

/// The rows of `patients` on which the caller may do `action` to `class`,
/// as a WHERE condition. FORBIDDEN when no scope grants it at all.
pub fn patient_filter(
    policy: &Policy,
    caller: Principal,
    action: Action,
    class: FieldClass,
    now: DateTime<Utc>,
) -> AppResult<Condition> {
    let scopes = policy.scopes(caller.role, action, class);
    if scopes.is_empty() {
        return Err(AppError::forbidden("your role may not read patient records"));
    }
    let not_restricted = patient::Column::Restricted.eq(false);
    let mut any = Condition::any();
    for scope in scopes {
        any = match scope {
            Scope::Any => any.add(not_restricted.clone()),
            Scope::Treating => any
                .add(
                    Condition::all()
                        .add(patient::Column::RegisteredBy.eq(caller.user_id))
                        .add(not_restricted.clone()),
                )
                .add(assigned_patients(caller.user_id, ATTENDING, now)),
            Scope::Assigned => any.add(assigned_patients(caller.user_id, NURSE, now)),
            Scope::OwnRecord => match caller.patient_id {
                Some(own) => any.add(patient::Column::Id.eq(own)),
                None => any,
            },
            // A restricted patient is never opened by break-glass (see
            // `standing`): the filter says so too.
            Scope::BreakGlass => any.add(
                Condition::all()
                    .add(patient::Column::Id.in_subquery(broken_glass_of(caller.user_id, now)))
                    .add(not_restricted.clone()),
            ),
        };
    }
    // An empty OR matches nothing; make that explicit (an id is never null).
    Ok(if any.is_empty() {
        Condition::all().add(patient::Column::Id.is_null())
    } else {
        any
    })
}

/// How one user stands to one patient, from the patient row, the user's own
/// active assignments to that patient (and `BREAK_GLASS` for an active
/// break-glass grant), and the user's linked record.
#[derive(Clone, Copy, Debug)]
pub struct Standing {
    pub relationships: Relationships,
    /// Holds an active ATTENDING assignment: the attending doctor.
    pub attending: bool,
}

pub fn standing(
    user_id: Uuid,
    own_patient: Option<Uuid>,
    patient: &patient::Model,
    assignment_kinds: &[String],
) -> Standing {
    let attending = assignment_kinds.iter().any(|k| k == ATTENDING);
    let nurse = assignment_kinds.iter().any(|k| k == NURSE);
    let mut rel = if patient.restricted {
        Relationships::none()
    } else {
        Relationships::none_but_any()
    };
    if attending || (patient.registered_by == user_id && !patient.restricted) {
        rel = rel.with(Scope::Treating);
    }
    if nurse {
        rel = rel.with(Scope::Assigned);
    }
    if own_patient == Some(patient.id) {
        rel = rel.with(Scope::OwnRecord);
    }
    // DESIGN §3: a restricted patient is reachable only through an explicit
    // assignment or SELF, "for every role". A break-glass grant is neither:
    // it is the clinician's own decision, made alone. A VIP's emergency care
    // goes through an assignment by the attending doctor instead.
    if assignment_kinds.iter().any(|k| k == BREAK_GLASS) && !patient.restricted {
        rel = rel.with(Scope::BreakGlass);
    }
    Standing {
        relationships: rel,
        attending,
    }
}
