//! SeaORM entities of caregraph: one module per table.
//!
//! These models are raw rows. They never reach a client directly: the `api`
//! crate turns them into redacted views through its policy module first.

/// The relation every chart record has: it belongs to one patient and goes
/// with the patient's record when that is deleted.
#[macro_export]
macro_rules! belongs_to_patient {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {
            #[sea_orm(
                belongs_to = "super::patient::Entity",
                from = "Column::PatientId",
                to = "super::patient::Column::Id",
                on_delete = "Cascade"
            )]
            Patient,
        }

        impl Related<super::patient::Entity> for Entity {
            fn to() -> RelationDef {
                Relation::Patient.def()
            }
        }

        impl ActiveModelBehavior for ActiveModel {}
    };
}

/// `Debug` for a row that holds patient data or secrets: only the fields
/// named (ids and other values that identify nobody) are printed, so a row
/// that reaches a log line by mistake leaks nothing.
#[macro_export]
macro_rules! debug_shows_only {
    ($($field:ident),* $(,)?) => {
        impl std::fmt::Debug for Model {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(concat!(module_path!(), "::Model"))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}

pub mod account_enrolment;
pub mod allergy;
pub mod audit_event;
pub mod audit_event_patient;
pub mod audit_head;
pub mod break_glass_grant;
pub mod care_assignment;
pub mod clinical_note;
pub mod coverage;
pub mod department;
pub mod diagnosis;
pub mod elevation;
pub mod invoice;
pub mod login_throttle;
pub mod medication;
pub mod mfa_credential;
pub mod mfa_recovery_code;
pub mod observation;
pub mod patient;
pub mod research_release;
pub mod research_release_row;
pub mod server_key;
pub mod session;
pub mod spent_refresh_token;
pub mod user;
