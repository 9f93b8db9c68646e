//! Finding the events that name a patient.
//!
//! Every event keeps the patients it names in `patient_ids`, a JSON array
//! the chain's hash covers. To search it by patient:
//! - on PostgreSQL, a GIN index over that very column read as `jsonb`
//!   (migration 000023): derived by the database from the hashed value, so
//!   it cannot disagree with the chain, and cheap to append to (a nurse
//!   page's event names 25 patients: one GIN entry, where a side table
//!   took 25 rows and 50 B-tree insertions);
//! - on SQLite, which has no such index, the side table
//!   `audit_event_patients` (one row per patient and event), written in the
//!   same statement or transaction as the event, and checked against the
//!   chain by `caregraph audit verify`.

use sea_orm::sea_query::{Expr, Query, SimpleExpr};
use sea_orm::{ColumnTrait, DatabaseBackend};
use uuid::Uuid;

use caregraph_entity::{audit_event, audit_event_patient};

/// Whether this backend keeps the `audit_event_patients` side table.
pub(super) fn uses_side_table(backend: DatabaseBackend) -> bool {
    backend != DatabaseBackend::Postgres
}

/// The condition on `audit_events` rows: "this event names `patient`".
pub fn names_patient(backend: DatabaseBackend, patient: Uuid) -> SimpleExpr {
    if uses_side_table(backend) {
        audit_event::Column::Seq.in_subquery(
            Query::select()
                .column(audit_event_patient::Column::EventSeq)
                .from(audit_event_patient::Entity)
                .and_where(audit_event_patient::Column::PatientId.eq(patient))
                .to_owned(),
        )
    } else {
        // The expression must be written as the index's is, to be used.
        Expr::cust_with_values(
            r#"("audit_events"."patient_ids")::jsonb @> $1::jsonb"#,
            [serde_json::json!([patient]).to_string()],
        )
    }
}
