//! Allergies and intolerances.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "allergies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub patient_id: Uuid,
    pub substance: String,
    pub reaction: String,
    /// `MILD`, `MODERATE` or `SEVERE`.
    pub severity: String,
    pub recorded_by: Uuid,
    pub recorded_at: DateTimeUtc,
}

crate::debug_shows_only!(id, patient_id);

crate::belongs_to_patient!();
