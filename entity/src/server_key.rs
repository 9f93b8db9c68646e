//! Server-wide secrets generated on first start when none is configured,
//! shared by every instance that uses the same database.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "server_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// Base64 of the key bytes.
    pub value: String,
    pub created_at: DateTimeUtc,
}

crate::debug_shows_only!(name, created_at);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
