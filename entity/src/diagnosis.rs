//! Diagnoses, coded in ICD-10.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "diagnoses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub patient_id: Uuid,
    /// ICD-10 code, e.g. `J45.909`.
    pub icd10_code: String,
    pub description: String,
    pub recorded_by: Uuid,
    pub recorded_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
}

crate::debug_shows_only!(id, patient_id);

crate::belongs_to_patient!();
