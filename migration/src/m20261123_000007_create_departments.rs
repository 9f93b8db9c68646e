use sea_orm_migration::prelude::*;

use crate::m20261123_000001_create_users::Users;
use crate::m20261123_000003_create_patients::Patients;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Departments {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum NewColumns {
    DepartmentId,
    PatientId,
    PostalCode,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Departments::Table)
                    .col(ColumnDef::new(Departments::Id).uuid().not_null().primary_key())
                    .col(
                        ColumnDef::new(Departments::Name)
                            .string_len(200)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Departments::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per ALTER TABLE. The new links carry no
        // foreign key (SQLite cannot add one to an existing table); the
        // server checks them when it writes them.
        for (table, column) in [
            (Users::Table.into_iden(), NewColumns::DepartmentId),
            (Users::Table.into_iden(), NewColumns::PatientId),
            (Patients::Table.into_iden(), NewColumns::DepartmentId),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(ColumnDef::new(column).uuid().null())
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Patients::Table)
                    .add_column(ColumnDef::new(NewColumns::PostalCode).string_len(16).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_patient")
                    .table(Users::Table)
                    .col(NewColumns::PatientId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_users_patient")
                    .table(Users::Table)
                    .to_owned(),
            )
            .await?;
        for (table, column) in [
            (Users::Table.into_iden(), NewColumns::DepartmentId),
            (Users::Table.into_iden(), NewColumns::PatientId),
            (Patients::Table.into_iden(), NewColumns::DepartmentId),
            (Patients::Table.into_iden(), NewColumns::PostalCode),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        manager
            .drop_table(Table::drop().table(Departments::Table).to_owned())
            .await
    }
}
