//! Per-role introspection: a role sees only what its policy grants could ever
//! let it use. `visible` only hides; every hidden field is still checked by
//! the `Caller` when resolved.

use async_graphql::Context;

use crate::access::Caller;
use crate::policy::{Action, FieldClass};

fn could(ctx: &Context<'_>, action: Action, class: FieldClass) -> bool {
    ctx.data_opt::<Caller>()
        .is_some_and(|caller| caller.could_ever(action, class))
}

/// requestElevation: staff, whatever their role.
pub fn staff(ctx: &Context<'_>) -> bool {
    ctx.data_opt::<Caller>()
        .and_then(|caller| caller.role())
        .is_some_and(|role| role != crate::policy::Role::Patient)
}

pub fn authenticated(ctx: &Context<'_>) -> bool {
    ctx.data_opt::<Caller>()
        .is_some_and(|caller| caller.role().is_some())
}

macro_rules! may {
    ($($name:ident => $action:ident $class:ident;)*) => {
        $(pub fn $name(ctx: &Context<'_>) -> bool {
            could(ctx, Action::$action, FieldClass::$class)
        })*
    };
}

may! {
    reads_directory => Read Directory;
    reads_demographics => Read Demographics;
    reads_contact => Read Contact;
    reads_identifiers => Read Identifiers;
    reads_vitals => Read Vitals;
    reads_clinical => Read Clinical;
    reads_notes => Read Notes;
    reads_billing => Read Billing;
    reads_care_team => Read CareTeam;
    reads_restriction => Read Restriction;
    writes_care_team => Write CareTeam;
    writes_vitals => Write Vitals;
    writes_clinical => Write Clinical;
    writes_billing => Write Billing;
    reads_departments => Read Departments;
    creates_departments => Create Departments;
    changes_departments => Write Departments;
    reads_deidentified => Read Deidentified;
    publishes_research => Create Deidentified;
    reviews_access => Read AccessReview;
    creates_patients => Create PatientRecord;
    deletes_patients => Delete PatientRecord;
    reads_staff => Read StaffDirectory;
    creates_accounts => Create Accounts;
    invites_patients => Create PatientAccounts;
    deletes_accounts => Delete Accounts;
    changes_accounts => Write Accounts;
    reads_account_requests => Read AccountApprovals;
    approves_accounts => Write AccountApprovals;
    reads_access_log => Read AccessLog;
    reads_audit_trail => Read AuditTrail;
    reviews_break_glass => Read BreakGlassReview;
    judges_break_glass => Write BreakGlassReview;
}

/// breakGlass and `me.activeBreakGlass`: roles with a BREAK_GLASS grant.
pub fn breaks_glass(ctx: &Context<'_>) -> bool {
    ctx.data_opt::<Caller>()
        .is_some_and(|caller| caller.may_break_glass())
}

/// writeNote is visible to a role that may write either kind of note.
pub fn writes_notes(ctx: &Context<'_>) -> bool {
    could(ctx, Action::Write, FieldClass::Notes) || could(ctx, Action::Write, FieldClass::SensitiveNotes)
}

/// updatePatient is visible to a role that may write any field of a patient.
pub fn updates_patients(ctx: &Context<'_>) -> bool {
    [
        FieldClass::Directory,
        FieldClass::Demographics,
        FieldClass::Contact,
        FieldClass::Identifiers,
    ]
    .into_iter()
    .any(|class| could(ctx, Action::Write, class))
}

/// `ResearchRelease` is read by researchers (with the data set) and
/// returned to whoever publishes one.
pub fn reads_or_publishes_research(ctx: &Context<'_>) -> bool {
    could(ctx, Action::Read, FieldClass::Deidentified) || could(ctx, Action::Create, FieldClass::Deidentified)
}

/// `PageInfo` is shared by the patient list, the audit trail and a
/// patient's access log: visible to whoever sees one of them.
pub fn pages_lists(ctx: &Context<'_>) -> bool {
    reads_directory(ctx) || reads_access_log(ctx) || reads_audit_trail(ctx)
}
