//! Chart records other than vitals: diagnoses, medications, allergies,
//! notes, coverage and invoices. One generic path reads them (batched per
//! patient) and writes them (checked against the record's class for the
//! record's patient), so a new record type cannot skip a check.

use std::collections::HashMap;
use std::marker::PhantomData;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use caregraph_entity::{allergy, clinical_note, coverage, diagnosis, invoice, medication, patient};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, Related,
};
use uuid::Uuid;

use super::disclosure::Disclosed;
use super::loaders::LoadError;
use super::{Caller, PatientView};
use crate::auth::Principal;
use crate::domain::parse_id;
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass};

/// A table of records that each belong to one patient.
pub trait ChartRecord: EntityTrait + Related<patient::Entity> + Send + Sync + 'static
where
    Self::Model: Clone + Send + Sync + IntoActiveModel<Self::ActiveModel>,
    Self::ActiveModel: ActiveModelBehavior + Send,
{
    /// What the record is, in log lines.
    const NAME: &'static str;
    fn id_column() -> Self::Column;
    fn patient_column() -> Self::Column;
    /// Oldest first.
    fn order_column() -> Self::Column;
    fn patient_of(model: &Self::Model) -> Uuid;
    /// Every class a record of this type can belong to.
    const CLASSES: &'static [FieldClass];
    /// The class a record belongs to; notes depend on their sensitivity.
    fn class_of(model: &Self::Model) -> FieldClass;
    fn loader(caller: &Caller) -> &DataLoader<RecordLoader<Self>, HashMapCache>;
    /// The author, for records whose visibility depends on it (notes).
    fn author_of(_model: &Self::Model) -> Option<Uuid> {
        None
    }
    /// The rows the caller could ever read apart from the patient's scope,
    /// as SQL, so that a record looked up by id and hidden by a record rule
    /// costs the same statements as a missing one.
    fn readable_by(_caller: &Caller, _principal: Principal, _now: DateTime<Utc>) -> Condition {
        Condition::all()
    }
}

/// Loads the records of many patients in one statement.
pub struct RecordLoader<E> {
    db: DatabaseConnection,
    entity: PhantomData<fn() -> E>,
}

impl<E> RecordLoader<E> {
    pub fn new(db: DatabaseConnection) -> Self {
        RecordLoader {
            db,
            entity: PhantomData,
        }
    }
}

pub fn record_loader<E: ChartRecord>(db: &DatabaseConnection) -> DataLoader<RecordLoader<E>, HashMapCache>
where
    E::Model: Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelBehavior + Send,
{
    DataLoader::with_cache(
        RecordLoader::new(db.clone()),
        tokio::spawn,
        HashMapCache::default(),
    )
}

impl<E: ChartRecord> Loader<Uuid> for RecordLoader<E>
where
    E::Model: Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelBehavior + Send,
{
    type Value = Vec<E::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = E::find()
            .filter(E::patient_column().is_in(keys.iter().copied()))
            .order_by_asc(E::order_column())
            .order_by_asc(E::id_column())
            .all(&self.db)
            .await?;
        let mut map: HashMap<Uuid, Vec<E::Model>> = HashMap::new();
        for row in rows {
            map.entry(E::patient_of(&row)).or_default().push(row);
        }
        Ok(map)
    }
}

macro_rules! chart_record {
    ($entity:ident, $name:literal, $order:ident, $loader:ident, [$($classes:expr),+], $class:expr, $author:expr) => {
        chart_record!($entity, $name, $order, $loader, [$($classes),+], $class, $author, |_, _, _| Condition::all());
    };
    ($entity:ident, $name:literal, $order:ident, $loader:ident, [$($classes:expr),+], $class:expr, $author:expr, $readable:expr) => {
        impl ChartRecord for $entity::Entity {
            const NAME: &'static str = $name;
            const CLASSES: &'static [FieldClass] = &[$($classes),+];
            fn id_column() -> Self::Column {
                $entity::Column::Id
            }
            fn patient_column() -> Self::Column {
                $entity::Column::PatientId
            }
            fn order_column() -> Self::Column {
                $entity::Column::$order
            }
            fn patient_of(model: &Self::Model) -> Uuid {
                model.patient_id
            }
            fn class_of(#[allow(unused_variables)] model: &Self::Model) -> FieldClass {
                $class(model)
            }
            fn loader(caller: &Caller) -> &DataLoader<RecordLoader<Self>, HashMapCache> {
                &caller.$loader
            }
            fn author_of(#[allow(unused_variables)] model: &Self::Model) -> Option<Uuid> {
                $author(model)
            }
            fn readable_by(caller: &Caller, principal: Principal, now: DateTime<Utc>) -> Condition {
                $readable(caller, principal, now)
            }
        }
    };
}

chart_record!(
    diagnosis,
    "diagnosis",
    RecordedAt,
    diagnoses,
    [FieldClass::Clinical],
    |_| FieldClass::Clinical,
    |_| None
);
chart_record!(
    medication,
    "medication",
    StartsAt,
    medications,
    [FieldClass::Clinical],
    |_| FieldClass::Clinical,
    |_| None
);
chart_record!(
    allergy,
    "allergy",
    RecordedAt,
    allergies,
    [FieldClass::Clinical],
    |_| FieldClass::Clinical,
    |_| None
);
chart_record!(
    coverage,
    "coverage",
    ValidFrom,
    coverages,
    [FieldClass::Billing],
    |_| FieldClass::Billing,
    |_| None
);
chart_record!(
    invoice,
    "invoice",
    IssuedAt,
    invoices,
    [FieldClass::Billing],
    |_| FieldClass::Billing,
    |_| None
);
chart_record!(
    clinical_note,
    "clinical note",
    WrittenAt,
    notes,
    [FieldClass::Notes, FieldClass::SensitiveNotes],
    note_class,
    |note: &clinical_note::Model| Some(note.author_id),
    sensitive_notes_readable_by
);

