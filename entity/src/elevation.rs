//! Just-in-time elevation: a request for another role for a while, decided
//! by a different administrator. No foreign keys: evidence outlives accounts.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "elevations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// The role asked for (a `Role` name).
    pub role: String,
    /// The requester's own words: never logged, never copied into the trail.
    pub reason: String,
    pub minutes: i32,
    pub requested_at: DateTimeUtc,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
    /// `REQUESTED`, `APPROVED` or `REFUSED`.
    pub status: String,
    /// Set on approval: the end of the elevation.
    pub expires_at: Option<DateTimeUtc>,
}

crate::debug_shows_only!(id, user_id, role, minutes, status, expires_at);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
