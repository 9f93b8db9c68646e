//! Failed logins counted per account (keyed by a hash of the e-mail, known
//! or not) and per client address, in the database so that every instance
//! sees the same counts.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_throttle")]
pub struct Model {
    /// `account:<sha256 of the e-mail>` or `address:<ip>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// Failures in a row (reset by a success for an account, and for both
    /// kinds once none has happened for a while).
    pub failures: i32,
    pub last_failure_at: DateTimeUtc,
    /// No password is checked for this key before then.
    pub blocked_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
