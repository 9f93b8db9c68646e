//! Database migrations, one per file, valid on SQLite and PostgreSQL alike.
pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_users;
mod m20261123_000002_create_sessions;
mod m20261123_000003_create_patients;
mod m20261123_000004_create_care_assignments;
mod m20261123_000005_create_observations;
mod m20261123_000006_create_server_keys;
mod m20261123_000007_create_departments;
mod m20261123_000008_create_diagnoses;
mod m20261123_000009_create_medications;
mod m20261123_000010_create_allergies;
mod m20261123_000011_create_clinical_notes;
mod m20261123_000012_create_coverages;
mod m20261123_000013_create_invoices;
mod m20261123_000014_add_research_ids;
mod m20261123_000015_create_enrolments;
mod m20261123_000016_create_account_enrolments;
mod m20261123_000017_create_research_releases;
mod m20261123_000018_create_audit_events;
mod m20261123_000019_create_break_glass_grants;
mod m20261204_000020_harden_sessions_and_logins;
mod m20261204_000021_mfa_and_step_up;
mod m20261204_000022_create_elevations;
mod m20261204_000023_index_audit_patients_in_postgres;

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
            Box::new(m20261123_000007_create_departments::Migration),
            Box::new(m20261123_000008_create_diagnoses::Migration),
            Box::new(m20261123_000009_create_medications::Migration),
            Box::new(m20261123_000010_create_allergies::Migration),
            Box::new(m20261123_000011_create_clinical_notes::Migration),
            Box::new(m20261123_000012_create_coverages::Migration),
            Box::new(m20261123_000013_create_invoices::Migration),
            Box::new(m20261123_000014_add_research_ids::Migration),
            Box::new(m20261123_000015_create_enrolments::Migration),
            Box::new(m20261123_000016_create_account_enrolments::Migration),
            Box::new(m20261123_000017_create_research_releases::Migration),
            Box::new(m20261123_000018_create_audit_events::Migration),
            Box::new(m20261123_000019_create_break_glass_grants::Migration),
            Box::new(m20261204_000020_harden_sessions_and_logins::Migration),
            Box::new(m20261204_000021_mfa_and_step_up::Migration),
            Box::new(m20261204_000022_create_elevations::Migration),
            Box::new(m20261204_000023_index_audit_patients_in_postgres::Migration),
        ]
    }
}
