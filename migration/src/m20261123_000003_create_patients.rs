use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Patients {
    Table,
    Id,
    Mrn,
    GivenName,
    FamilyName,
    DateOfBirth,
    Sex,
    Phone,
    Address,
    Email,
    NationalId,
    Restricted,
    RegisteredBy,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // `registered_by` deliberately has no foreign key: deleting a staff
        // account must not delete or orphan-block the charts they registered.
        manager
            .create_table(
                Table::create()
                    .table(Patients::Table)
                    .col(ColumnDef::new(Patients::Id).uuid().not_null().primary_key())
                    .col(
                        ColumnDef::new(Patients::Mrn)
                            .string_len(32)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Patients::GivenName).string_len(200).not_null())
                    .col(ColumnDef::new(Patients::FamilyName).string_len(200).not_null())
                    .col(ColumnDef::new(Patients::DateOfBirth).date().not_null())
                    .col(ColumnDef::new(Patients::Sex).string_len(16).not_null())
                    .col(ColumnDef::new(Patients::Phone).string_len(64).null())
                    .col(ColumnDef::new(Patients::Address).string_len(500).null())
                    .col(ColumnDef::new(Patients::Email).string_len(320).null())
                    .col(ColumnDef::new(Patients::NationalId).string_len(64).null())
                    .col(ColumnDef::new(Patients::Restricted).boolean().not_null())
                    .col(ColumnDef::new(Patients::RegisteredBy).uuid().not_null())
                    .col(
                        ColumnDef::new(Patients::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Patients::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_patients_registered_by")
                    .table(Patients::Table)
                    .col(Patients::RegisteredBy)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Patients::Table).to_owned())
            .await
    }
}
