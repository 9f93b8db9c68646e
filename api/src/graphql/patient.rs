//! The `Patient` type. It wraps a `PatientAccess`: each field asks access,
//! which lets the value through its one door or answers no, and a denied
//! field resolves to `null` with a FORBIDDEN error at its path.

use std::sync::Arc;

use async_graphql::{Context, ID, Lookahead, Object};

use super::common::{Date, caller};
use super::errors::{ApiResult, forbid_field};
use super::visibility;
use crate::access::{
    Account, Allergy, ClinicalNote, Coverage, Diagnosis, Disclosed, Invoice, Medication, Observation,
    PatientPage, PatientRecord, PatientSelection, Redacted,
};
use crate::domain::Sex;
use crate::error::AppError;

/// A patient as access disclosed it: each field is already its value or
/// withheld, and a withheld field resolves to `null` with FORBIDDEN.
#[derive(Clone)]
pub struct Patient(pub Arc<PatientRecord>);

impl Patient {
    /// What a query reads of the patient at `look` (fragments included,
    /// aliases ignored): access discloses exactly that.
    pub fn selection(look: &Lookahead<'_>) -> PatientSelection {
        PatientSelection::asking(|name| look.field(name).exists())
    }
}

/// A field's value, or null with FORBIDDEN at its path where it was withheld.
fn shown<T: Clone>(ctx: &Context<'_>, field: &Redacted<T>) -> Option<T> {
    match field {
        Some(value) => Some(value.get().clone()),
        None => {
            forbid_field(ctx);
            None
        }
    }
}

/// What access let through, or null with FORBIDDEN at the field's path.
fn disclosed<T>(ctx: &Context<'_>, value: Option<Disclosed<T>>) -> Option<T> {
    if value.is_none() {
        forbid_field(ctx);
    }
    value.map(Disclosed::into_inner)
}

