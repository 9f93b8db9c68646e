use sea_orm_migration::prelude::*;

use crate::m20261123_000003_create_patients::Patients;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Diagnoses {
    Table,
    Id,
    PatientId,
    Icd10Code,
    Description,
    RecordedBy,
    RecordedAt,
    ResolvedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Diagnoses::Table)
                    .col(ColumnDef::new(Diagnoses::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Diagnoses::PatientId).uuid().not_null())
                    .col(ColumnDef::new(Diagnoses::Icd10Code).string_len(16).not_null())
                    .col(ColumnDef::new(Diagnoses::Description).string_len(500).not_null())
                    .col(ColumnDef::new(Diagnoses::RecordedBy).uuid().not_null())
                    .col(
                        ColumnDef::new(Diagnoses::RecordedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Diagnoses::ResolvedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_diagnoses_patient")
                            .from(Diagnoses::Table, Diagnoses::PatientId)
                            .to(Patients::Table, Patients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_diagnoses_patient")
                    .table(Diagnoses::Table)
                    .col(Diagnoses::PatientId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Diagnoses::Table).to_owned())
            .await
    }
}
