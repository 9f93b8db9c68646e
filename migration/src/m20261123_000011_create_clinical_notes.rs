use sea_orm_migration::prelude::*;

use crate::m20261123_000003_create_patients::Patients;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ClinicalNotes {
    Table,
    Id,
    PatientId,
    AuthorId,
    Sensitivity,
    Body,
    WrittenAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ClinicalNotes::Table)
                    .col(ColumnDef::new(ClinicalNotes::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(ClinicalNotes::PatientId).uuid().not_null())
                    .col(ColumnDef::new(ClinicalNotes::AuthorId).uuid().not_null())
                    .col(
                        ColumnDef::new(ClinicalNotes::Sensitivity)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ClinicalNotes::Body).text().not_null())
                    .col(
                        ColumnDef::new(ClinicalNotes::WrittenAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ClinicalNotes::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_clinical_notes_patient")
                            .from(ClinicalNotes::Table, ClinicalNotes::PatientId)
                            .to(Patients::Table, Patients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_clinical_notes_patient")
                    .table(ClinicalNotes::Table)
                    .col(ClinicalNotes::PatientId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ClinicalNotes::Table).to_owned())
            .await
    }
}
