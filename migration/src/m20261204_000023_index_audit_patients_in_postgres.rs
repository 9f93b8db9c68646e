use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// On PostgreSQL, the trail is searched by patient through a GIN index over
/// `audit_events.patient_ids` (the hashed JSON array, read as `jsonb`)
/// instead of the side table `audit_event_patients`, which is dropped: the
/// index is derived by the database from the chain itself, and appending an
/// event that names 25 patients adds one GIN entry instead of 25 rows and
/// 50 B-tree insertions. SQLite keeps the side table (it has no such index).
/// See `api/src/audit/patient_index.rs`.
const CREATE_INDEX: &str = "CREATE INDEX idx_audit_events_patient_ids ON audit_events \
     USING gin ((patient_ids::jsonb) jsonb_path_ops)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(CREATE_INDEX).await?;
        db.execute_unprepared("DROP TABLE audit_event_patients").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE TABLE audit_event_patients (patient_id uuid NOT NULL, event_seq bigint NOT NULL, \
             PRIMARY KEY (patient_id, event_seq))",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX idx_audit_event_patients_event ON audit_event_patients (event_seq)",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO audit_event_patients (patient_id, event_seq) \
             SELECT DISTINCT p::uuid, seq FROM audit_events, jsonb_array_elements_text(patient_ids::jsonb) AS p",
        )
        .await?;
        db.execute_unprepared("DROP INDEX idx_audit_events_patient_ids")
            .await?;
        Ok(())
    }
}
