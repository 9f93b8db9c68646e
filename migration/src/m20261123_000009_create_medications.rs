use sea_orm_migration::prelude::*;

use crate::m20261123_000003_create_patients::Patients;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Medications {
    Table,
    Id,
    PatientId,
    Name,
    Dose,
    Route,
    Frequency,
    PrescribedBy,
    StartsAt,
    EndsAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Medications::Table)
                    .col(ColumnDef::new(Medications::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Medications::PatientId).uuid().not_null())
                    .col(ColumnDef::new(Medications::Name).string_len(200).not_null())
                    .col(ColumnDef::new(Medications::Dose).string_len(100).not_null())
                    .col(ColumnDef::new(Medications::Route).string_len(50).not_null())
                    .col(ColumnDef::new(Medications::Frequency).string_len(100).not_null())
                    .col(ColumnDef::new(Medications::PrescribedBy).uuid().not_null())
                    .col(
                        ColumnDef::new(Medications::StartsAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Medications::EndsAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_medications_patient")
                            .from(Medications::Table, Medications::PatientId)
                            .to(Patients::Table, Patients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_medications_patient")
                    .table(Medications::Table)
                    .col(Medications::PatientId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Medications::Table).to_owned())
            .await
    }
}
