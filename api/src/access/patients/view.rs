//! What a caller holds of one patient. Inside `access/`, a `PatientAccess`:
//! the row and the permissions the policy computed for this caller and this
//! patient, the capability every read and write of the patient starts from.
//! Outside, a `PatientRecord`: what the door disclosed of it.

use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};

use caregraph_entity::patient;
use chrono::NaiveDate;
use uuid::Uuid;

use super::fields::{PatientClasses, PatientField, PatientSelection};
use crate::access::Caller;
use crate::access::disclosure::{Disclosed, PatientRead, Reveal};
use crate::access::loaders::LoadError;
use crate::access::scope::Standing;
use crate::domain::{Sex, UnknownStored};
use crate::error::AppResult;
use crate::policy::{Action, ClassSet, FieldClass, Permissions};

/// A patient row together with what this caller may do with it. Only
/// `access/` holds one; nothing leaves it but a `PatientRecord`.
#[derive(Clone)]
pub struct PatientAccess {
    pub(in crate::access) model: patient::Model,
    pub(in crate::access) permits: Permissions,
    pub(in crate::access) standing: Standing,
}

impl PatientAccess {
    pub fn id(&self) -> Uuid {
        self.model.id
    }

    /// An account was ever opened for this record (re-inviting needs a
    /// second approval).
    pub(in crate::access) fn had_account(&self) -> bool {
        self.model.had_account
    }

    /// The caller holds an active ATTENDING assignment to this patient.
    pub(in crate::access) fn attending(&self) -> bool {
        self.standing.attending
    }

    pub(in crate::access) fn may(&self, action: Action, class: FieldClass) -> bool {
        self.permits.allows(action, class)
    }
}

/// A field as it leaves access: its value, or `None` where the policy
/// withholds it (or the query did not ask for it).
pub type Redacted<T> = Option<Disclosed<T>>;

/// A patient as it leaves `access/`: every field the query asked for is
/// decided once, here, from the column → class table, and is its value or
/// withheld. Made only by `Caller::disclose`, which records the read at the
/// door first; the GraphQL `Patient` is built from nothing else.
pub struct PatientRecord {
    pub(in crate::access) access: PatientAccess,
    reveal: Reveal,
    asked: PatientSelection,
    pub id: Redacted<Uuid>,
    pub mrn: Redacted<String>,
    pub given_name: Redacted<String>,
    pub family_name: Redacted<String>,
    pub restricted: Redacted<bool>,
    pub department_id: Redacted<Option<Uuid>>,
    pub date_of_birth: Redacted<NaiveDate>,
    pub sex: Redacted<Result<Sex, UnknownStored>>,
    pub phone: Redacted<Option<String>>,
    pub address: Redacted<Option<String>>,
    pub postal_code: Redacted<Option<String>>,
    pub email: Redacted<Option<String>>,
    pub national_id: Redacted<Option<String>>,
}

impl PatientRecord {
    fn new(access: PatientAccess, reveal: Reveal, asked: PatientSelection, classes: &PatientClasses) -> Self {
        let m = &access.model;
        let field = |f: PatientField| asked.contains(f).then(|| classes.of(f));
        macro_rules! reveal {
            ($f:ident, $value:expr) => {
                field(PatientField::$f).and_then(|class| reveal.field(class, || $value))
            };
        }
        PatientRecord {
            id: reveal.id(),
            mrn: reveal!(Mrn, m.mrn.clone()),
            given_name: reveal!(GivenName, m.given_name.clone()),
            family_name: reveal!(FamilyName, m.family_name.clone()),
            restricted: reveal!(Restricted, m.restricted),
            department_id: reveal!(DepartmentId, m.department_id),
            date_of_birth: reveal!(DateOfBirth, m.date_of_birth),
            sex: reveal!(Sex, Sex::parse(&m.sex)),
            phone: reveal!(Phone, m.phone.clone()),
            address: reveal!(Address, m.address.clone()),
            postal_code: reveal!(PostalCode, m.postal_code.clone()),
            email: reveal!(Email, m.email.clone()),
            national_id: reveal!(NationalId, m.national_id.clone()),
            access,
            reveal,
            asked,
        }
    }

    /// The key of the patient in a page's cursor.
    pub(in crate::access) fn key(&self) -> Uuid {
        self.access.id()
    }
}

impl Caller {
    /// The door for patients: records the classes the query asks for of
    /// each patient (read or refused, one decision per class), then builds
    /// what leaves `access/`. A whole list passes at once.
    pub(in crate::access) fn disclose(
        &self,
        patients: Vec<PatientAccess>,
        asked: PatientSelection,
    ) -> Vec<Arc<PatientRecord>> {
        let classes = &self.patient_classes;
        // The id is decided apart (`Reveal::id`): always readable to one
        // who holds the patient.
        let asked_classes: ClassSet = asked
            .fields()
            .filter(|f| *f != PatientField::Id)
            .map(|f| classes.of(f))
            .collect();
        let identified = asked.contains(PatientField::Id);
        let reads: Vec<PatientRead> = patients
            .iter()
            .map(|p| PatientRead {
                patient: p.id(),
                asked: asked_classes,
                allowed: asked_classes.iter().filter(|c| p.may(Action::Read, *c)).collect(),
                identified,
                relationships: p.standing.relationships,
            })
            .collect();
        let reveals = self.disclose_patients(&reads);
        patients
            .into_iter()
            .zip(reveals)
            .map(|(access, reveal)| Arc::new(PatientRecord::new(access, reveal, asked, classes)))
            .collect()
    }

    /// The classes a query asks of a patient.
    pub(in crate::access) fn asked_classes(&self, asked: PatientSelection) -> ClassSet {
        asked.fields().map(|f| self.patient_classes.of(f)).collect()
    }

    /// One patient through the door.
    pub(in crate::access) fn disclose_one(
        &self,
        patient: PatientAccess,
        asked: PatientSelection,
    ) -> Arc<PatientRecord> {
        self.disclose(vec![patient], asked)
            .pop()
            .expect("one record for one patient")
    }

    /// A relation loaded per patient by `loader`, through the door.
    pub(in crate::access) async fn related<L, T>(
        &self,
        patient: &PatientRecord,
        field: PatientField,
        loader: &DataLoader<L, HashMapCache>,
    ) -> AppResult<Option<Disclosed<Vec<T>>>>
    where
        L: Loader<Uuid, Value = Vec<T>, Error = LoadError>,
        T: Clone + Send + Sync + 'static,
    {
        let id = patient.access.id();
        self.relation(
            patient,
            field,
            || async move { Ok(loader.load_one(id).await?.unwrap_or_default()) },
            |_| ClassSet::default(),
        )
        .await
    }

    /// A relation of a disclosed patient (vitals, chart records, care team):
    /// loaded only when the query asked for it and the door allowed its
    /// class; `None` (refused, and recorded so) otherwise. `extra` names
    /// classes the loaded rows carry beyond the relation's own.
    pub(in crate::access) async fn relation<T, Load>(
        &self,
        patient: &PatientRecord,
        field: PatientField,
        load: impl FnOnce() -> Load,
        extra: impl FnOnce(&[T]) -> ClassSet,
    ) -> AppResult<Option<Disclosed<Vec<T>>>>
    where
        Load: std::future::Future<Output = AppResult<Vec<T>>>,
    {
        let class = self.patient_classes.of(field);
        if !patient.asked.contains(field) || !patient.reveal.allows(class) {
            return Ok(None);
        }
        let rows = load().await?;
        let extra = extra(&rows);
        Ok(self.disclose_rows(&patient.reveal, class, extra, rows))
    }
}
