use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Just-in-time elevation: a staff member asks for another role for up to
/// eight hours, with a reason; a different administrator approves or
/// refuses. While approved and unexpired, the sessions of the account carry
/// the role (`sessions.elevated_role` until `sessions.elevated_until`), so
/// the request path needs no extra statement. No foreign keys on purpose,
/// as for break-glass grants: a request is evidence and outlives accounts.
#[derive(DeriveIden)]
enum Elevations {
    Table,
    Id,
    UserId,
    Role,
    Reason,
    Minutes,
    RequestedAt,
    DecidedBy,
    DecidedAt,
    Status,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    ElevatedRole,
    ElevatedUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Elevations::Table)
                    .col(ColumnDef::new(Elevations::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Elevations::UserId).uuid().not_null())
                    .col(ColumnDef::new(Elevations::Role).string_len(32).not_null())
                    .col(ColumnDef::new(Elevations::Reason).text().not_null())
                    .col(ColumnDef::new(Elevations::Minutes).integer().not_null())
                    .col(
                        ColumnDef::new(Elevations::RequestedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Elevations::DecidedBy).uuid().null())
                    .col(
                        ColumnDef::new(Elevations::DecidedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Elevations::Status).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Elevations::ExpiresAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_elevations_user")
                    .table(Elevations::Table)
                    .col(Elevations::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(ColumnDef::new(Sessions::ElevatedRole).string_len(32).null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(
                        ColumnDef::new(Sessions::ElevatedUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Sessions::ElevatedUntil, Sessions::ElevatedRole] {
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
            .drop_table(Table::drop().table(Elevations::Table).to_owned())
            .await
    }
}
