use sea_orm_migration::prelude::*;

use crate::m20261123_000003_create_patients::Patients;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Coverages {
    Table,
    Id,
    PatientId,
    Payer,
    Plan,
    MemberId,
    ValidFrom,
    ValidTo,
    RecordedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Coverages::Table)
                    .col(ColumnDef::new(Coverages::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Coverages::PatientId).uuid().not_null())
                    .col(ColumnDef::new(Coverages::Payer).string_len(200).not_null())
                    .col(ColumnDef::new(Coverages::Plan).string_len(200).not_null())
                    .col(ColumnDef::new(Coverages::MemberId).string_len(64).not_null())
                    .col(ColumnDef::new(Coverages::ValidFrom).date().not_null())
                    .col(ColumnDef::new(Coverages::ValidTo).date().null())
                    .col(ColumnDef::new(Coverages::RecordedBy).uuid().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_coverages_patient")
                            .from(Coverages::Table, Coverages::PatientId)
                            .to(Patients::Table, Patients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_coverages_patient")
                    .table(Coverages::Table)
                    .col(Coverages::PatientId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Coverages::Table).to_owned())
            .await
    }
}
