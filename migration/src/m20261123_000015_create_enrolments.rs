use sea_orm_migration::prelude::*;

use crate::m20261123_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Enrolments {
    Table,
    Id,
    UserId,
    CodeHash,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    FailedAttempts,
}

/// One-time codes with which patients set their own password.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Enrolments::Table)
                    .col(ColumnDef::new(Enrolments::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Enrolments::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(Enrolments::CodeHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Enrolments::CreatedBy).uuid().not_null())
                    .col(
                        ColumnDef::new(Enrolments::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Enrolments::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Enrolments::UsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Enrolments::FailedAttempts).integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_enrolments_user")
                            .from(Enrolments::Table, Enrolments::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Enrolments::Table).to_owned())
            .await
    }
}
