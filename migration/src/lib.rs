//! Database migrations, one per file, valid on SQLite and PostgreSQL alike.
pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_users;
mod m20261123_000002_create_sessions;
mod m20261123_000003_create_patients;
mod m20261123_000004_create_care_assignments;
mod m20261123_000005_create_observations;
mod m20261123_000006_create_server_keys;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_users::Migration),
            Box::new(m20261123_000002_create_sessions::Migration),
            Box::new(m20261123_000003_create_patients::Migration),
            Box::new(m20261123_000004_create_care_assignments::Migration),
            Box::new(m20261123_000005_create_observations::Migration),
            Box::new(m20261123_000006_create_server_keys::Migration),
        ]
    }
}
