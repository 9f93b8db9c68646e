//! Connecting to the database (SQLite file or PostgreSQL) and migrating it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use caregraph_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// Counts SQL statements sent to the database; the N+1 tests read it.
#[derive(Clone, Debug, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

pub async fn connect(url: &str) -> Result<(DatabaseConnection, StatementCounter), DbErr> {
    let is_sqlite = url.starts_with("sqlite:");
    let counter = StatementCounter::default();
    let db = open(url, if is_sqlite { 4 } else { 16 }, &counter).await?;
    Ok((db, counter))
}

/// The audit writer's own connection on PostgreSQL, so that its batches
/// never wait for a pooled connection held by a request that is itself
/// waiting for the writer. Its statements are counted with the others'.
/// `None` on SQLite, where one file has one writer at a time anyway (and an
/// in-memory database would be a different one on another connection).
pub async fn connect_audit_writer(
    url: &str,
    counter: &StatementCounter,
) -> Result<Option<DatabaseConnection>, DbErr> {
    if url.starts_with("sqlite:") {
        return Ok(None);
    }
    open(url, 1, counter).await.map(Some)
}

async fn open(url: &str, connections: u32, counter: &StatementCounter) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        // sqlx would log every statement, with its values, at INFO.
        .sqlx_logging(false)
        .max_connections(connections)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10));
    let mut db = Database::connect(options).await?;
    let count = counter.0.clone();
    db.set_metric_callback(move |_info| {
        count.fetch_add(1, Ordering::Relaxed);
    });
    Ok(db)
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}
