//! Patient records: listing and fetching within the caller's scope, and
//! writes checked field by field against the policy. The view a caller holds
//! (`view`), the list's pages and filters (`page`, `filter`) and the
//! validation of changes (`changes`) each have a module of their own.

mod changes;
mod fields;
mod filter;
mod page;
mod view;

use std::sync::Arc;

use caregraph_entity::patient;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Related, Set,
};
use uuid::Uuid;

pub use changes::PatientChanges;
pub use fields::{PATIENT_TYPE, PatientClasses, PatientField, PatientSelection};
pub use filter::PatientFilter;
pub use page::PatientPage;
pub(super) use view::PatientAccess;
pub use view::{PatientRecord, Redacted};

use super::Caller;
use super::scope::{Standing, patient_filter, standing};
use crate::audit::{AuditAction, Detail};
use crate::auth::Principal;
use crate::domain::{page_size, parse_id};
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass, Relationships};
use changes::new_mrn;
use page::{DEFAULT_PAGE, MAX_PAGE, parse_cursor};

impl Caller {
    async fn views(&self, principal: Principal, rows: Vec<patient::Model>) -> AppResult<Vec<PatientAccess>> {
        let kinds = self.relations.load_many(rows.iter().map(|r| r.id)).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let own = kinds.get(&row.id).map(Vec::as_slice).unwrap_or_default();
                let standing = standing(principal.user_id, principal.patient_id, &row, own);
                self.view(principal, row, standing)
            })
            // The SQL filter already did this; a view without DIRECTORY must never exist.
            .filter(|v| v.may(Action::Read, FieldClass::Directory))
            .collect())
    }

    fn view(&self, principal: Principal, model: patient::Model, standing: Standing) -> PatientAccess {
        PatientAccess {
            permits: self.policy.permissions(principal.role, standing.relationships),
            model,
            standing,
        }
    }

    pub(super) fn readable(&self, principal: Principal) -> AppResult<Condition> {
        patient_filter(
            &self.policy,
            principal,
            Action::Read,
            FieldClass::Directory,
            Utc::now(),
        )
    }

    /// The caller's patients, a page at a time, ordered by name; other rows
    /// are never loaded. `asked` is what the query reads of each patient:
    /// its relations are loaded for the whole page up front, and the page
    /// passes the door as one read.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn patients(
        &self,
        first: Option<i32>,
        after: Option<&str>,
        filter: PatientFilter,
        asked: PatientSelection,
    ) -> AppResult<PatientPage> {
        let principal = self.principal()?;
        let scope = self.readable(principal)?;
        self.require_filterable(principal, &filter)?;
        let limit = page_size(first, DEFAULT_PAGE, MAX_PAGE)?;
        let mut query = patient::Entity::find()
            .filter(scope.clone())
            .filter(filter.condition());
        if let Some(cursor) = after {
            let id = parse_cursor(cursor)?;
            // The cursor row must itself be in scope, or the cursor would be a probe.
            let anchor = patient::Entity::find_by_id(id)
                .filter(scope)
                .one(&self.db)
                .await?
                .ok_or_else(|| AppError::bad_input("after is not a cursor of this list"))?;
            query = query.filter(
                Condition::any()
                    .add(patient::Column::FamilyName.gt(anchor.family_name.clone()))
                    .add(
                        Condition::all()
                            .add(patient::Column::FamilyName.eq(anchor.family_name.clone()))
                            .add(patient::Column::GivenName.gt(anchor.given_name.clone())),
                    )
                    .add(
                        Condition::all()
                            .add(patient::Column::FamilyName.eq(anchor.family_name))
                            .add(patient::Column::GivenName.eq(anchor.given_name))
                            .add(patient::Column::Id.gt(anchor.id)),
                    ),
            );
        }
        let rows = query
            .order_by_asc(patient::Column::FamilyName)
            .order_by_asc(patient::Column::GivenName)
            .order_by_asc(patient::Column::Id)
            .limit(limit + 1)
            .all(&self.db)
            .await?;
        let (rows, has_next_page) = crate::domain::split_page(rows, limit);
        let views = self.views(principal, rows).await?;
        self.prefetch(&views, asked).await?;
        Ok(PatientPage {
            nodes: self.disclose(views, asked),
            has_next_page,
        })
    }

    /// Loads each relation the query asks for, for every patient of a page
    /// whose relation the caller may read, in one statement per relation
    /// rather than in whatever batches the loaders would form.
    async fn prefetch(&self, views: &[PatientAccess], asked: PatientSelection) -> AppResult<()> {
        for field in asked.fields().filter(|f| f.is_relation()) {
            let class = self.patient_classes.of(field);
            let ids: Vec<Uuid> = views
                .iter()
                .filter(|v| v.may(Action::Read, class))
                .map(PatientAccess::id)
                .collect();
            if ids.is_empty() {
                continue;
            }
            use PatientField as F;
            match field {
                F::Observations => drop(self.observations.load_many(ids).await?),
                F::AssignedNurses => drop(self.nurses.load_many(ids).await?),
                F::Diagnoses => drop(self.diagnoses.load_many(ids).await?),
                F::Medications => drop(self.medications.load_many(ids).await?),
                F::Allergies => drop(self.allergies.load_many(ids).await?),
                F::Notes => drop(self.notes.load_many(ids).await?),
                F::Coverage => drop(self.coverages.load_many(ids).await?),
                F::Invoices => drop(self.invoices.load_many(ids).await?),
                F::Id
                | F::Mrn
                | F::GivenName
                | F::FamilyName
                | F::Restricted
                | F::DepartmentId
                | F::DateOfBirth
                | F::Sex
                | F::Phone
                | F::Address
                | F::PostalCode
                | F::Email
                | F::NationalId => {}
            }
        }
        Ok(())
    }

    /// One patient in the caller's scope. Outside it, the answer is the same
    /// NOT_FOUND as for an id that does not exist.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn patient(&self, id: &str, asked: PatientSelection) -> AppResult<Arc<PatientRecord>> {
        let principal = self.principal()?;
        let id = parse_id("id", id)?;
        match self.visible_patient(principal, id).await {
            Ok(access) => Ok(self.disclose_one(access, asked)),
            Err(AppError::NotFound) => {
                self.record_not_found(id, self.asked_classes(asked));
                Err(AppError::NotFound)
            }
            Err(other) => Err(other),
        }
    }

    pub(super) async fn visible_patient(&self, principal: Principal, id: Uuid) -> AppResult<PatientAccess> {
        let row = patient::Entity::find_by_id(id)
            .filter(self.visible_scope(principal)?)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound)?;
        self.view_of(principal, row).await
    }

    /// A row that belongs to one patient (a chart record, an observation, an
    /// assignment), with its patient's view. The record and the caller's
    /// scope are looked up in one statement: a record of a patient outside
    /// the scope runs the same single statement as an id that does not
    /// exist and gets the same NOT_FOUND, so neither the answer nor the work
    /// done for it tells the two apart.
    pub(super) async fn record_in_scope<E>(
        &self,
        principal: Principal,
        id_column: E::Column,
        id: Uuid,
        readable: Condition,
    ) -> AppResult<(E::Model, PatientAccess)>
    where
        E: EntityTrait + Related<patient::Entity>,
    {
        let (record, row) = E::find()
            .filter(id_column.eq(id))
            .filter(readable)
            .find_both_related(patient::Entity)
            .filter(self.visible_scope(principal)?)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok((record, self.view_of(principal, row).await?))
    }

    /// A row of one patient whose `class` the caller may change: NOT_FOUND
    /// outside the caller's scope (as in `record_in_scope`), FORBIDDEN with
    /// `refusal` when the patient is in scope but `class` is not writable.
    pub(super) async fn writable_in_scope<E>(
        &self,
        principal: Principal,
        id_column: E::Column,
        id: Uuid,
        class: FieldClass,
        refusal: &'static str,
    ) -> AppResult<(E::Model, PatientAccess)>
    where
        E: EntityTrait + Related<patient::Entity>,
    {
        let (record, patient) = self
            .record_in_scope::<E>(principal, id_column, id, Condition::all())
            .await?;
        if patient.may(Action::Write, class) {
            Ok((record, patient))
        } else {
            Err(AppError::forbidden(refusal))
        }
    }

    /// The patients the caller may see at all. A role that sees none gets
    /// NOT_FOUND, the answer for any id it asks about.
    fn visible_scope(&self, principal: Principal) -> AppResult<Condition> {
        match self.readable(principal) {
            Err(AppError::Forbidden(_)) => Err(AppError::NotFound),
            other => other,
        }
    }

    async fn view_of(&self, principal: Principal, row: patient::Model) -> AppResult<PatientAccess> {
        self.views(principal, vec![row])
            .await?
            .pop()
            .ok_or(AppError::NotFound)
    }

    async fn has_attending(&self, patient_id: Uuid) -> AppResult<bool> {
        use caregraph_entity::care_assignment;
        let count = care_assignment::Entity::find()
            .filter(care_assignment::Column::PatientId.eq(patient_id))
            .filter(care_assignment::Column::Kind.eq(super::scope::ATTENDING))
            .filter(super::scope::active_assignment(Utc::now()))
            .count(&self.db)
            .await?;
        Ok(count > 0)
    }

    /// A filter on a field is allowed only if the field may be read under
    /// every scope that lets the caller list patients at all.
    fn require_filterable(&self, principal: Principal, filter: &PatientFilter) -> AppResult<()> {
        let listing = self
            .policy
            .scopes(principal.role, Action::Read, FieldClass::Directory);
        for field in filter.fields() {
            let scopes = self
                .policy
                .scopes(principal.role, Action::Read, self.patient_classes.of(field));
            if !listing.iter().all(|s| scopes.contains(s)) {
                return Err(AppError::forbidden(format!(
                    "you may not filter by {}",
                    field.name()
                )));
            }
        }
        Ok(())
    }

    /// Refuses a change the role could never make, before looking anything up.
    fn require_writable_ever(&self, principal: Principal, fields: &[PatientField]) -> AppResult<()> {
        for field in fields {
            let class = self.patient_classes.of(*field);
            if !self.policy.could_ever(principal.role, Action::Write, class) {
                return Err(AppError::forbidden(format!(
                    "your role may not set {}",
                    field.name()
                )));
            }
        }
        Ok(())
    }

    fn require_writable(
        &self,
        principal: Principal,
        rel: Relationships,
        fields: &[PatientField],
    ) -> AppResult<()> {
        let permits = self.policy.permissions(principal.role, rel);
        for field in fields {
            if !permits.allows(Action::Write, self.patient_classes.of(*field)) {
                return Err(AppError::forbidden(format!(
                    "you may not set {} of this patient",
                    field.name()
                )));
            }
        }
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn create_patient(
        &self,
        changes: PatientChanges,
        asked: PatientSelection,
    ) -> AppResult<Arc<PatientRecord>> {
        let principal = self.require(Action::Create, FieldClass::PatientRecord)?;
        let fields = changes.touched();
        // The one who registers a patient treats them from then on.
        let standing = Standing {
            relationships: Relationships::none_but_any().with(crate::policy::Scope::Treating),
            attending: false,
        };
        let rel = standing.relationships;
        self.require_writable(principal, rel, &fields)?;
        let changes = changes.validated()?;
        if changes.given_name.is_none()
            || changes.family_name.is_none()
            || changes.date_of_birth.is_none()
            || changes.sex.is_none()
        {
            return Err(AppError::bad_input(
                "givenName, familyName, dateOfBirth and sex are required",
            ));
        }
        let now = Utc::now();
        let mut last_error = None;
        for _ in 0..3 {
            let mut row = patient::ActiveModel {
                id: Set(Uuid::new_v4()),
                mrn: Set(new_mrn()),
                restricted: Set(false),
                department_id: Set(None),
                research_id: Set(Some(Uuid::new_v4())),
                had_account: Set(false),
                postal_code: Set(None),
                registered_by: Set(principal.user_id),
                created_at: Set(now),
                updated_at: Set(now),
                phone: Set(None),
                address: Set(None),
                email: Set(None),
                national_id: Set(None),
                ..Default::default()
            };
            changes.clone().apply(&mut row);
            // A failed insert ends its transaction (PostgreSQL): one per try.
            let txn = self.begin_write().await?;
            match row.insert(&txn).await {
                Ok(model) => {
                    let detail = Detail::new().names("set", fields.iter().map(|f| f.name()));
                    let event = self.write_event(principal, AuditAction::Create, Some(model.id), detail);
                    self.commit_write(txn, event).await?;
                    tracing::info!(patient_id = %model.id, user_id = %principal.user_id, "patient registered");
                    return Ok(self.disclose_one(self.view(principal, model, standing), asked));
                }
                // Only the random MRN can collide; try another.
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error
            .map(AppError::Database)
            .unwrap_or_else(|| AppError::Internal("no MRN".into())))
    }

    #[tracing::instrument(skip_all)]
    pub async fn update_patient(
        &self,
        id: &str,
        changes: PatientChanges,
        asked: PatientSelection,
    ) -> AppResult<Arc<PatientRecord>> {
        let principal = self.principal()?;
        let fields = changes.touched();
        if fields.is_empty() {
            return Err(AppError::bad_input("input sets no field: nothing to update"));
        }
        self.require_writable_ever(principal, &fields)?;
        let id = parse_id("id", id)?;
        let found = self.visible_patient(principal, id).await.and_then(|current| {
            self.require_writable(principal, current.standing.relationships, &fields)?;
            Ok(current)
        });
        let current = self.noting_refusal(found, AuditAction::Write, Some(id), "patient")?;
        let changes = changes.validated()?;
        if changes.restricted == Some(true) && !current.model.restricted && !self.has_attending(id).await? {
            return Err(AppError::bad_input(
                "assign an attending doctor before restricting: a restricted patient is reachable only through assignments",
            ));
        }
        let mut row: patient::ActiveModel = current.model.into();
        changes.apply(&mut row);
        row.updated_at = Set(Utc::now());
        let txn = self.begin_write().await?;
        let model = row.update(&txn).await?;
        let detail = Detail::new().names("changed", fields.iter().map(|f| f.name()));
        let event = self.write_event(principal, AuditAction::Write, Some(model.id), detail);
        self.commit_write(txn, event).await?;
        tracing::info!(patient_id = %model.id, user_id = %principal.user_id, "patient updated");
        // A change of `restricted` changes the caller's standing: recompute it.
        let kinds = self.relations.load_one(id).await?.unwrap_or_default();
        let standing = standing(principal.user_id, principal.patient_id, &model, &kinds);
        Ok(self.disclose_one(self.view(principal, model, standing), asked))
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_patient(&self, id: &str) -> AppResult<()> {
        let principal = self.require(Action::Delete, FieldClass::PatientRecord)?;
        self.sessions.require_recent_authentication(&principal)?;
        let id = parse_id("id", id)?;
        let found = self.visible_patient(principal, id).await.and_then(|current| {
            if current.may(Action::Delete, FieldClass::PatientRecord) {
                Ok(current)
            } else {
                Err(AppError::forbidden("you may not delete this patient"))
            }
        });
        self.noting_refusal(found, AuditAction::Delete, Some(id), "patient")?;
        let txn = self.begin_write().await?;
        patient::Entity::delete_by_id(id).exec(&txn).await?;
        let event = self.write_event(principal, AuditAction::Delete, Some(id), Detail::new());
        self.commit_write(txn, event).await?;
        tracing::info!(patient_id = %id, user_id = %principal.user_id, "patient deleted");
        Ok(())
    }

    /// A patient the caller may see, with the permissions to check a relation
    /// against; used by care-team and vitals writes.
    pub(super) async fn patient_for_write(
        &self,
        id: &str,
        action: Action,
        class: FieldClass,
    ) -> AppResult<(Principal, PatientAccess)> {
        let principal = self.require(action, class)?;
        let id = parse_id("patientId", id)?;
        let view = self.visible_patient(principal, id).await?;
        if !view.may(action, class) {
            return Err(AppError::forbidden(format!(
                "you may not {} {} of this patient",
                action.as_str().to_lowercase(),
                class.as_str().to_lowercase().replace('_', " ")
            )));
        }
        Ok((principal, view))
    }
}
