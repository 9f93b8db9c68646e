//! Medication orders.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "medications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub patient_id: Uuid,
    pub name: String,
    pub dose: String,
    pub route: String,
    pub frequency: String,
    pub prescribed_by: Uuid,
    pub starts_at: DateTimeUtc,
    pub ends_at: Option<DateTimeUtc>,
}

crate::debug_shows_only!(id, patient_id);

crate::belongs_to_patient!();
