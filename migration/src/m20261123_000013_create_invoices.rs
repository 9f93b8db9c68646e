use sea_orm_migration::prelude::*;

use crate::m20261123_000003_create_patients::Patients;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invoices {
    Table,
    Id,
    PatientId,
    Description,
    AmountCents,
    Currency,
    Status,
    IssuedBy,
    IssuedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Invoices::Table)
                    .col(ColumnDef::new(Invoices::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Invoices::PatientId).uuid().not_null())
                    .col(ColumnDef::new(Invoices::Description).string_len(500).not_null())
                    .col(ColumnDef::new(Invoices::AmountCents).big_integer().not_null())
                    .col(ColumnDef::new(Invoices::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(Invoices::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Invoices::IssuedBy).uuid().not_null())
                    .col(
                        ColumnDef::new(Invoices::IssuedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invoices_patient")
                            .from(Invoices::Table, Invoices::PatientId)
                            .to(Patients::Table, Patients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_invoices_patient")
                    .table(Invoices::Table)
                    .col(Invoices::PatientId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Invoices::Table).to_owned())
            .await
    }
}
