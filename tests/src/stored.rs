//! The database's state, read directly: "nothing was written" is checked
//! here, never through the API as a role that may not see the write.

use caregraph_entity::{
    account_enrolment, allergy, care_assignment, clinical_note, coverage, department, diagnosis, invoice,
    medication, mfa_credential, mfa_recovery_code, observation, patient, research_release,
    research_release_row, user,
};
use sea_orm::{DatabaseConnection, EntityTrait};

/// Every row of every table a mutation writes, except sessions (a login or
/// an idle session's `last_seen_at` writes there) and server keys. Rows are
/// in a fixed order, so two reads compare equal when nothing changed.
#[derive(Debug, PartialEq)]
pub struct Stored {
    pub users: Vec<user::Model>,
    pub enrolments: Vec<account_enrolment::Model>,
    pub departments: Vec<department::Model>,
    pub patients: Vec<patient::Model>,
    pub care_assignments: Vec<care_assignment::Model>,
    pub observations: Vec<observation::Model>,
    pub diagnoses: Vec<diagnosis::Model>,
    pub medications: Vec<medication::Model>,
    pub allergies: Vec<allergy::Model>,
    pub notes: Vec<clinical_note::Model>,
    pub coverages: Vec<coverage::Model>,
    pub invoices: Vec<invoice::Model>,
    pub research_releases: Vec<research_release::Model>,
    pub research_release_rows: Vec<research_release_row::Model>,
    pub mfa_credentials: Vec<mfa_credential::Model>,
    pub mfa_recovery_codes: Vec<mfa_recovery_code::Model>,
}

async fn rows<E: EntityTrait>(db: &DatabaseConnection) -> Vec<E::Model>
where
    E::Model: std::fmt::Debug,
{
    let mut rows = E::find().all(db).await.expect("the test reads its database");
    rows.sort_by_cached_key(|row| format!("{row:?}"));
    rows
}

impl Stored {
    pub async fn read(db: &DatabaseConnection) -> Stored {
        Stored {
            users: rows::<user::Entity>(db).await,
            enrolments: rows::<account_enrolment::Entity>(db).await,
            departments: rows::<department::Entity>(db).await,
            patients: rows::<patient::Entity>(db).await,
            care_assignments: rows::<care_assignment::Entity>(db).await,
            observations: rows::<observation::Entity>(db).await,
            diagnoses: rows::<diagnosis::Entity>(db).await,
            medications: rows::<medication::Entity>(db).await,
            allergies: rows::<allergy::Entity>(db).await,
            notes: rows::<clinical_note::Entity>(db).await,
            coverages: rows::<coverage::Entity>(db).await,
            invoices: rows::<invoice::Entity>(db).await,
            research_releases: rows::<research_release::Entity>(db).await,
            research_release_rows: rows::<research_release_row::Entity>(db).await,
            mfa_credentials: rows::<mfa_credential::Entity>(db).await,
            mfa_recovery_codes: rows::<mfa_recovery_code::Entity>(db).await,
        }
    }
}
