//! Patient records: listing and fetching within the caller's scope, and
//! writes checked field by field against the policy.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use caregraph_entity::patient;
use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Related, Set,
};
use uuid::Uuid;

use super::Caller;
use super::disclosure::{Disclosed, Subject};
use super::scope::{Standing, patient_filter, standing};
use crate::auth::Principal;
use crate::domain::{page_size, parse_id, parse_name, parse_optional_text};
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass, Permissions, Relationships};

pub const PATIENT_TYPE: &str = "Patient";
const DEFAULT_PAGE: u64 = 50;
const MAX_PAGE: u64 = 100;

/// A patient row together with what this caller may do with it. The row is
/// private: its values leave only through `read`, which asks the permissions
/// computed by the policy for this caller and this patient.
#[derive(Clone)]
pub struct PatientView {
    model: patient::Model,
    permits: Permissions,
    standing: Standing,
}

impl PatientView {
    pub fn id(&self) -> Uuid {
        self.model.id
    }

    /// The caller holds an active ATTENDING assignment to this patient.
    pub fn attending(&self) -> bool {
        self.standing.attending
    }

    pub(super) fn may(&self, action: Action, class: FieldClass) -> bool {
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
    pub(super) async fn relation<T, Load>(
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

/// Relations (Patient field names) a list query will resolve for every
/// patient, known from the query before resolving it, so each is loaded in
/// one statement up front rather than in whatever batches the loaders form.
#[derive(Clone, Debug, Default)]
pub struct Prefetch(pub Vec<&'static str>);

/// The Patient fields that are relations loaded per patient.
pub const RELATIONS: &[&str] = &[
    "observations",
    "assignedNurses",
    "diagnoses",
    "medications",
    "allergies",
    "notes",
    "coverage",
    "invoices",
];

/// Filters of the patient list. A filter is a way to learn a field's value,
/// so each is allowed only where its field may be read on every row the list
/// could return.
#[derive(Clone, Debug, Default)]
pub struct PatientFilter {
    pub family_name: Option<String>,
    pub mrn: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
}

impl PatientFilter {
    fn fields(&self) -> Vec<&'static str> {
        let mut used = Vec::new();
        if self.family_name.is_some() {
            used.push("familyName");
        }
        if self.mrn.is_some() {
            used.push("mrn");
        }
        if self.date_of_birth.is_some() {
            used.push("dateOfBirth");
        }
        used
    }

    fn condition(&self) -> Condition {
        let mut all = Condition::all();
        if let Some(name) = &self.family_name {
            all = all.add(patient::Column::FamilyName.starts_with(name.trim()));
        }
        if let Some(mrn) = &self.mrn {
            all = all.add(patient::Column::Mrn.eq(mrn.trim()));
        }
        if let Some(dob) = self.date_of_birth {
            all = all.add(patient::Column::DateOfBirth.eq(dob));
        }
        all
    }
}

pub struct PatientPage {
    pub nodes: Vec<PatientView>,
    pub has_next_page: bool,
}

impl PatientPage {
    pub fn cursor_of(view: &PatientView) -> String {
        URL_SAFE_NO_PAD.encode(view.id().as_bytes())
    }
}

fn parse_cursor(cursor: &str) -> AppResult<Uuid> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| Uuid::from_slice(&b).ok())
        .ok_or_else(|| AppError::bad_input("after is not a cursor of this list"))
}

/// A set of changes to a patient's fields. `None` leaves a field as it is;
/// for optional fields `Some(None)` clears it.
#[derive(Clone, Default)]
pub struct PatientChanges {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub sex: Option<&'static str>,
    pub restricted: Option<bool>,
    pub department_id: Option<Option<Uuid>>,
    pub phone: Option<Option<String>>,
    pub postal_code: Option<Option<String>>,
    pub address: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub national_id: Option<Option<String>>,
}

impl PatientChanges {
    /// The GraphQL names of the fields this change touches, to check each.
    fn touched(&self) -> Vec<&'static str> {
        let mut fields = Vec::new();
        let mut mark = |set: bool, name| {
            if set {
                fields.push(name)
            }
        };
        mark(self.given_name.is_some(), "givenName");
        mark(self.family_name.is_some(), "familyName");
        mark(self.date_of_birth.is_some(), "dateOfBirth");
        mark(self.sex.is_some(), "sex");
        mark(self.restricted.is_some(), "restricted");
        mark(self.department_id.is_some(), "departmentId");
        mark(self.phone.is_some(), "phone");
        mark(self.postal_code.is_some(), "postalCode");
        mark(self.address.is_some(), "address");
        mark(self.email.is_some(), "email");
        mark(self.national_id.is_some(), "nationalId");
        fields
    }

