use sea_orm_migration::prelude::*;

use crate::m20261123_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Multi-factor authentication and step-up:
///
/// - `mfa_credentials`: one TOTP secret per account, encrypted with the
///   server's MFA key (never stored in clear); `confirmed_at` is null while
///   an enrolment is started and not yet confirmed with a code; `last_step`
///   is the last accepted RFC 6238 time step, so a code is never accepted
///   twice.
/// - `mfa_recovery_codes`: the SHA-256 of each single-use recovery code.
/// - on `sessions`: `authenticated_at`, when the session last proved its
///   credentials (login or `reauthenticate`), for step-up; `mfa_at`, when it
///   last passed a second factor (null: password only).
#[derive(DeriveIden)]
enum MfaCredentials {
    Table,
    UserId,
    Secret,
    ConfirmedAt,
    LastStep,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MfaRecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    AuthenticatedAt,
    MfaAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MfaCredentials::Table)
                    .col(
                        ColumnDef::new(MfaCredentials::UserId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(MfaCredentials::Secret).string_len(255).not_null())
                    .col(
                        ColumnDef::new(MfaCredentials::ConfirmedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(MfaCredentials::LastStep).big_integer().null())
                    .col(
                        ColumnDef::new(MfaCredentials::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_mfa_credentials_user")
                            .from(MfaCredentials::Table, MfaCredentials::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MfaRecoveryCodes::Table)
                    .col(
                        ColumnDef::new(MfaRecoveryCodes::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(MfaRecoveryCodes::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(MfaRecoveryCodes::CodeHash)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MfaRecoveryCodes::UsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(MfaRecoveryCodes::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_mfa_recovery_codes_user")
                            .from(MfaRecoveryCodes::Table, MfaRecoveryCodes::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_mfa_recovery_codes_user")
                    .table(MfaRecoveryCodes::Table)
                    .col(MfaRecoveryCodes::UserId)
                    .col(MfaRecoveryCodes::CodeHash)
                    .to_owned(),
            )
            .await?;
        // SQLite alters one column at a time.
        for column in [Sessions::AuthenticatedAt, Sessions::MfaAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Sessions::Table)
                        .add_column(ColumnDef::new(column).timestamp_with_time_zone().null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Sessions::MfaAt, Sessions::AuthenticatedAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Sessions::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(MfaRecoveryCodes::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(MfaCredentials::Table).to_owned())
            .await
    }
}
