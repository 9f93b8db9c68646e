//! Patient records: the heart of the PHI.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "patients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Medical record number, random (not sequential) and unique.
    #[sea_orm(unique)]
    pub mrn: String,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: Date,
    pub sex: String,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub postal_code: Option<String>,
    pub email: Option<String>,
    pub national_id: Option<String>,
    /// VIP or staff-as-patient: narrows access further.
    pub restricted: bool,
    pub department_id: Option<Uuid>,
    /// Random; orders and keys the research data set instead of `id`.
    pub research_id: Option<Uuid>,
    /// Whether an account for this record was ever opened: inviting the
    /// patient again needs a second person's approval.
    pub had_account: bool,
    /// The staff member who registered the patient (part of the TREATING scope).
    pub registered_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

crate::debug_shows_only!(id);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::care_assignment::Entity")]
    CareAssignment,
    #[sea_orm(has_many = "super::observation::Entity")]
    Observation,
}

impl Related<super::care_assignment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CareAssignment.def()
    }
}

impl Related<super::observation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Observation.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
