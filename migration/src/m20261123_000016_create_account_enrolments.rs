use sea_orm_migration::prelude::*;

use crate::m20261123_000001_create_users::Users;
use crate::m20261123_000003_create_patients::Patients;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AccountEnrolments {
    Table,
    Id,
    Kind,
    AccountId,
    PatientId,
    Email,
    Name,
    Role,
    DepartmentId,
    RequestedBy,
    RequestedAt,
    RequestHash,
    NeedsApproval,
    ApprovedBy,
    ApprovedAt,
    ApprovalHash,
    ExpiresAt,
    UsedAt,
    Attempts,
}

#[derive(DeriveIden)]
enum NewColumns {
    PasswordHash,
    Role,
    PatientId,
    HadAccount,
}

/// Four-eyes provisioning: every account that can log in is created when its
/// owner enrols with a one-time code. Staff accounts and re-invitations need a
/// second person's approval, who holds the other half of the code.
///
/// `patients.had_account` remembers that a record had an account, so that
/// deleting the account and inviting again cannot skip the approval.
///
/// Replaces `enrolments`, which were keyed by an account created at
/// invitation time. Outstanding patient invitations are dropped with it
/// (the desk invites again) together with their never-enrolled placeholder
/// accounts, which could not log in.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Alias::new("enrolments")).to_owned())
            .await?;
        manager
            .exec_stmt(
                Query::delete()
                    .from_table(Users::Table)
                    .and_where(Expr::col(NewColumns::PasswordHash).eq("!not-enrolled"))
                    .and_where(Expr::col(NewColumns::Role).eq("PATIENT"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Patients::Table)
                    .add_column(
                        ColumnDef::new(NewColumns::HadAccount)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(Patients::Table)
                    .value(NewColumns::HadAccount, true)
                    .and_where(
                        Expr::col(Patients::Id).in_subquery(
                            Query::select()
                                .column(NewColumns::PatientId)
                                .from(Users::Table)
                                .and_where(Expr::col(NewColumns::PatientId).is_not_null())
                                .to_owned(),
                        ),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccountEnrolments::Table)
                    .col(
                        ColumnDef::new(AccountEnrolments::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AccountEnrolments::Kind).string_len(16).not_null())
                    // No foreign key: a patient's account is created only when
                    // the patient enrols, under this id.
                    .col(ColumnDef::new(AccountEnrolments::AccountId).uuid().not_null())
                    .col(ColumnDef::new(AccountEnrolments::PatientId).uuid().null())
                    .col(ColumnDef::new(AccountEnrolments::Email).string_len(320).null())
                    // Staff requests: the account to create at enrolment.
                    .col(ColumnDef::new(AccountEnrolments::Name).string_len(200).null())
                    .col(ColumnDef::new(AccountEnrolments::Role).string_len(32).null())
                    .col(ColumnDef::new(AccountEnrolments::DepartmentId).uuid().null())
                    .col(ColumnDef::new(AccountEnrolments::RequestedBy).uuid().not_null())
                    .col(
                        ColumnDef::new(AccountEnrolments::RequestedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AccountEnrolments::RequestHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(AccountEnrolments::NeedsApproval)
                            .boolean()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AccountEnrolments::ApprovedBy).uuid().null())
                    .col(
                        ColumnDef::new(AccountEnrolments::ApprovedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AccountEnrolments::ApprovalHash)
                            .string_len(64)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AccountEnrolments::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AccountEnrolments::UsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(AccountEnrolments::Attempts).integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_account_enrolments_patient")
                            .from(AccountEnrolments::Table, AccountEnrolments::PatientId)
                            .to(Patients::Table, Patients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_account_enrolments_account")
                    .table(AccountEnrolments::Table)
                    .col(AccountEnrolments::AccountId)
                    .to_owned(),
            )
            .await?;
        // One account per patient record, even against concurrent enrolments.
        manager
            .create_index(
                Index::create()
                    .name("idx_users_patient_unique")
                    .table(Users::Table)
                    .col(NewColumns::PatientId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_account_enrolments_patient")
                    .table(AccountEnrolments::Table)
                    .col(AccountEnrolments::PatientId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccountEnrolments::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_users_patient_unique")
                    .table(Users::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Patients::Table)
                    .drop_column(NewColumns::HadAccount)
                    .to_owned(),
            )
            .await?;
        crate::m20261123_000015_create_enrolments::Migration
            .up(manager)
            .await
    }
}
