use sea_orm_migration::prelude::*;

use crate::m20261123_000001_create_users::Users;
use crate::m20261123_000003_create_patients::Patients;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CareAssignments {
    Table,
    Id,
    PatientId,
    StaffId,
    Kind,
    AssignedBy,
    StartsAt,
    EndsAt,
    RevokedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CareAssignments::Table)
                    .col(
                        ColumnDef::new(CareAssignments::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(CareAssignments::PatientId).uuid().not_null())
                    .col(ColumnDef::new(CareAssignments::StaffId).uuid().not_null())
                    .col(ColumnDef::new(CareAssignments::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(CareAssignments::AssignedBy).uuid().not_null())
                    .col(
                        ColumnDef::new(CareAssignments::StartsAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CareAssignments::EndsAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(CareAssignments::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(CareAssignments::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_care_assignments_patient")
                            .from(CareAssignments::Table, CareAssignments::PatientId)
                            .to(Patients::Table, Patients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_care_assignments_staff")
                            .from(CareAssignments::Table, CareAssignments::StaffId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Scope filters look assignments up by staff member, relations by patient.
        manager
            .create_index(
                Index::create()
                    .name("idx_care_assignments_staff")
                    .table(CareAssignments::Table)
                    .col(CareAssignments::StaffId)
                    .col(CareAssignments::Kind)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_care_assignments_patient")
                    .table(CareAssignments::Table)
                    .col(CareAssignments::PatientId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CareAssignments::Table).to_owned())
            .await
    }
}
