//! What leaves `access/` besides patients: chart entries, vital signs,
//! care-team assignments, accounts and departments, as plain values in the
//! clinic's words. Rows (entity models) stay inside; the GraphQL types are
//! these values (their GraphQL shape is declared on them; no resolver
//! logic lives here). Stored vocabularies are parsed here, and an unknown
//! stored value stays an error the field reports, never a default.

use async_graphql::{ID, SimpleObject};
use caregraph_entity::{
    allergy, care_assignment, clinical_note, coverage, department, diagnosis, invoice, medication,
    observation, user,
};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::visibility;
use super::vitals::VitalSign;
use crate::auth::sessions::Issued;
use crate::domain::{AllergySeverity, AssignmentKind, Date, InvoiceStatus, NoteSensitivity, UnknownStored};
use crate::policy::Role;

fn id(id: Uuid) -> ID {
    ID(id.to_string())
}

fn dates(date: Option<NaiveDate>) -> Option<Date> {
    date.map(Date)
}

#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_clinical")]
pub struct Diagnosis {
    #[graphql(skip_output, derived(owned, name = "id", into = "ID", with = "id"))]
    pub id: Uuid,
    /// ICD-10 code.
    pub icd10_code: String,
    pub description: String,
    pub recorded_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl From<diagnosis::Model> for Diagnosis {
    fn from(m: diagnosis::Model) -> Self {
        Diagnosis {
            id: m.id,
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
    #[graphql(skip_output, derived(owned, name = "id", into = "ID", with = "id"))]
    pub id: Uuid,
    pub name: String,
    pub dose: String,
    pub route: String,
    pub frequency: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
}

impl From<medication::Model> for Medication {
    fn from(m: medication::Model) -> Self {
        Medication {
            id: m.id,
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
    #[graphql(skip_output, derived(owned, name = "id", into = "ID", with = "id"))]
    pub id: Uuid,
    pub substance: String,
    pub reaction: String,
    pub severity: Result<AllergySeverity, UnknownStored>,
    pub recorded_at: DateTime<Utc>,
}

impl From<allergy::Model> for Allergy {
    fn from(m: allergy::Model) -> Self {
        Allergy {
            id: m.id,
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
    #[graphql(skip_output, derived(owned, name = "id", into = "ID", with = "id"))]
    pub id: Uuid,
    pub sensitivity: Result<NoteSensitivity, UnknownStored>,
    pub body: String,
    pub written_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<clinical_note::Model> for ClinicalNote {
    fn from(m: clinical_note::Model) -> Self {
        ClinicalNote {
            id: m.id,
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
    #[graphql(skip_output, derived(owned, name = "id", into = "ID", with = "id"))]
    pub id: Uuid,
    pub payer: String,
    pub plan: String,
    pub member_id: String,
    #[graphql(
        skip_output,
        derived(owned, name = "valid_from", into = "Date", with = "Date")
    )]
    pub valid_from: NaiveDate,
    #[graphql(
        skip_output,
        derived(owned, name = "valid_to", into = "Option<Date>", with = "dates")
    )]
    pub valid_to: Option<NaiveDate>,
}

impl From<coverage::Model> for Coverage {
    fn from(m: coverage::Model) -> Self {
        Coverage {
            id: m.id,
            payer: m.payer,
            plan: m.plan,
            member_id: m.member_id,
            valid_from: m.valid_from,
            valid_to: m.valid_to,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_billing")]
pub struct Invoice {
    #[graphql(skip_output, derived(owned, name = "id", into = "ID", with = "id"))]
    pub id: Uuid,
    pub description: String,
    /// In the currency's minor unit (cents).
    pub amount_cents: i64,
    pub currency: String,
    pub status: Result<InvoiceStatus, UnknownStored>,
    pub issued_at: DateTime<Utc>,
}

impl From<invoice::Model> for Invoice {
    fn from(m: invoice::Model) -> Self {
        Invoice {
            id: m.id,
            description: m.description,
            amount_cents: m.amount_cents,
            currency: m.currency,
            status: InvoiceStatus::parse(&m.status),
            issued_at: m.issued_at,
        }
    }
}

// One vital sign as recorded at the bedside.
#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_vitals")]
pub struct Observation {
    #[graphql(skip_output, derived(owned, name = "id", into = "ID", with = "id"))]
    pub id: Uuid,
    pub kind: Result<VitalSign, UnknownStored>,
    pub value: f64,
    /// UCUM unit of the value.
    pub unit: String,
    pub recorded_at: DateTime<Utc>,
}

impl From<observation::Model> for Observation {
    fn from(m: observation::Model) -> Self {
        Observation {
            id: m.id,
            kind: VitalSign::parse(&m.kind).ok_or(UnknownStored("vital sign")),
            value: m.value,
            unit: m.unit,
            recorded_at: m.recorded_at,
        }
    }
}

/// An account as another user sees it: its e-mail is decided here (the
/// account itself, account administrators, and for a patient's account only
/// who may read that patient's contact data).
pub struct Account {
    pub id: Uuid,
    pub name: String,
    pub role: Result<Role, UnknownStored>,
    pub active: bool,
    /// `None`: withheld from this caller.
    pub email: Option<String>,
}

impl Account {
    pub(super) fn new(account: user::Model, email_readable: bool) -> Account {
        Account {
            id: account.id,
            name: account.name,
            role: Role::parse(&account.role).ok_or(UnknownStored("role")),
            active: account.active,
            email: email_readable.then_some(account.email),
        }
    }
}

// The account a login or refresh was for: all of it is the caller's own.
#[derive(SimpleObject)]
#[graphql(name = "Account")]
pub struct OwnAccount {
    #[graphql(skip_output, derived(owned, name = "id", into = "ID", with = "id"))]
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Result<Role, UnknownStored>,
}

impl From<user::Model> for OwnAccount {
    fn from(m: user::Model) -> Self {
        OwnAccount {
            id: m.id,
            email: m.email,
            name: m.name,
            role: Role::parse(&m.role).ok_or(UnknownStored("role")),
        }
    }
}

/// A login's or refresh's answer: the new token pair and the account.
pub struct SignedIn {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
    pub account: OwnAccount,
    pub mfa_enrolment_required: bool,
}

impl From<Issued> for SignedIn {
    fn from(issued: Issued) -> Self {
        SignedIn {
            access_token: issued.access_token,
            refresh_token: issued.refresh_token,
            expires_at: issued.expires_at,
            account: issued.user.into(),
            mfa_enrolment_required: issued.mfa_enrolment_required,
        }
    }
}

// A place on a patient's care team, with the member's account.
#[derive(SimpleObject)]
#[graphql(visible = "visibility::writes_care_team")]
pub struct CareAssignment {
    #[graphql(skip_output, derived(owned, name = "id", into = "ID", with = "id"))]
    pub id: Uuid,
    #[graphql(skip_output, derived(owned, name = "patient_id", into = "ID", with = "id"))]
    pub patient_id: Uuid,
    pub kind: Result<AssignmentKind, UnknownStored>,
    pub staff: Account,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl CareAssignment {
    pub(super) fn new(m: care_assignment::Model, staff: Account) -> CareAssignment {
        CareAssignment {
            id: m.id,
            patient_id: m.patient_id,
            kind: AssignmentKind::parse(&m.kind),
            staff,
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            revoked_at: m.revoked_at,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_departments")]
pub struct Department {
    #[graphql(skip_output, derived(owned, name = "id", into = "ID", with = "id"))]
    pub id: Uuid,
    pub name: String,
}

impl From<department::Model> for Department {
    fn from(m: department::Model) -> Self {
        Department {
            id: m.id,
            name: m.name,
        }
    }
}
