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
use super::patients::PatientAccess;
use super::patients::PatientField;
use super::writes::{changed_columns, id_of};
use super::{Caller, PatientRecord, values};
use crate::audit::{AuditAction, Detail};
use crate::auth::Principal;
use crate::domain::NoteSensitivity;
use crate::domain::parse_id;
use crate::error::{AppError, AppResult};
use crate::policy::{Action, ClassSet, FieldClass};

/// A table of records that each belong to one patient.
pub trait ChartRecord: EntityTrait + Related<patient::Entity> + Send + Sync + 'static
where
    Self::Model: Clone + Send + Sync + IntoActiveModel<Self::ActiveModel>,
    Self::ActiveModel: ActiveModelBehavior + Send,
{
    /// What the record is, in log lines.
    const NAME: &'static str;
    /// The record as it leaves `access/`.
    type Entry: From<Self::Model> + Send + Sync;
    /// The `Patient` relation the records are read through; its class in
    /// the policy's field table is the records' class.
    const FIELD: PatientField;
    fn id_column() -> Self::Column;
    fn patient_column() -> Self::Column;
    /// Oldest first.
    fn order_column() -> Self::Column;
    fn patient_of(model: &Self::Model) -> Uuid;
    /// A class a record can have instead of its relation's (a sensitive
    /// note), which the policy grants apart.
    const SPECIAL_CLASS: Option<FieldClass> = None;
    /// Whether this record has `SPECIAL_CLASS` (notes: their sensitivity).
    fn is_special(_model: &Self::Model) -> bool {
        false
    }
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

/// A chart entry as it leaves `access/`, with the table it is read from:
/// what resolvers name to read one kind of record.
pub trait ChartEntry: Sized + Send + Sync + 'static
where
    <Self::Table as EntityTrait>::Model:
        Clone + Send + Sync + IntoActiveModel<<Self::Table as EntityTrait>::ActiveModel>,
    <Self::Table as EntityTrait>::ActiveModel: ActiveModelBehavior + Send,
{
    type Table: ChartRecord<Entry = Self>;
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
    ($entity:ident, $name:literal, $entry:ident, $field:ident, $order:ident, $loader:ident) => {
        impl ChartRecord for $entity::Entity {
            const NAME: &'static str = $name;
            type Entry = values::$entry;
            const FIELD: PatientField = PatientField::$field;
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
            fn loader(caller: &Caller) -> &DataLoader<RecordLoader<Self>, HashMapCache> {
                &caller.$loader
            }
        }

        impl ChartEntry for values::$entry {
            type Table = $entity::Entity;
        }
    };
}

chart_record!(
    diagnosis,
    "diagnosis",
    Diagnosis,
    Diagnoses,
    RecordedAt,
    diagnoses
);
chart_record!(
    medication,
    "medication",
    Medication,
    Medications,
    StartsAt,
    medications
);
chart_record!(allergy, "allergy", Allergy, Allergies, RecordedAt, allergies);
chart_record!(coverage, "coverage", Coverage, Coverage, ValidFrom, coverages);
chart_record!(invoice, "invoice", Invoice, Invoices, IssuedAt, invoices);

impl ChartEntry for values::ClinicalNote {
    type Table = clinical_note::Entity;
}

/// Notes: a sensitive one (psychotherapy, substance use) is SENSITIVE_NOTES,
/// readable only by its author and the patient's attending doctor.
impl ChartRecord for clinical_note::Entity {
    const NAME: &'static str = "clinical note";
    type Entry = values::ClinicalNote;
    const FIELD: PatientField = PatientField::Notes;
    const SPECIAL_CLASS: Option<FieldClass> = Some(FieldClass::SensitiveNotes);
    fn id_column() -> Self::Column {
        clinical_note::Column::Id
    }
    fn patient_column() -> Self::Column {
        clinical_note::Column::PatientId
    }
    fn order_column() -> Self::Column {
        clinical_note::Column::WrittenAt
    }
    fn patient_of(model: &Self::Model) -> Uuid {
        model.patient_id
    }
    fn is_special(note: &Self::Model) -> bool {
        is_sensitive(note)
    }
    fn loader(caller: &Caller) -> &DataLoader<RecordLoader<Self>, HashMapCache> {
        &caller.notes
    }
    fn author_of(note: &Self::Model) -> Option<Uuid> {
        Some(note.author_id)
    }
    fn readable_by(caller: &Caller, principal: Principal, now: DateTime<Utc>) -> Condition {
        sensitive_notes_readable_by(caller, principal, now)
    }
}

const SENSITIVITY_NORMAL: &str = NoteSensitivity::Normal.as_str();

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

impl Caller {
    /// The class of one record: its relation's, from the policy's field
    /// table, or its special class (a sensitive note).
    fn class_of_record<E: ChartRecord>(&self, record: &E::Model) -> FieldClass
    where
        E::Model: Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
        E::ActiveModel: ActiveModelBehavior + Send,
    {
        match E::SPECIAL_CLASS {
            Some(special) if E::is_special(record) => special,
            _ => self.patient_classes.of(E::FIELD),
        }
    }

    /// The records of one kind on a disclosed patient's chart: `None`
    /// (refused) unless the door allowed the relation's class; then each
    /// record is checked against its own class (sensitive notes: author and
    /// attending doctor only), and a special class read is recorded too.
    pub async fn chart<V: ChartEntry>(&self, patient: &PatientRecord) -> AppResult<Option<Disclosed<Vec<V>>>>
    where
        <V::Table as EntityTrait>::Model:
            Clone + Send + Sync + IntoActiveModel<<V::Table as EntityTrait>::ActiveModel>,
        <V::Table as EntityTrait>::ActiveModel: ActiveModelBehavior + Send,
    {
        self.chart_rows::<V::Table>(patient).await
    }

    async fn chart_rows<E: ChartRecord>(
        &self,
        patient: &PatientRecord,
    ) -> AppResult<Option<Disclosed<Vec<E::Entry>>>>
    where
        E::Model: Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
        E::ActiveModel: ActiveModelBehavior + Send,
    {
        let principal = self.principal()?;
        let rows = self
            .relation(
                patient,
                E::FIELD,
                || async {
                    Ok(E::loader(self)
                        .load_one(patient.access.id())
                        .await?
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|record| self.may_read_record::<E>(principal, &patient.access, record))
                        .collect::<Vec<_>>())
                },
                |rows| match E::SPECIAL_CLASS {
                    Some(special) if rows.iter().any(E::is_special) => ClassSet::from_iter([special]),
                    _ => ClassSet::default(),
                },
            )
            .await?;
        Ok(rows.map(|rows| rows.map(|rows| rows.into_iter().map(E::Entry::from).collect())))
    }

    /// Adds a record to a patient's chart, if the caller may write its class
    /// there; `special` says the new record has the type's special class.
    pub async fn add_record<E: ChartRecord>(
        &self,
        patient_id: &str,
        special: bool,
        build: impl FnOnce(Uuid, Uuid) -> E::ActiveModel,
    ) -> AppResult<E::Entry>
    where
        E::Model: Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
        E::ActiveModel: ActiveModelBehavior + Send,
    {
        let class = match E::SPECIAL_CLASS {
            Some(class) if special => class,
            _ => self.patient_classes.of(E::FIELD),
        };
        let found = self.patient_for_write(patient_id, Action::Write, class).await;
        let asked_for = parse_id("patientId", patient_id).ok();
        let (principal, patient) = self.noting_refusal(found, AuditAction::Create, asked_for, E::NAME)?;
        let txn = self.begin_write().await?;
        let model = build(patient.id(), principal.user_id).insert(&txn).await?;
        let detail = naming::<E>(&model);
        let event = self.write_event(principal, AuditAction::Create, Some(patient.id()), detail);
        self.commit_write(txn, event).await?;
        tracing::info!(patient_id = %patient.id(), user_id = %principal.user_id, record = E::NAME, "chart record added");
        Ok(model.into())
    }

    /// Changes a record, if the caller may write its class for its patient.
    /// A record of a patient outside the caller's scope is NOT_FOUND.
    pub async fn change_record<E: ChartRecord>(
        &self,
        record_id: &str,
        change: impl FnOnce(Principal, &E::Model, &mut E::ActiveModel) -> AppResult<()>,
    ) -> AppResult<E::Entry>
    where
        E::Model: Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
        E::ActiveModel: ActiveModelBehavior + Send,
    {
        let principal = self.principal()?;
        let found = self.changeable_record::<E>(principal, record_id).await;
        let (record, patient) = self.noting_refusal(found, AuditAction::Write, None, E::NAME)?;
        let mut active = record.clone().into_active_model();
        change(principal, &record, &mut active)?;
        let changed = changed_columns(&active);
        let txn = self.begin_write().await?;
        let model = active.update(&txn).await?;
        let detail = naming::<E>(&model).names("changed", changed);
        let event = self.write_event(principal, AuditAction::Write, Some(patient.id()), detail);
        self.commit_write(txn, event).await?;
        tracing::info!(patient_id = %patient.id(), user_id = %principal.user_id, record = E::NAME, "chart record changed");
        Ok(model.into())
    }

    /// A record the caller may change, with its patient; refused as
    /// FORBIDDEN or NOT_FOUND otherwise.
    async fn changeable_record<E: ChartRecord>(
        &self,
        principal: Principal,
        record_id: &str,
    ) -> AppResult<(E::Model, PatientAccess)>
    where
        E::Model: Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
        E::ActiveModel: ActiveModelBehavior + Send,
    {
        // Refuse before any lookup what the role could never change, so the
        // answer says nothing about whether the record exists.
        let classes = [Some(self.patient_classes.of(E::FIELD)), E::SPECIAL_CLASS];
        if !classes
            .into_iter()
            .flatten()
            .any(|c| self.policy.could_ever(principal.role, Action::Write, c))
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
        let class = self.class_of_record::<E>(&record);
        if !patient.may(Action::Write, class) {
            return Err(AppError::forbidden("you may not change this part of the chart"));
        }
        Ok((record, patient))
    }
}