pub const SENSITIVITY_NORMAL: &str = "NORMAL";

/// Anything but NORMAL is sensitive: an unknown sensitivity fails closed.
fn is_sensitive(note: &clinical_note::Model) -> bool {
    note.sensitivity != SENSITIVITY_NORMAL
}

/// The notes a caller could ever read, in SQL: normal ones, and sensitive
/// ones only with SENSITIVE_NOTES granted and as their author or the
/// patient's attending doctor (the same rule as `may_read_sensitive`).
fn sensitive_notes_readable_by(caller: &Caller, principal: Principal, now: DateTime<Utc>) -> Condition {
    let normal = clinical_note::Column::Sensitivity.eq(SENSITIVITY_NORMAL);
    if !caller.could_ever(Action::Read, FieldClass::SensitiveNotes) {
        return Condition::all().add(normal);
    }
    Condition::any()
        .add(normal)
        .add(clinical_note::Column::AuthorId.eq(principal.user_id))
        .add(clinical_note::Column::PatientId.in_subquery(super::scope::attended_by(principal.user_id, now)))
}

fn note_class(note: &clinical_note::Model) -> FieldClass {
    if is_sensitive(note) {
        FieldClass::SensitiveNotes
    } else {
        FieldClass::Notes
    }
}

impl Caller {
    /// The records of one kind on a patient's chart, for the relation
    /// `field` of `Patient`: `None` (denied) unless the policy lets the
    /// caller read the relation's class; then each record is checked against
    /// its own class (sensitive notes: author and attending doctor only).
    pub async fn chart<E: ChartRecord>(
        &self,
        patient: &PatientView,
        field: &str,
    ) -> AppResult<Option<Disclosed<Vec<E::Model>>>>
    where
        E::Model: Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
        E::ActiveModel: ActiveModelBehavior + Send,
    {
        let principal = self.principal()?;
        self.relation(patient, field, || async {
            Ok(E::loader(self)
                .load_one(patient.id())
                .await?
                .unwrap_or_default()
                .into_iter()
                .filter(|record| self.may_read_record::<E>(principal, patient, record))
                .collect())
        })
        .await
    }

    /// Adds a record to a patient's chart, if the caller may write its class there.
    pub async fn add_record<E: ChartRecord>(
        &self,
        patient_id: &str,
        class: FieldClass,
        build: impl FnOnce(Uuid, Uuid) -> E::ActiveModel,
    ) -> AppResult<E::Model>
    where
        E::Model: Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
        E::ActiveModel: ActiveModelBehavior + Send,
    {
        let (principal, patient) = self.patient_for_write(patient_id, Action::Write, class).await?;
        let model = build(patient.id(), principal.user_id).insert(&self.db).await?;
        tracing::info!(patient_id = %patient.id(), user_id = %principal.user_id, record = E::NAME, "chart record added");
        Ok(model)
    }

    /// Changes a record, if the caller may write its class for its patient.
    /// A record of a patient outside the caller's scope is NOT_FOUND.
    pub async fn change_record<E: ChartRecord>(
        &self,
        record_id: &str,
        change: impl FnOnce(Principal, &E::Model, &mut E::ActiveModel) -> AppResult<()>,
    ) -> AppResult<E::Model>
    where
        E::Model: Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
        E::ActiveModel: ActiveModelBehavior + Send,
    {
        let principal = self.principal()?;
        // Refuse before any lookup what the role could never change, so the
        // answer says nothing about whether the record exists.
        if !E::CLASSES
            .iter()
            .any(|c| self.policy.could_ever(principal.role, Action::Write, *c))
        {
            return Err(AppError::forbidden("your role may not change this"));
        }
        let id = parse_id("id", record_id)?;
        let readable = E::readable_by(self, principal, Utc::now());
        let (record, patient) = self
            .record_in_scope::<E>(principal, E::id_column(), id, readable)
            .await?;
        // A record the caller could not even read does not exist for them.
        if !self.may_read_record::<E>(principal, &patient, &record) {
            return Err(AppError::NotFound);
        }
        let class = E::class_of(&record);
        if !patient.may(Action::Write, class) {
            return Err(AppError::forbidden("you may not change this part of the chart"));
        }
        let mut active = record.clone().into_active_model();
        change(principal, &record, &mut active)?;
        let model = active.update(&self.db).await?;
        tracing::info!(patient_id = %patient.id(), user_id = %principal.user_id, record = E::NAME, "chart record changed");
        Ok(model)
    }
}

impl Caller {
    fn may_read_record<E: ChartRecord>(
        &self,
        principal: Principal,
        patient: &PatientView,
        record: &E::Model,
    ) -> bool
    where
        E::Model: Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
        E::ActiveModel: ActiveModelBehavior + Send,
    {
        let class = E::class_of(record);
        let readable = patient.may(Action::Read, class)
            || (class == FieldClass::SensitiveNotes && patient.may(Action::Read, FieldClass::Notes));
        if !readable {
            return false;
        }
        class != FieldClass::SensitiveNotes || may_read_sensitive(principal, patient, E::author_of(record))
    }
}

/// Sensitive notes: only their author and the attending doctor, and only
/// with SENSITIVE_NOTES granted. A sensitive record without an author is the
/// attending doctor's alone.
fn may_read_sensitive(principal: Principal, patient: &PatientView, author: Option<uuid::Uuid>) -> bool {
    patient.may(Action::Read, FieldClass::SensitiveNotes)
        && (author == Some(principal.user_id) || patient.attending())
}
