//! What a caller holds of one patient: the row and the permissions computed
//! for this caller and this patient, readable only through the door.

use caregraph_entity::patient;
use uuid::Uuid;

use crate::access::Caller;
use crate::access::disclosure::{Disclosed, Subject};
use crate::access::scope::Standing;
use crate::error::AppResult;
use crate::policy::{Action, FieldClass, Permissions};

/// The GraphQL type whose fields the policy's field table classifies.
pub const PATIENT_TYPE: &str = "Patient";

/// A patient row together with what this caller may do with it. The row is
/// private: its values leave only through `Caller::patient_field`, which asks the permissions
/// computed by the policy for this caller and this patient.
#[derive(Clone)]
pub struct PatientView {
    pub(super) model: patient::Model,
    pub(super) permits: Permissions,
    pub(super) standing: Standing,
}

impl PatientView {
    pub fn id(&self) -> Uuid {
        self.model.id
    }

    /// An account was ever opened for this record (re-inviting needs a
    /// second approval).
    pub(in crate::access) fn had_account(&self) -> bool {
        self.model.had_account
    }

    /// The caller holds an active ATTENDING assignment to this patient.
    pub fn attending(&self) -> bool {
        self.standing.attending
    }

    pub(in crate::access) fn may(&self, action: Action, class: FieldClass) -> bool {
        self.permits.allows(action, class)
    }
}

impl Caller {
    /// The class of a field of `Patient`, from the policy's field table; an
    /// unclassified field has none and is denied.
    fn patient_field_class(&self, field: &str) -> Option<FieldClass> {
        let class = self.policy.class_of(PATIENT_TYPE, field);
        if class.is_none() {
            tracing::error!(field, "a patient field has no class in the policy: denied");
        }
        class
    }

    /// One field of a patient, by its name in the schema, through the door:
    /// `None` when the caller may not read its class.
    pub fn patient_field<T>(
        &self,
        patient: &PatientView,
        field: &str,
        value: impl FnOnce(&patient::Model) -> T,
    ) -> Option<Disclosed<T>> {
        let class = self.patient_field_class(field)?;
        self.disclose(
            Subject::Patient(patient.id()),
            class,
            patient.may(Action::Read, class),
            || value(&patient.model),
        )
    }

    /// The id of a patient the caller holds a view of: always readable (the
    /// caller found the patient by it, or may see it in a list), and still a
    /// read that passes the door.
    pub fn patient_id(&self, patient: &PatientView) -> Disclosed<Uuid> {
        self.disclose_allowed(
            Subject::Patient(patient.id()),
            FieldClass::Directory,
            patient.id(),
        )
    }

    /// A relation of `Patient` (vitals, chart records, care team), through
    /// the door: `load` runs only when the caller may read the relation's
    /// class; `None` (a denial, which passes the door too) otherwise.
    pub(in crate::access) async fn relation<T, Load>(
        &self,
        patient: &PatientView,
        field: &str,
        load: impl FnOnce() -> Load,
    ) -> AppResult<Option<Disclosed<Vec<T>>>>
    where
        Load: std::future::Future<Output = AppResult<Vec<T>>>,
    {
        let Some(class) = self.patient_field_class(field) else {
            return Ok(None);
        };
        if !patient.may(Action::Read, class) {
            self.disclose(Subject::Patient(patient.id()), class, false, || ());
            return Ok(None);
        }
        let rows = load().await?;
        Ok(Some(self.disclose_allowed(
            Subject::Patient(patient.id()),
            class,
            rows,
        )))
    }
}
