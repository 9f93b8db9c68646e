//! Staff and patient accounts.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Stored lower-cased, so uniqueness is case-insensitive.
    #[sea_orm(unique)]
    pub email: String,
    pub name: String,
    /// One of the `Role` names of the policy (`ADMIN`, `DOCTOR`, ...).
    pub role: String,
    pub password_hash: String,
    pub active: bool,
    pub department_id: Option<Uuid>,
    /// For PATIENT accounts: the one record this account may read (SELF scope).
    pub patient_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub deactivated_at: Option<DateTimeUtc>,
}

crate::debug_shows_only!(id, role, active, patient_id);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::session::Entity")]
    Session,
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
