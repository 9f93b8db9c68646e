//! Chart record types and the mutations that write them. Every record is
//! reached through a classified `Patient` field or returned to the one who
//! just wrote it; the access layer checks both.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use chrono::{DateTime, Utc};

use super::common::{Date, caller, maybe};
use super::errors::ApiResult;
use super::visibility;
use crate::access::{
    Allergy, AllergyChange, ClinicalNote, Coverage, CoverageChange, Diagnosis, DiagnosisChange, Invoice,
    Medication, MedicationChange, NewAllergy, NewCoverage, NewDiagnosis, NewInvoice, NewMedication, NewNote,
};
use crate::domain::{AllergySeverity, InvoiceStatus, NoteSensitivity};

#[derive(InputObject)]
#[graphql(visible = "visibility::writes_clinical")]
pub struct RecordDiagnosisInput {
    icd10_code: String,
    description: String,
}

#[derive(InputObject)]
#[graphql(visible = "visibility::writes_clinical")]
pub struct UpdateDiagnosisInput {
    description: Option<String>,
    /// true marks it resolved now; false reopens it.
    resolved: Option<bool>,
}

#[derive(InputObject)]
#[graphql(visible = "visibility::writes_clinical")]
pub struct PrescribeMedicationInput {
    name: String,
    dose: String,
    route: String,
    frequency: String,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
#[graphql(visible = "visibility::writes_clinical")]
pub struct UpdateMedicationInput {
    dose: Option<String>,
    frequency: Option<String>,
    ends_at: MaybeUndefined<DateTime<Utc>>,
}

#[derive(InputObject)]
#[graphql(visible = "visibility::writes_clinical")]
pub struct RecordAllergyInput {
    substance: String,
    reaction: String,
    severity: AllergySeverity,
}

#[derive(InputObject)]
#[graphql(visible = "visibility::writes_clinical")]
pub struct UpdateAllergyInput {
    reaction: Option<String>,
    severity: Option<AllergySeverity>,
}

#[derive(InputObject)]
#[graphql(visible = "visibility::writes_notes")]
pub struct WriteNoteInput {
    sensitivity: NoteSensitivity,
    body: String,
}

#[derive(InputObject)]
#[graphql(visible = "visibility::writes_billing")]
pub struct AddCoverageInput {
    payer: String,
    plan: String,
    member_id: String,
    valid_from: Date,
    valid_to: Option<Date>,
}

#[derive(InputObject)]
#[graphql(visible = "visibility::writes_billing")]
pub struct UpdateCoverageInput {
    plan: Option<String>,
    member_id: Option<String>,
    valid_to: MaybeUndefined<Date>,
}

#[derive(InputObject)]
#[graphql(visible = "visibility::writes_billing")]
pub struct IssueInvoiceInput {
    description: String,
    amount_cents: i64,
    currency: String,
}

#[derive(Default)]
pub struct ChartMutation;

#[Object]
impl ChartMutation {
    #[graphql(visible = "visibility::writes_clinical")]
    async fn record_diagnosis(
        &self,
        ctx: &Context<'_>,
        patient_id: ID,
        input: RecordDiagnosisInput,
    ) -> ApiResult<Diagnosis> {
        let new = NewDiagnosis {
            icd10_code: input.icd10_code,
            description: input.description,
        };
        Ok(caller(ctx).record_diagnosis(&patient_id, new).await?)
    }

    #[graphql(visible = "visibility::writes_clinical")]
    async fn update_diagnosis(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateDiagnosisInput,
    ) -> ApiResult<Diagnosis> {
        let change = DiagnosisChange {
            description: input.description,
            resolved: input.resolved,
        };
        Ok(caller(ctx).change_diagnosis(&id, change).await?)
    }

    #[graphql(visible = "visibility::writes_clinical")]
    async fn prescribe_medication(
        &self,
        ctx: &Context<'_>,
        patient_id: ID,
        input: PrescribeMedicationInput,
    ) -> ApiResult<Medication> {
        let new = NewMedication {
            name: input.name,
            dose: input.dose,
            route: input.route,
            frequency: input.frequency,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
        };
        Ok(caller(ctx).prescribe(&patient_id, new).await?)
    }

    #[graphql(visible = "visibility::writes_clinical")]
    async fn update_medication(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateMedicationInput,
    ) -> ApiResult<Medication> {
        let change = MedicationChange {
            dose: input.dose,
            frequency: input.frequency,
            ends_at: maybe(input.ends_at),
        };
        Ok(caller(ctx).change_medication(&id, change).await?)
    }

    #[graphql(visible = "visibility::writes_clinical")]
    async fn record_allergy(
        &self,
        ctx: &Context<'_>,
        patient_id: ID,
        input: RecordAllergyInput,
    ) -> ApiResult<Allergy> {
        let new = NewAllergy {
            substance: input.substance,
            reaction: input.reaction,
            severity: input.severity,
        };
        Ok(caller(ctx).record_allergy(&patient_id, new).await?)
    }

    #[graphql(visible = "visibility::writes_clinical")]
    async fn update_allergy(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateAllergyInput,
    ) -> ApiResult<Allergy> {
        let change = AllergyChange {
            reaction: input.reaction,
            severity: input.severity,
        };
        Ok(caller(ctx).change_allergy(&id, change).await?)
    }

    /// Psychotherapy and substance-use notes need SENSITIVE_NOTES.
    #[graphql(visible = "visibility::writes_notes")]
    async fn write_note(
        &self,
        ctx: &Context<'_>,
        patient_id: ID,
        input: WriteNoteInput,
    ) -> ApiResult<ClinicalNote> {
        let new = NewNote {
            sensitivity: input.sensitivity,
            body: input.body,
        };
        Ok(caller(ctx).write_note(&patient_id, new).await?)
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
        input: AddCoverageInput,
    ) -> ApiResult<Coverage> {
        let new = NewCoverage {
            payer: input.payer,
            plan: input.plan,
            member_id: input.member_id,
            valid_from: input.valid_from.0,
            valid_to: input.valid_to.map(|d| d.0),
        };
        Ok(caller(ctx).add_coverage(&patient_id, new).await?)
    }

    #[graphql(visible = "visibility::writes_billing")]
    async fn update_coverage(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateCoverageInput,
    ) -> ApiResult<Coverage> {
        let change = CoverageChange {
            plan: input.plan,
            member_id: input.member_id,
            valid_to: maybe(input.valid_to).map(|d| d.map(|d| d.0)),
        };
        Ok(caller(ctx).change_coverage(&id, change).await?)
    }

    #[graphql(visible = "visibility::writes_billing")]
    async fn issue_invoice(
        &self,
        ctx: &Context<'_>,
        patient_id: ID,
        input: IssueInvoiceInput,
    ) -> ApiResult<Invoice> {
        let new = NewInvoice {
            description: input.description,
            amount_cents: input.amount_cents,
            currency: input.currency,
        };
        Ok(caller(ctx).issue_invoice(&patient_id, new).await?)
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
