//! Vital signs recorded at the bedside.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "observations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub patient_id: Uuid,
    /// `HEART_RATE`, `TEMPERATURE`, ... (see the GraphQL `VitalSign` enum).
    pub kind: String,
    pub value: f64,
    pub unit: String,
    pub recorded_at: DateTimeUtc,
    pub recorded_by: Uuid,
}

crate::debug_shows_only!(id, patient_id);

crate::belongs_to_patient!();
