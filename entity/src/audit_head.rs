//! The head of the audit chain: one row (`id` 1) with the number of events
//! and the last event's hash. Every append locks it first.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_head")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    /// The `seq` of the last event; 0 before the first.
    pub count: i64,
    /// The last event's hash (hex); 64 zeros before the first.
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
