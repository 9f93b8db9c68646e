//! Chart record types and the mutations that write them. Every record is
//! reached through a classified `Patient` field or returned to the one who
//! just wrote it; the access layer checks both.

use async_graphql::{Context, ID, Object};

use super::common::caller;
use super::errors::ApiResult;
use super::visibility;
use crate::access::{
    Allergy, AllergyChange, ClinicalNote, Coverage, CoverageChange, Diagnosis, DiagnosisChange, Invoice,
    Medication, MedicationChange, NewAllergy, NewCoverage, NewDiagnosis, NewInvoice, NewMedication, NewNote,
};
use crate::domain::InvoiceStatus;

#[derive(Default)]
pub struct ChartMutation;

#[Object]
impl ChartMutation {
    #[graphql(visible = "visibility::writes_clinical")]
    async fn record_diagnosis(
        &self,
        ctx: &Context<'_>,
        patient_id: ID,
        input: NewDiagnosis,
    ) -> ApiResult<Diagnosis> {
        Ok(caller(ctx).record_diagnosis(&patient_id, input).await?)
    }

    #[graphql(visible = "visibility::writes_clinical")]
    async fn update_diagnosis(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: DiagnosisChange,
    ) -> ApiResult<Diagnosis> {
        Ok(caller(ctx).change_diagnosis(&id, input).await?)
    }

    #[graphql(visible = "visibility::writes_clinical")]
    async fn prescribe_medication(
        &self,
        ctx: &Context<'_>,
        patient_id: ID,
        input: NewMedication,
    ) -> ApiResult<Medication> {
        Ok(caller(ctx).prescribe(&patient_id, input).await?)
    }

    #[graphql(visible = "visibility::writes_clinical")]
    async fn update_medication(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: MedicationChange,
    ) -> ApiResult<Medication> {
        Ok(caller(ctx).change_medication(&id, input).await?)
    }

    #[graphql(visible = "visibility::writes_clinical")]
    async fn record_allergy(
        &self,
        ctx: &Context<'_>,
        patient_id: ID,
        input: NewAllergy,
    ) -> ApiResult<Allergy> {
        Ok(caller(ctx).record_allergy(&patient_id, input).await?)
    }

    #[graphql(visible = "visibility::writes_clinical")]
    async fn update_allergy(&self, ctx: &Context<'_>, id: ID, input: AllergyChange) -> ApiResult<Allergy> {
        Ok(caller(ctx).change_allergy(&id, input).await?)
    }

    /// Psychotherapy and substance-use notes need SENSITIVE_NOTES.
    #[graphql(visible = "visibility::writes_notes")]
    async fn write_note(&self, ctx: &Context<'_>, patient_id: ID, input: NewNote) -> ApiResult<ClinicalNote> {
        Ok(caller(ctx).write_note(&patient_id, input).await?)
    }

    /// Only the author amends a note.
    #[graphql(visible = "visibility::writes_notes")]
    async fn amend_note(&self, ctx: &Context<'_>, id: ID, body: String) -> ApiResult<ClinicalNote> {
        Ok(caller(ctx).amend_note(&id, &body).await?)
    }

    #[graphql(visible = "visibility::writes_billing")]
    async fn add_coverage(
        &self,
        ctx: &Context<'_>,
        patient_id: ID,
        input: NewCoverage,
    ) -> ApiResult<Coverage> {
        Ok(caller(ctx).add_coverage(&patient_id, input).await?)
    }

    #[graphql(visible = "visibility::writes_billing")]
    async fn update_coverage(&self, ctx: &Context<'_>, id: ID, input: CoverageChange) -> ApiResult<Coverage> {
        Ok(caller(ctx).change_coverage(&id, input).await?)
    }

    #[graphql(visible = "visibility::writes_billing")]
    async fn issue_invoice(
        &self,
        ctx: &Context<'_>,
        patient_id: ID,
        input: NewInvoice,
    ) -> ApiResult<Invoice> {
        Ok(caller(ctx).issue_invoice(&patient_id, input).await?)
    }

    /// ISSUED invoices become PAID or VOID.
    #[graphql(visible = "visibility::writes_billing")]
    async fn update_invoice_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        status: InvoiceStatus,
    ) -> ApiResult<Invoice> {
        Ok(caller(ctx).set_invoice_status(&id, status).await?)
    }
}
