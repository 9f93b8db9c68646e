//! One de-identified patient of a research release, in the release's order.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "research_release_rows")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub release_id: Uuid,
    /// 0, 1, 2, ... within the release (the order of the research ids).
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    /// The de-identified patient as JSON; nothing in it identifies anyone.
    pub record: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::research_release::Entity",
        from = "Column::ReleaseId",
        to = "super::research_release::Column::Id",
        on_delete = "Cascade"
    )]
    Release,
}

impl Related<super::research_release::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Release.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
