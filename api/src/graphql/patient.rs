//! The `Patient` type. It wraps a `PatientView`: each field asks access,
//! which lets the value through its one door or answers no, and a denied
//! field resolves to `null` with a FORBIDDEN error at its path.

use async_graphql::{Context, ID, Object};
use caregraph_entity::{allergy, clinical_note, coverage, diagnosis, invoice, medication, patient};

use super::account::User;
use super::care::Observation;
use super::chart::{Allergy, ClinicalNote, Coverage, Diagnosis, Invoice, Medication};
use super::common::{Date, caller};
use super::errors::{ApiResult, forbid_field};
use super::visibility;
use crate::access::{ChartRecord, Disclosed, PatientPage, PatientView};
use crate::error::AppError;

#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Sex {
    Female,
    Male,
    Other,
    Unknown,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Female => "FEMALE",
            Sex::Male => "MALE",
            Sex::Other => "OTHER",
            Sex::Unknown => "UNKNOWN",
        }
    }

    /// An unknown stored value fails loudly; it is never shown as another.
    fn parse(s: &str) -> ApiResult<Sex> {
        [Sex::Female, Sex::Male, Sex::Other, Sex::Unknown]
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| AppError::Internal("stored sex is unknown".into()).into())
    }
}

#[derive(Clone)]
pub struct Patient(pub PatientView);

impl Patient {
    /// The name of the field being resolved, as the policy's field table
    /// knows it (aliases do not change it).
    fn name<'c>(ctx: &'c Context<'_>) -> &'c str {
        ctx.item.node.name.node.as_str()
    }

    /// A chart relation: null with FORBIDDEN unless access lets it through.
    async fn records<E, T>(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<T>>>
    where
        E: ChartRecord,
        E::Model: Clone + Send + Sync + sea_orm::IntoActiveModel<E::ActiveModel>,
        E::ActiveModel: sea_orm::ActiveModelBehavior + Send,
        T: From<E::Model>,
    {
        let rows = caller(ctx).chart::<E>(&self.0, Self::name(ctx)).await?;
        Ok(disclosed(ctx, rows).map(|rows| rows.into_iter().map(T::from).collect()))
    }

    fn field<T>(&self, ctx: &Context<'_>, value: impl FnOnce(&patient::Model) -> T) -> Option<T> {
        disclosed(ctx, caller(ctx).patient_field(&self.0, Self::name(ctx), value))
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
    async fn id(&self, ctx: &Context<'_>) -> ID {
        ID(caller(ctx).patient_id(&self.0).into_inner().to_string())
    }
    /// Medical record number.
    async fn mrn(&self, ctx: &Context<'_>) -> Option<String> {
        self.field(ctx, |p| p.mrn.clone())
    }
    async fn given_name(&self, ctx: &Context<'_>) -> Option<String> {
        self.field(ctx, |p| p.given_name.clone())
    }
    async fn family_name(&self, ctx: &Context<'_>) -> Option<String> {
        self.field(ctx, |p| p.family_name.clone())
    }
    /// VIP or staff member: access is narrowed further.
    #[graphql(visible = "visibility::reads_restriction")]
    async fn restricted(&self, ctx: &Context<'_>) -> Option<bool> {
        self.field(ctx, |p| p.restricted)
    }
    async fn department_id(&self, ctx: &Context<'_>) -> Option<ID> {
        self.field(ctx, |p| p.department_id.map(|d| ID(d.to_string())))
            .flatten()
    }
    #[graphql(visible = "visibility::reads_demographics")]
    async fn date_of_birth(&self, ctx: &Context<'_>) -> Option<Date> {
        self.field(ctx, |p| Date(p.date_of_birth))
    }
    #[graphql(visible = "visibility::reads_demographics")]
    async fn sex(&self, ctx: &Context<'_>) -> ApiResult<Option<Sex>> {
        self.field(ctx, |p| Sex::parse(&p.sex)).transpose()
    }
    #[graphql(visible = "visibility::reads_contact")]
    async fn phone(&self, ctx: &Context<'_>) -> Option<String> {
        self.field(ctx, |p| p.phone.clone()).flatten()
    }
    #[graphql(visible = "visibility::reads_contact")]
    async fn address(&self, ctx: &Context<'_>) -> Option<String> {
        self.field(ctx, |p| p.address.clone()).flatten()
    }
    #[graphql(visible = "visibility::reads_contact")]
    async fn postal_code(&self, ctx: &Context<'_>) -> Option<String> {
        self.field(ctx, |p| p.postal_code.clone()).flatten()
    }
    #[graphql(visible = "visibility::reads_contact")]
    async fn email(&self, ctx: &Context<'_>) -> Option<String> {
        self.field(ctx, |p| p.email.clone()).flatten()
    }
    #[graphql(visible = "visibility::reads_identifiers")]
    async fn national_id(&self, ctx: &Context<'_>) -> Option<String> {
        self.field(ctx, |p| p.national_id.clone()).flatten()
    }
    /// Vital signs, newest first.
    #[graphql(visible = "visibility::reads_vitals")]
    async fn observations(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<Observation>>> {
        let rows = caller(ctx).observations(&self.0, Self::name(ctx)).await?;
        Ok(disclosed(ctx, rows).map(|rows| rows.into_iter().map(Observation).collect()))
    }
    #[graphql(visible = "visibility::reads_clinical")]
    async fn diagnoses(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<Diagnosis>>> {
        self.records::<diagnosis::Entity, _>(ctx).await
    }
    #[graphql(visible = "visibility::reads_clinical")]
    async fn medications(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<Medication>>> {
        self.records::<medication::Entity, _>(ctx).await
    }
    #[graphql(visible = "visibility::reads_clinical")]
    async fn allergies(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<Allergy>>> {
        self.records::<allergy::Entity, _>(ctx).await
    }
    /// Psychotherapy and substance-use notes appear only to their author
    /// and the attending doctor.
    #[graphql(visible = "visibility::reads_notes")]
    async fn notes(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<ClinicalNote>>> {
        self.records::<clinical_note::Entity, _>(ctx).await
    }
    #[graphql(visible = "visibility::reads_billing")]
    async fn coverage(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<Coverage>>> {
        self.records::<coverage::Entity, _>(ctx).await
    }
    #[graphql(visible = "visibility::reads_billing")]
    async fn invoices(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<Invoice>>> {
        self.records::<invoice::Entity, _>(ctx).await
    }
    /// Nurses with an active assignment to this patient.
    #[graphql(visible = "visibility::reads_care_team")]
    async fn assigned_nurses(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<User>>> {
        let caller = caller(ctx);
        let rows = caller.assigned_nurses(&self.0, Self::name(ctx)).await?;
        Ok(disclosed(ctx, rows).map(|rows| {
            rows.into_iter()
                .map(|nurse| User(caller.account_view(nurse)))
                .collect()
        }))
    }
}

pub struct PatientConnection(pub Vec<Patient>, pub bool);

impl PatientConnection {
    pub fn from_page(page: PatientPage) -> Self {
        PatientConnection(page.nodes.into_iter().map(Patient).collect(), page.has_next_page)
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
#[graphql(visible = "visibility::reads_directory")]
pub struct PageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    start_cursor: Option<String>,
    end_cursor: Option<String>,
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
