use sea_orm_migration::prelude::*;

use crate::m20261123_000003_create_patients::Patients;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Observations {
    Table,
    Id,
    PatientId,
    Kind,
    Value,
    Unit,
    RecordedAt,
    RecordedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Observations::Table)
                    .col(ColumnDef::new(Observations::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Observations::PatientId).uuid().not_null())
                    .col(ColumnDef::new(Observations::Kind).string_len(32).not_null())
                    .col(ColumnDef::new(Observations::Value).double().not_null())
                    .col(ColumnDef::new(Observations::Unit).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Observations::RecordedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Observations::RecordedBy).uuid().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_observations_patient")
                            .from(Observations::Table, Observations::PatientId)
                            .to(Patients::Table, Patients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_observations_patient")
                    .table(Observations::Table)
                    .col(Observations::PatientId)
                    .col(Observations::RecordedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Observations::Table).to_owned())
            .await
    }
}
