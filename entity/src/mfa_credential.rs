//! An account's TOTP secret (RFC 6238), encrypted with the server's MFA key.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mfa_credentials")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// The secret, encrypted and authenticated (`auth::mfa`); never in clear.
    pub secret: String,
    /// Null while the enrolment waits for its first code.
    pub confirmed_at: Option<DateTimeUtc>,
    /// The last time step a code was accepted for: no code is accepted twice.
    pub last_step: Option<i64>,
    pub created_at: DateTimeUtc,
}

crate::debug_shows_only!(user_id, confirmed_at, last_step);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