impl Caller {
    fn may_read_record<E: ChartRecord>(
        &self,
        principal: Principal,
        patient: &PatientAccess,
        record: &E::Model,
    ) -> bool
    where
        E::Model: Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
        E::ActiveModel: ActiveModelBehavior + Send,
    {
        let class = self.class_of_record::<E>(record);
        // A special record is among its relation's rows: readable where the
        // relation is, then narrowed by its own rule.
        let readable = patient.may(Action::Read, class)
            || (Some(class) == E::SPECIAL_CLASS
                && patient.may(Action::Read, self.patient_classes.of(E::FIELD)));
        if !readable {
            return false;
        }
        class != FieldClass::SensitiveNotes || may_read_sensitive(principal, patient, E::author_of(record))
    }
}

/// Sensitive notes: only their author and the attending doctor, and only
/// with SENSITIVE_NOTES granted. A sensitive record without an author is the
/// attending doctor's alone.
fn may_read_sensitive(principal: Principal, patient: &PatientAccess, author: Option<uuid::Uuid>) -> bool {
    patient.may(Action::Read, FieldClass::SensitiveNotes)
        && (author == Some(principal.user_id) || patient.attending())
}

/// The detail of a chart record's write event: which kind of record, which one.
fn naming<E: ChartRecord>(model: &E::Model) -> Detail
where
    E::Model: Clone + Send + Sync + IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelBehavior + Send,
{
    let detail = Detail::new().code("record", E::NAME);
    match id_of(model, E::id_column()) {
        Some(id) => detail.id("id", id),
        None => detail,
    }
}
