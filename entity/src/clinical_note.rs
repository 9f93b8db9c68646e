//! Clinical notes; psychotherapy and substance-use notes are sensitive.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clinical_notes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub patient_id: Uuid,
    pub author_id: Uuid,
    /// `NORMAL`, `PSYCHOTHERAPY` or `SUBSTANCE_USE`.
    pub sensitivity: String,
    pub body: String,
    pub written_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

crate::debug_shows_only!(id, patient_id);

crate::belongs_to_patient!();
