//! Invoices for care given.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub patient_id: Uuid,
    pub description: String,
    pub amount_cents: i64,
    pub currency: String,
    /// `DRAFT`, `ISSUED`, `PAID` or `VOID`.
    pub status: String,
    pub issued_by: Uuid,
    pub issued_at: DateTimeUtc,
}

crate::debug_shows_only!(id, patient_id);

crate::belongs_to_patient!();
