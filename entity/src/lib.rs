//! SeaORM entities of caregraph: one module per table.
//!
//! These models are raw rows. They never reach a client directly: the `api`
//! crate turns them into redacted views through its policy module first.

pub mod allergy;
pub mod care_assignment;
pub mod clinical_note;
pub mod coverage;
pub mod department;
pub mod diagnosis;
pub mod invoice;
pub mod medication;
pub mod observation;
pub mod patient;
pub mod server_key;
pub mod session;
pub mod user;
