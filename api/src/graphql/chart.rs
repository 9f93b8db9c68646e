//! Chart record types and the mutations that write them. Every record is
//! reached through a classified `Patient` field or returned to the one who
//! just wrote it; the access layer checks both.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use caregraph_entity::{allergy, clinical_note, coverage, diagnosis, invoice, medication};
use chrono::{DateTime, Utc};

use super::common::{Date, caller, maybe};
use super::errors::ApiResult;
use super::visibility;
use crate::access::{
    AllergyChange, CoverageChange, DiagnosisChange, MedicationChange, NewAllergy, NewCoverage, NewDiagnosis,
    NewInvoice, NewMedication, NewNote,
};
use crate::error::AppError;

fn id(uuid: uuid::Uuid) -> ID {
    ID(uuid.to_string())
}

macro_rules! string_enum {
    ($name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        #[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
        pub enum $name { $($variant),* }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            /// Stored values are written only by this server; an unknown one
            /// fails the field loudly (INTERNAL, logged) rather than being
            /// shown as some other value.
            fn parse(s: &str) -> ApiResult<Self> {
                [$($name::$variant),*].into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
                    AppError::Internal(format!("stored {} {s:?} is unknown", stringify!($name))).into()
                })
            }
        }
    };
}

string_enum!(AllergySeverity { Mild => "MILD", Moderate => "MODERATE", Severe => "SEVERE" });
string_enum!(NoteSensitivity { Normal => "NORMAL", Psychotherapy => "PSYCHOTHERAPY", SubstanceUse => "SUBSTANCE_USE" });
string_enum!(InvoiceStatus { Issued => "ISSUED", Paid => "PAID", Void => "VOID" });

#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_clinical")]
pub struct Diagnosis {
    id: ID,
    /// ICD-10 code.
    icd10_code: String,
    description: String,
    recorded_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
}

impl From<diagnosis::Model> for Diagnosis {
    fn from(m: diagnosis::Model) -> Self {
        Diagnosis {
            id: id(m.id),
            icd10_code: m.icd10_code,
            description: m.description,
            recorded_at: m.recorded_at,
            resolved_at: m.resolved_at,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_clinical")]
pub struct Medication {
    id: ID,
    name: String,
    dose: String,
    route: String,
    frequency: String,
    starts_at: DateTime<Utc>,
    ends_at: Option<DateTime<Utc>>,
}

impl From<medication::Model> for Medication {
    fn from(m: medication::Model) -> Self {
        Medication {
            id: id(m.id),
            name: m.name,
            dose: m.dose,
            route: m.route,
            frequency: m.frequency,
            starts_at: m.starts_at,
            ends_at: m.ends_at,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_clinical")]
pub struct Allergy {
    id: ID,
    substance: String,
    reaction: String,
    severity: ApiResult<AllergySeverity>,
    recorded_at: DateTime<Utc>,
}

impl From<allergy::Model> for Allergy {
    fn from(m: allergy::Model) -> Self {
        Allergy {
            id: id(m.id),
            substance: m.substance,
            reaction: m.reaction,
            severity: AllergySeverity::parse(&m.severity),
            recorded_at: m.recorded_at,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_notes")]
pub struct ClinicalNote {
    id: ID,
    sensitivity: ApiResult<NoteSensitivity>,
    body: String,
    written_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<clinical_note::Model> for ClinicalNote {
    fn from(m: clinical_note::Model) -> Self {
        ClinicalNote {
            id: id(m.id),
            sensitivity: NoteSensitivity::parse(&m.sensitivity),
            body: m.body,
            written_at: m.written_at,
            updated_at: m.updated_at,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_billing")]
pub struct Coverage {
    id: ID,
    payer: String,
    plan: String,
    member_id: String,
    valid_from: Date,
    valid_to: Option<Date>,
}

impl From<coverage::Model> for Coverage {
    fn from(m: coverage::Model) -> Self {
        Coverage {
            id: id(m.id),
            payer: m.payer,
            plan: m.plan,
            member_id: m.member_id,
            valid_from: Date(m.valid_from),
            valid_to: m.valid_to.map(Date),
        }
    }
}

#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_billing")]
pub struct Invoice {
    id: ID,
    description: String,
    /// In the currency's minor unit (cents).
    amount_cents: i64,
    currency: String,
    status: ApiResult<InvoiceStatus>,
    issued_at: DateTime<Utc>,
}

impl From<invoice::Model> for Invoice {
    fn from(m: invoice::Model) -> Self {
        Invoice {
            id: id(m.id),
            description: m.description,
            amount_cents: m.amount_cents,
            currency: m.currency,
            status: InvoiceStatus::parse(&m.status),
            issued_at: m.issued_at,
        }
    }
}

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
        Ok(caller(ctx).record_diagnosis(&patient_id, new).await?.into())
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
        Ok(caller(ctx).change_diagnosis(&id, change).await?.into())
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
        Ok(caller(ctx).prescribe(&patient_id, new).await?.into())
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
        Ok(caller(ctx).change_medication(&id, change).await?.into())
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
            severity: input.severity.as_str(),
        };
        Ok(caller(ctx).record_allergy(&patient_id, new).await?.into())
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
            severity: input.severity.map(AllergySeverity::as_str),
        };
        Ok(caller(ctx).change_allergy(&id, change).await?.into())
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
            sensitivity: input.sensitivity.as_str(),
            body: input.body,
        };
        Ok(caller(ctx).write_note(&patient_id, new).await?.into())
    }

    /// Only the author amends a note.
    #[graphql(visible = "visibility::writes_notes")]
    async fn amend_note(&self, ctx: &Context<'_>, id: ID, body: String) -> ApiResult<ClinicalNote> {
        Ok(caller(ctx).amend_note(&id, &body).await?.into())
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
        Ok(caller(ctx).add_coverage(&patient_id, new).await?.into())
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
        Ok(caller(ctx).change_coverage(&id, change).await?.into())
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
        Ok(caller(ctx).issue_invoice(&patient_id, new).await?.into())
    }

    /// ISSUED invoices become PAID or VOID.
    #[graphql(visible = "visibility::writes_billing")]
    async fn update_invoice_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        status: InvoiceStatus,
    ) -> ApiResult<Invoice> {
        Ok(caller(ctx).set_invoice_status(&id, status.as_str()).await?.into())
    }
}
