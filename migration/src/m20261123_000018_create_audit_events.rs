use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Seq,
    Id,
    At,
    ActorId,
    ActorRole,
    Action,
    Outcome,
    PatientIds,
    FieldClasses,
    Purpose,
    GrantNo,
    OperationName,
    RequestId,
    ClientAddr,
    Detail,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum AuditEventPatients {
    Table,
    PatientId,
    EventSeq,
}

#[derive(DeriveIden)]
enum AuditHead {
    Table,
    Id,
    Count,
    Hash,
}

/// The hash the first event follows: 32 zero bytes, in hex.
const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The audit trail (see `api/src/audit/`).
///
/// - `audit_events`: one row per event, in chain order. `seq` (1, 2, 3, ...)
///   is the chain position the writer assigns; `hash` is the SHA-256 of
///   `prev_hash` and the event's canonical encoding. Ids and codes only,
///   never a value of patient data. `patient_ids` and `field_classes` are
///   JSON arrays (what the hash covers).
/// - `audit_event_patients`: the same patient ids, one row each, so that the
///   trail can be searched by patient with an index. Derived from the chain;
///   `caregraph audit verify` checks it matches.
/// - `audit_head`: one row, the chain's length and last hash. Every append
///   locks it first, so that writers on several servers keep one order.
///
/// No foreign keys: deleting an account or a patient keeps the trail.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(
                        ColumnDef::new(AuditEvents::Seq)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AuditEvents::Id).uuid().not_null().unique_key())
                    .col(
                        ColumnDef::new(AuditEvents::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditEvents::ActorId).uuid().null())
                    .col(ColumnDef::new(AuditEvents::ActorRole).string_len(32).null())
                    .col(ColumnDef::new(AuditEvents::Action).string_len(32).not_null())
                    .col(ColumnDef::new(AuditEvents::Outcome).string_len(16).not_null())
                    .col(ColumnDef::new(AuditEvents::PatientIds).text().not_null())
                    .col(ColumnDef::new(AuditEvents::FieldClasses).text().not_null())
                    .col(ColumnDef::new(AuditEvents::Purpose).string_len(16).null())
                    .col(ColumnDef::new(AuditEvents::GrantNo).integer().null())
                    .col(ColumnDef::new(AuditEvents::OperationName).string_len(128).null())
                    .col(ColumnDef::new(AuditEvents::RequestId).uuid().null())
                    .col(ColumnDef::new(AuditEvents::ClientAddr).string_len(64).null())
                    .col(ColumnDef::new(AuditEvents::Detail).text().not_null())
                    .col(ColumnDef::new(AuditEvents::PrevHash).string_len(64).not_null())
                    .col(ColumnDef::new(AuditEvents::Hash).string_len(64).not_null())
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_audit_events_actor", AuditEvents::ActorId),
            ("idx_audit_events_at", AuditEvents::At),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditEvents::Table)
                        .col(column)
                        .col(AuditEvents::Seq)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AuditEventPatients::Table)
                    .col(ColumnDef::new(AuditEventPatients::PatientId).uuid().not_null())
                    .col(
                        ColumnDef::new(AuditEventPatients::EventSeq)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(AuditEventPatients::PatientId)
                            .col(AuditEventPatients::EventSeq),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_event_patients_event")
                    .table(AuditEventPatients::Table)
                    .col(AuditEventPatients::EventSeq)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditHead::Table)
                    .col(ColumnDef::new(AuditHead::Id).integer().not_null().primary_key())
                    .col(ColumnDef::new(AuditHead::Count).big_integer().not_null())
                    .col(ColumnDef::new(AuditHead::Hash).string_len(64).not_null())
                    .to_owned(),
            )
            .await?;
        let genesis = Query::insert()
            .into_table(AuditHead::Table)
            .columns([AuditHead::Id, AuditHead::Count, AuditHead::Hash])
            .values([1.into(), 0i64.into(), GENESIS_HASH.into()])
            .map_err(|e| DbErr::Migration(e.to_string()))?
            .to_owned();
        manager.exec_stmt(genesis).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditHead::Table.into_iden(),
            AuditEventPatients::Table.into_iden(),
            AuditEvents::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
