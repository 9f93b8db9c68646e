//! Dated releases of the research data set: frozen snapshots of the
//! de-identified rows (see `research_release_row`).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "research_releases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// 1, 2, 3, ... in order of publication; unique.
    pub number: i32,
    /// The UTC day of publication: the only time researchers are shown.
    pub released_on: Date,
    /// The exact time, for the minimum interval between releases.
    pub created_at: DateTimeUtc,
    /// The compliance officer who published it; `None` from the server host.
    pub created_by: Option<Uuid>,
    pub patient_count: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::research_release_row::Entity")]
    Rows,
}

impl Related<super::research_release_row::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Rows.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
