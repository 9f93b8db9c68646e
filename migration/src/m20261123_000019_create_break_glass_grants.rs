use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Emergency access: one row per break-glass, open for a limited window,
/// then reviewed by a compliance officer. The reason is the clinician's own
/// words and stays in this table (never in the audit trail or a log).
///
/// No foreign keys on purpose: a grant is evidence for its review, and must
/// outlive the deletion of the patient record (entered in error) or of the
/// account that opened it, as the audit trail's events do.
#[derive(DeriveIden)]
enum BreakGlassGrants {
    Table,
    Id,
    UserId,
    PatientId,
    Reason,
    OpenedAt,
    ExpiresAt,
    ReviewedBy,
    ReviewedAt,
    ReviewOutcome,
    ReviewNote,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BreakGlassGrants::Table)
                    .col(
                        ColumnDef::new(BreakGlassGrants::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(BreakGlassGrants::UserId).uuid().not_null())
                    .col(ColumnDef::new(BreakGlassGrants::PatientId).uuid().not_null())
                    .col(ColumnDef::new(BreakGlassGrants::Reason).text().not_null())
                    .col(
                        ColumnDef::new(BreakGlassGrants::OpenedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(BreakGlassGrants::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(BreakGlassGrants::ReviewedBy).uuid().null())
                    .col(
                        ColumnDef::new(BreakGlassGrants::ReviewedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(BreakGlassGrants::ReviewOutcome)
                            .string_len(16)
                            .null(),
                    )
                    .col(ColumnDef::new(BreakGlassGrants::ReviewNote).text().null())
                    .to_owned(),
            )
            .await?;
        // Scope filters look active grants up by user and window.
        manager
            .create_index(
                Index::create()
                    .name("idx_break_glass_grants_user")
                    .table(BreakGlassGrants::Table)
                    .col(BreakGlassGrants::UserId)
                    .col(BreakGlassGrants::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_break_glass_grants_review")
                    .table(BreakGlassGrants::Table)
                    .col(BreakGlassGrants::ReviewedAt)
                    .col(BreakGlassGrants::OpenedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(BreakGlassGrants::Table).to_owned())
            .await
    }
}