    /// Checks and normalises every value; the message names the field, never its value.
    fn validated(self) -> AppResult<PatientChanges> {
        let today = Utc::now().date_naive();
        if let Some(dob) = self.date_of_birth {
            let earliest = NaiveDate::from_ymd_opt(1880, 1, 1).expect("valid date");
            if dob > today || dob < earliest {
                return Err(AppError::bad_input("dateOfBirth must be a past date after 1880"));
            }
        }
        let optional = |field, value: Option<Option<String>>, max| -> AppResult<Option<Option<String>>> {
            value
                .map(|v| parse_optional_text(field, v.as_deref(), max))
                .transpose()
        };
        let email = match self.email {
            Some(Some(raw)) if !raw.trim().is_empty() => {
                Some(Some(crate::domain::Email::parse(&raw)?.as_str().to_owned()))
            }
            Some(_) => Some(None),
            None => None,
        };
        Ok(PatientChanges {
            given_name: self.given_name.map(|n| parse_name("givenName", &n)).transpose()?,
            family_name: self
                .family_name
                .map(|n| parse_name("familyName", &n))
                .transpose()?,
            date_of_birth: self.date_of_birth,
            sex: self.sex,
            restricted: self.restricted,
            department_id: self.department_id,
            phone: optional("phone", self.phone, 64)?,
            postal_code: optional("postalCode", self.postal_code, 16)?,
            address: optional("address", self.address, 500)?,
            email,
            national_id: optional("nationalId", self.national_id, 64)?,
        })
    }

    fn apply(self, row: &mut patient::ActiveModel) {
        if let Some(v) = self.given_name {
            row.given_name = Set(v);
        }
        if let Some(v) = self.family_name {
            row.family_name = Set(v);
        }
        if let Some(v) = self.date_of_birth {
            row.date_of_birth = Set(v);
        }
        if let Some(v) = self.sex {
            row.sex = Set(v.to_owned());
        }
        if let Some(v) = self.restricted {
            row.restricted = Set(v);
        }
        if let Some(v) = self.department_id {
            row.department_id = Set(v);
        }
        if let Some(v) = self.phone {
            row.phone = Set(v);
        }
        if let Some(v) = self.postal_code {
            row.postal_code = Set(v);
        }
        if let Some(v) = self.address {
            row.address = Set(v);
        }
        if let Some(v) = self.email {
            row.email = Set(v);
        }
        if let Some(v) = self.national_id {
            row.national_id = Set(v);
        }
    }
}

fn new_mrn() -> String {
    // Random, so that record numbers reveal neither counts nor order.
    format!("MRN{:010}", rand::random::<u64>() % 10_000_000_000)
}

impl Caller {
    async fn views(&self, principal: Principal, rows: Vec<patient::Model>) -> AppResult<Vec<PatientView>> {
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

    fn view(&self, principal: Principal, model: patient::Model, standing: Standing) -> PatientView {
        PatientView {
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
    /// are never loaded.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn patients(
        &self,
        first: Option<i32>,
        after: Option<&str>,
        filter: PatientFilter,
        prefetch: Prefetch,
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
        let mut rows = query
            .order_by_asc(patient::Column::FamilyName)
            .order_by_asc(patient::Column::GivenName)
            .order_by_asc(patient::Column::Id)
            .limit(limit + 1)
            .all(&self.db)
            .await?;
        let has_next_page = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let nodes = self.views(principal, rows).await?;
        self.prefetch(&nodes, prefetch).await?;
        Ok(PatientPage { nodes, has_next_page })
    }

    async fn prefetch(&self, views: &[PatientView], prefetch: Prefetch) -> AppResult<()> {
        for relation in prefetch.0 {
            let Some(class) = self.policy.class_of(PATIENT_TYPE, relation) else {
                continue;
            };
            let ids: Vec<Uuid> = views
                .iter()
                .filter(|v| v.may(Action::Read, class))
                .map(PatientView::id)
                .collect();
            if ids.is_empty() {
                continue;
            }
            match relation {
                "observations" => drop(self.observations.load_many(ids).await?),
                "assignedNurses" => drop(self.nurses.load_many(ids).await?),
                "diagnoses" => drop(self.diagnoses.load_many(ids).await?),
                "medications" => drop(self.medications.load_many(ids).await?),
                "allergies" => drop(self.allergies.load_many(ids).await?),
                "notes" => drop(self.notes.load_many(ids).await?),
                "coverage" => drop(self.coverages.load_many(ids).await?),
                "invoices" => drop(self.invoices.load_many(ids).await?),
                _ => {}
            }
        }
        Ok(())
    }

    /// One patient in the caller's scope. Outside it, the answer is the same
    /// NOT_FOUND as for an id that does not exist.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn patient(&self, id: &str) -> AppResult<PatientView> {
        let principal = self.principal()?;
        let id = parse_id("id", id)?;
        self.visible_patient(principal, id).await
    }

    pub(super) async fn visible_patient(&self, principal: Principal, id: Uuid) -> AppResult<PatientView> {
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
    ) -> AppResult<(E::Model, PatientView)>
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

    /// The patients the caller may see at all. A role that sees none gets
    /// NOT_FOUND, the answer for any id it asks about.
    fn visible_scope(&self, principal: Principal) -> AppResult<Condition> {
        match self.readable(principal) {
            Err(AppError::Forbidden(_)) => Err(AppError::NotFound),
            other => other,
        }
    }

    async fn view_of(&self, principal: Principal, row: patient::Model) -> AppResult<PatientView> {
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
            let readable = self.policy.class_of(PATIENT_TYPE, field).is_some_and(|class| {
                let scopes = self.policy.scopes(principal.role, Action::Read, class);
                listing.iter().all(|s| scopes.contains(s))
            });
            if !readable {
                return Err(AppError::forbidden(format!("you may not filter by {field}")));
            }
        }
        Ok(())
    }

