//! Emergency access to one patient by one clinician, for a limited window,
//! awaiting a compliance officer's review. The grant outlives the patient
//! record and the account (no foreign keys): it is evidence for the review.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "break_glass_grants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub patient_id: Uuid,
    /// The clinician's own words: never logged, never copied into the audit trail.
    pub reason: String,
    pub opened_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub reviewed_by: Option<Uuid>,
    pub reviewed_at: Option<DateTimeUtc>,
    /// `APPROPRIATE` or `INAPPROPRIATE`.
    pub review_outcome: Option<String>,
    pub review_note: Option<String>,
}

crate::debug_shows_only!(id, user_id, patient_id, opened_at, expires_at, reviewed_at);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::patient::Entity",
        from = "Column::PatientId",
        to = "super::patient::Column::Id"
    )]
    Patient,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id"
    )]
    User,
}

impl Related<super::patient::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Patient.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
