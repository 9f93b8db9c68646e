use sea_orm_migration::prelude::*;

use crate::m20261123_000003_create_patients::Patients;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Allergies {
    Table,
    Id,
    PatientId,
    Substance,
    Reaction,
    Severity,
    RecordedBy,
    RecordedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Allergies::Table)
                    .col(ColumnDef::new(Allergies::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Allergies::PatientId).uuid().not_null())
                    .col(ColumnDef::new(Allergies::Substance).string_len(200).not_null())
                    .col(ColumnDef::new(Allergies::Reaction).string_len(500).not_null())
                    .col(ColumnDef::new(Allergies::Severity).string_len(16).not_null())
                    .col(ColumnDef::new(Allergies::RecordedBy).uuid().not_null())
                    .col(
                        ColumnDef::new(Allergies::RecordedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_allergies_patient")
                            .from(Allergies::Table, Allergies::PatientId)
                            .to(Patients::Table, Patients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_allergies_patient")
                    .table(Allergies::Table)
                    .col(Allergies::PatientId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Allergies::Table).to_owned())
            .await
    }
}