    /// Refuses a change the role could never make, before looking anything up.
    fn require_writable_ever(&self, principal: Principal, fields: &[&'static str]) -> AppResult<()> {
        for field in fields {
            let allowed = self
                .policy
                .class_of(PATIENT_TYPE, field)
                .is_some_and(|class| self.policy.could_ever(principal.role, Action::Write, class));
            if !allowed {
                return Err(AppError::forbidden(format!("your role may not set {field}")));
            }
        }
        Ok(())
    }

    fn require_writable(
        &self,
        principal: Principal,
        rel: Relationships,
        fields: &[&'static str],
    ) -> AppResult<()> {
        let permits = self.policy.permissions(principal.role, rel);
        for field in fields {
            let allowed = self
                .policy
                .class_of(PATIENT_TYPE, field)
                .is_some_and(|class| permits.allows(Action::Write, class));
            if !allowed {
                return Err(AppError::forbidden(format!(
                    "you may not set {field} of this patient"
                )));
            }
        }
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn create_patient(&self, changes: PatientChanges) -> AppResult<PatientView> {
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
            match row.insert(&self.db).await {
                Ok(model) => {
                    tracing::info!(patient_id = %model.id, user_id = %principal.user_id, "patient registered");
                    return Ok(self.view(principal, model, standing));
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
    pub async fn update_patient(&self, id: &str, changes: PatientChanges) -> AppResult<PatientView> {
        let principal = self.principal()?;
        let fields = changes.touched();
        if fields.is_empty() {
            return Err(AppError::bad_input("input sets no field: nothing to update"));
        }
        self.require_writable_ever(principal, &fields)?;
        let id = parse_id("id", id)?;
        let current = self.visible_patient(principal, id).await?;
        self.require_writable(principal, current.standing.relationships, &fields)?;
        let changes = changes.validated()?;
        if changes.restricted == Some(true) && !current.model.restricted && !self.has_attending(id).await? {
            return Err(AppError::bad_input(
                "assign an attending doctor before restricting: a restricted patient is reachable only through assignments",
            ));
        }
        let mut row: patient::ActiveModel = current.model.into();
        changes.apply(&mut row);
        row.updated_at = Set(Utc::now());
        let model = row.update(&self.db).await?;
        tracing::info!(patient_id = %model.id, user_id = %principal.user_id, "patient updated");
        // A change of `restricted` changes the caller's standing: recompute it.
        let kinds = self.relations.load_one(id).await?.unwrap_or_default();
        let standing = standing(principal.user_id, principal.patient_id, &model, &kinds);
        Ok(self.view(principal, model, standing))
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_patient(&self, id: &str) -> AppResult<()> {
        let principal = self.require(Action::Delete, FieldClass::PatientRecord)?;
        let id = parse_id("id", id)?;
        let current = self.visible_patient(principal, id).await?;
        if !current.may(Action::Delete, FieldClass::PatientRecord) {
            return Err(AppError::forbidden("you may not delete this patient"));
        }
        patient::Entity::delete_by_id(id).exec(&self.db).await?;
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
    ) -> AppResult<(Principal, PatientView)> {
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
