//! Which patients an audit event names, one row each: the index by which
//! the trail is searched by patient. Derived from `audit_events.patient_ids`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event_patients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_seq: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
