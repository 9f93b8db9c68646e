use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

use crate::m20261123_000003_create_patients::Patients;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum NewColumns {
    ResearchId,
}

/// A random id per patient for the research data set: it is ordered and
/// pseudonymised by this, never by the patient's id, so the directory's ids
/// cannot be lined up with the data set.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Patients::Table)
                    .add_column(ColumnDef::new(NewColumns::ResearchId).uuid().null())
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id FROM patients WHERE research_id IS NULL",
            ))
            .await?;
        for row in rows {
            let id: sea_orm_migration::sea_orm::prelude::Uuid = row.try_get("", "id")?;
            let update = Query::update()
                .table(Patients::Table)
                .value(NewColumns::ResearchId, uuid::Uuid::new_v4())
                .and_where(Expr::col(Patients::Id).eq(id))
                .to_owned();
            manager.exec_stmt(update).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Patients::Table)
                    .drop_column(NewColumns::ResearchId)
                    .to_owned(),
            )
            .await
    }
}
