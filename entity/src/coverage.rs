//! Insurance coverage.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "coverages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub patient_id: Uuid,
    pub payer: String,
    pub plan: String,
    pub member_id: String,
    pub valid_from: Date,
    pub valid_to: Option<Date>,
    pub recorded_by: Uuid,
}

crate::debug_shows_only!(id, patient_id);

crate::belongs_to_patient!();