#[Object(visible = "visibility::reads_directory")]
impl Patient {
    /// Always readable: a patient you can see at all, you can see the id of.
    async fn id(&self, ctx: &Context<'_>) -> ApiResult<ID> {
        shown(ctx, &self.0.id)
            .map(|id| ID(id.to_string()))
            .ok_or_else(|| AppError::Internal("a listed patient's id was withheld".into()).into())
    }
    /// Medical record number.
    async fn mrn(&self, ctx: &Context<'_>) -> Option<String> {
        shown(ctx, &self.0.mrn)
    }
    async fn given_name(&self, ctx: &Context<'_>) -> Option<String> {
        shown(ctx, &self.0.given_name)
    }
    async fn family_name(&self, ctx: &Context<'_>) -> Option<String> {
        shown(ctx, &self.0.family_name)
    }
    /// VIP or staff member: access is narrowed further.
    #[graphql(visible = "visibility::reads_restriction")]
    async fn restricted(&self, ctx: &Context<'_>) -> Option<bool> {
        shown(ctx, &self.0.restricted)
    }
    async fn department_id(&self, ctx: &Context<'_>) -> Option<ID> {
        shown(ctx, &self.0.department_id)
            .flatten()
            .map(|d| ID(d.to_string()))
    }
    #[graphql(visible = "visibility::reads_demographics")]
    async fn date_of_birth(&self, ctx: &Context<'_>) -> Option<Date> {
        shown(ctx, &self.0.date_of_birth).map(Date)
    }
    #[graphql(visible = "visibility::reads_demographics")]
    async fn sex(&self, ctx: &Context<'_>) -> ApiResult<Option<Sex>> {
        Ok(shown(ctx, &self.0.sex).transpose().map_err(AppError::from)?)
    }
    #[graphql(visible = "visibility::reads_contact")]
    async fn phone(&self, ctx: &Context<'_>) -> Option<String> {
        shown(ctx, &self.0.phone).flatten()
    }
    #[graphql(visible = "visibility::reads_contact")]
    async fn address(&self, ctx: &Context<'_>) -> Option<String> {
        shown(ctx, &self.0.address).flatten()
    }
    #[graphql(visible = "visibility::reads_contact")]
    async fn postal_code(&self, ctx: &Context<'_>) -> Option<String> {
        shown(ctx, &self.0.postal_code).flatten()
    }
    #[graphql(visible = "visibility::reads_contact")]
    async fn email(&self, ctx: &Context<'_>) -> Option<String> {
        shown(ctx, &self.0.email).flatten()
    }
    #[graphql(visible = "visibility::reads_identifiers")]
    async fn national_id(&self, ctx: &Context<'_>) -> Option<String> {
        shown(ctx, &self.0.national_id).flatten()
    }
    /// Vital signs, newest first.
    #[graphql(visible = "visibility::reads_vitals")]
    async fn observations(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<Observation>>> {
        let rows = caller(ctx).observations(&self.0).await?;
        Ok(disclosed(ctx, rows))
    }
    #[graphql(visible = "visibility::reads_clinical")]
    async fn diagnoses(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<Diagnosis>>> {
        Ok(disclosed(ctx, caller(ctx).chart::<Diagnosis>(&self.0).await?))
    }
    #[graphql(visible = "visibility::reads_clinical")]
    async fn medications(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<Medication>>> {
        Ok(disclosed(ctx, caller(ctx).chart::<Medication>(&self.0).await?))
    }
    #[graphql(visible = "visibility::reads_clinical")]
    async fn allergies(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<Allergy>>> {
        Ok(disclosed(ctx, caller(ctx).chart::<Allergy>(&self.0).await?))
    }
    /// Psychotherapy and substance-use notes appear only to their author
    /// and the attending doctor.
    #[graphql(visible = "visibility::reads_notes")]
    async fn notes(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<ClinicalNote>>> {
        Ok(disclosed(ctx, caller(ctx).chart::<ClinicalNote>(&self.0).await?))
    }
    #[graphql(visible = "visibility::reads_billing")]
    async fn coverage(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<Coverage>>> {
        Ok(disclosed(ctx, caller(ctx).chart::<Coverage>(&self.0).await?))
    }
    #[graphql(visible = "visibility::reads_billing")]
    async fn invoices(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<Invoice>>> {
        Ok(disclosed(ctx, caller(ctx).chart::<Invoice>(&self.0).await?))
    }
    /// Nurses with an active assignment to this patient.
    #[graphql(visible = "visibility::reads_care_team")]
    async fn assigned_nurses(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<Account>>> {
        let rows = caller(ctx).assigned_nurses(&self.0).await?;
        Ok(disclosed(ctx, rows))
    }
}

pub struct PatientConnection(pub Vec<Patient>, pub bool);

impl PatientConnection {
    pub fn from_page(page: PatientPage) -> Self {
        PatientConnection(page.nodes.into_iter().map(Patient).collect(), page.has_next_page)
    }

    /// What a query reads of each patient of the connection at `look`. A
    /// cursor encodes the patient's id, so reading one reads the id.
    pub fn selection(look: &Lookahead<'_>) -> PatientSelection {
        let cursors = look.field("edges").field("cursor").exists()
            || look.field("pageInfo").field("startCursor").exists()
            || look.field("pageInfo").field("endCursor").exists();
        let mut asked = Patient::selection(&look.field("nodes"))
            .union(Patient::selection(&look.field("edges").field("node")));
        if cursors {
            asked = asked.with(crate::access::PatientField::Id);
        }
        asked
    }
}

pub struct PatientEdge(Patient);

#[Object(visible = "visibility::reads_directory")]
impl PatientEdge {
    async fn cursor(&self) -> String {
        PatientPage::cursor_of(&self.0.0)
    }
    async fn node(&self) -> &Patient {
        &self.0
    }
}

#[derive(async_graphql::SimpleObject)]
#[graphql(visible = "visibility::pages_lists")]
pub struct PageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    start_cursor: Option<String>,
    end_cursor: Option<String>,
}

impl PageInfo {
    /// A page of a forward-only list, shared by every connection (patients,
    /// the audit trail, a patient's access log).
    pub(super) fn forward(
        has_next_page: bool,
        start_cursor: Option<String>,
        end_cursor: Option<String>,
    ) -> Self {
        PageInfo {
            has_next_page,
            has_previous_page: false,
            start_cursor,
            end_cursor,
        }
    }
}

#[Object(visible = "visibility::reads_directory")]
impl PatientConnection {
    async fn nodes(&self) -> &[Patient] {
        &self.0
    }
    async fn edges(&self) -> Vec<PatientEdge> {
        self.0.iter().cloned().map(PatientEdge).collect()
    }
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.1,
            // Forward pagination only.
            has_previous_page: false,
            start_cursor: self.0.first().map(|p| PatientPage::cursor_of(&p.0)),
            end_cursor: self.0.last().map(|p| PatientPage::cursor_of(&p.0)),
        }
    }
}
