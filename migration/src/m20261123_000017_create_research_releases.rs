use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ResearchReleases {
    Table,
    Id,
    Number,
    ReleasedOn,
    CreatedAt,
    CreatedBy,
    PatientCount,
}

#[derive(DeriveIden)]
enum ResearchReleaseRows {
    Table,
    ReleaseId,
    Position,
    Record,
}

/// Dated releases of the research data set: each is a frozen snapshot of the
/// de-identified rows, so that the data set researchers read does not follow
/// the live chart. `number` is unique: two releases published at once cannot
/// both follow the same predecessor. `created_by` has no foreign key (as
/// `patients.registered_by`): deleting an account keeps the releases it made;
/// it is null for a release made on the server host.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ResearchReleases::Table)
                    .col(
                        ColumnDef::new(ResearchReleases::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ResearchReleases::Number)
                            .integer()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(ResearchReleases::ReleasedOn).date().not_null())
                    .col(
                        ColumnDef::new(ResearchReleases::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ResearchReleases::CreatedBy).uuid().null())
                    .col(
                        ColumnDef::new(ResearchReleases::PatientCount)
                            .integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ResearchReleaseRows::Table)
                    .col(ColumnDef::new(ResearchReleaseRows::ReleaseId).uuid().not_null())
                    .col(ColumnDef::new(ResearchReleaseRows::Position).integer().not_null())
                    // One de-identified patient as JSON.
                    .col(ColumnDef::new(ResearchReleaseRows::Record).text().not_null())
                    .primary_key(
                        Index::create()
                            .col(ResearchReleaseRows::ReleaseId)
                            .col(ResearchReleaseRows::Position),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_research_release_rows_release")
                            .from(ResearchReleaseRows::Table, ResearchReleaseRows::ReleaseId)
                            .to(ResearchReleases::Table, ResearchReleases::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ResearchReleaseRows::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ResearchReleases::Table).to_owned())
            .await
    }
}
