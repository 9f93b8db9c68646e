//! Migrations on a database that already holds data: the research ids of
//! existing patients are filled in, and every migration can be undone.

use caregraph_migration::{Migrator, MigratorTrait};
use caregraph_tests::{Backend, TestDatabase};
use sea_orm::{ConnectionTrait, Statement};

async fn backfills_research_ids(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let (db, _) = caregraph::db::connect(&database.url).await.unwrap();
    // Up to the migration before research ids, then a patient as it was then.
    Migrator::up(&db, Some(13)).await.unwrap();
    let id = uuid::Uuid::new_v4();
    let sql = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            "INSERT INTO patients (id, mrn, given_name, family_name, date_of_birth, sex, restricted, registered_by, created_at, updated_at) VALUES ($1, 'MRN-OLD', 'Old', 'Row', '1970-01-01', 'MALE', false, $2, now(), now())"
        }
        _ => {
            "INSERT INTO patients (id, mrn, given_name, family_name, date_of_birth, sex, restricted, registered_by, created_at, updated_at) VALUES (?, 'MRN-OLD', 'Old', 'Row', '1970-01-01', 'MALE', false, ?, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')"
        }
    };
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        [id.into(), uuid::Uuid::new_v4().into()],
    ))
    .await
    .unwrap();
    Migrator::up(&db, None).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT research_id FROM patients",
        ))
        .await
        .unwrap()
        .unwrap();
    let research_id: Option<uuid::Uuid> = row.try_get("", "research_id").unwrap();
    assert!(
        research_id.is_some_and(|r| r != id),
        "the existing patient got no research id of its own"
    );
    // Every migration has a working `down`.
    Migrator::down(&db, None).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
}

#[tokio::test]
async fn migrations_backfill_and_roll_back_on_sqlite() {
    backfills_research_ids(Backend::Sqlite).await;
}

#[tokio::test]
async fn migrations_backfill_and_roll_back_on_postgres() {
    backfills_research_ids(Backend::Postgres).await;
}
