//! The policy enforcement point. A `Caller` is the only handle through which
//! GraphQL resolvers reach data: every method asks the policy first, list
//! queries carry the caller's scope as a SQL filter, and a patient leaves
//! only as a `PatientRecord` whose fields are already decided (value or
//! withheld). Inside, a `PatientAccess` (a patient found in the caller's
//! scope, with the permissions computed for it) is the capability every
//! read and write of that patient's chart, vitals and care team starts from.
//!
//! Every read of patient data leaves through one door, `disclosure`: a
//! field of a patient, a chart relation, vitals, the care team, research
//! rows, an explanation of access. The values come out as `Disclosed`, which
//! only the door makes; this is where the audit trail will stand.
//!
//! Resolvers never see a database connection.

mod accounts;
mod break_glass;
mod care_team;
mod chart;
mod compliance;
mod departments;
mod disclosure;
mod elevation;
mod enrolment;
mod loaders;
mod mfa;
mod patients;
mod records;
mod research;
mod review;
mod scope;
mod values;
pub mod visibility;
mod vitals;
mod writes;

use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache};
use caregraph_entity::{allergy, clinical_note, coverage, diagnosis, invoice, medication};
use sea_orm::DatabaseConnection;

pub use accounts::{AccountRules, StaffAccountRequest, UnrestrictedAccount, unrestricted_create_account};
pub use break_glass::{
    BreakGlassAccess, BreakGlassCount, BreakGlassFeed, BreakGlassGrant, BreakGlassReport, BreakGlassReview,
    BreakGlassStaff, BreakGlassStatus,
};
pub use care_team::NewAssignment;
pub use compliance::{
    AccessLogEntry, AccessLogPage, AccountReview, AuditEventPage, AuditEventView, AuditExport, AuditFilter,
    MAX_EXPORT_ROWS, cursor_of as audit_cursor_of,
};
pub use disclosure::{Disclosed, DisclosureCounter};
pub use elevation::{Elevation, MAX_ELEVATION_MINUTES};
pub use enrolment::{AccountRequest, EnrolmentCode, EnrolmentKind};
pub use mfa::TotpEnrolment;
pub use patients::{
    PATIENT_TYPE, PatientChanges, PatientClasses, PatientField, PatientFilter, PatientPage, PatientRecord,
    PatientSelection, Redacted,
};
pub use research::{
    DeidentifiedPage, DeidentifiedPatient, PSEUDONYM_KEY_NAME, ResearchRelease, unrestricted_publish_release,
};
pub use review::{ExplainedDecision, Explanation};
pub use values::{
    Account, Allergy, CareAssignment, ClinicalNote, Coverage, Department, Diagnosis, Invoice, Medication,
    Observation, OwnAccount, SignedIn,
};
pub use vitals::{NewObservation, VitalSign};

use crate::audit::{Audit, RequestEvents};
use crate::auth::Principal;
use crate::auth::sessions::SessionStore;
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass, Policy, Role};
use chart::{RecordLoader, record_loader};
use loaders::{CareRelationLoader, NurseLoader, ObservationLoader};

pub use chart::{ChartEntry, ChartRecord};
pub use records::{
    AllergyChange, CoverageChange, DiagnosisChange, MedicationChange, NewAllergy, NewCoverage, NewDiagnosis,
    NewInvoice, NewMedication, NewNote,
};

/// What every request's `Caller` shares, built once at start-up.
#[derive(Clone)]
pub struct Services {
    pub policy: Arc<Policy>,
    /// The class of each patient field, from the policy, resolved once.
    pub patient_classes: Arc<PatientClasses>,
    pub db: DatabaseConnection,
    pub sessions: Arc<SessionStore>,
    pub pseudonym_key: Arc<crate::domain::Secret<Vec<u8>>>,
    pub account_rules: Arc<AccountRules>,
    /// The shortest time between two research releases.
    pub research_release_min_interval: std::time::Duration,
    pub disclosures: DisclosureCounter,
    /// The audit trail's writer.
    pub audit: Audit,
    /// New break-glass grants, pushed to subscribed compliance officers.
    pub break_glass_feed: BreakGlassFeed,
}

pub struct Caller {
    principal: Option<Principal>,
    /// One login or refresh per request: aliases must not multiply guesses.
    credential_used: std::sync::atomic::AtomicBool,
    pseudonym_key: Arc<crate::domain::Secret<Vec<u8>>>,
    account_rules: Arc<AccountRules>,
    disclosures: DisclosureCounter,
    audit: Audit,
    break_glass_feed: BreakGlassFeed,
    /// The events of this request's reads, recorded before it is answered.
    events: RequestEvents,
    /// The shortest time between two research releases.
    research_release_min_interval: std::time::Duration,
    policy: Arc<Policy>,
    patient_classes: Arc<PatientClasses>,
    db: DatabaseConnection,
    sessions: Arc<SessionStore>,
    relations: DataLoader<CareRelationLoader, HashMapCache>,
    observations: DataLoader<ObservationLoader, HashMapCache>,
    nurses: DataLoader<NurseLoader, HashMapCache>,
    diagnoses: DataLoader<RecordLoader<diagnosis::Entity>, HashMapCache>,
    medications: DataLoader<RecordLoader<medication::Entity>, HashMapCache>,
    allergies: DataLoader<RecordLoader<allergy::Entity>, HashMapCache>,
    notes: DataLoader<RecordLoader<clinical_note::Entity>, HashMapCache>,
    coverages: DataLoader<RecordLoader<coverage::Entity>, HashMapCache>,
    invoices: DataLoader<RecordLoader<invoice::Entity>, HashMapCache>,
}

impl Caller {
    /// One per request: the loaders batch and cache within this request
    /// only; `events` gathers the request's audit events of reads.
    pub fn new(principal: Option<Principal>, services: &Services, events: RequestEvents) -> Caller {
        let Services {
            policy,
            patient_classes,
            db,
            sessions,
            pseudonym_key,
            account_rules,
            research_release_min_interval,
            disclosures,
            audit,
            break_glass_feed,
        } = services.clone();
        let staff_id = principal.map(|p| p.user_id);
        let breaks_glass = principal.is_some_and(|p| policy.may_break_glass(p.role));
        Caller {
            credential_used: std::sync::atomic::AtomicBool::new(false),
            relations: per_request(CareRelationLoader::new(db.clone(), staff_id, breaks_glass)),
            observations: per_request(ObservationLoader::new(db.clone())),
            nurses: per_request(NurseLoader::new(db.clone())),
            diagnoses: record_loader(&db),
            medications: record_loader(&db),
            allergies: record_loader(&db),
            notes: record_loader(&db),
            coverages: record_loader(&db),
            invoices: record_loader(&db),
            principal,
            pseudonym_key,
            account_rules,
            research_release_min_interval,
            disclosures,
            audit,
            break_glass_feed,
            events,
            policy,
            patient_classes,
            db,
            sessions,
        }
    }

    /// The caller, for anything but MFA enrolment and logout: a session
    /// that still has to set up its second factor gets MFA_REQUIRED.
    pub fn principal(&self) -> AppResult<Principal> {
        let principal = self.signed_in()?;
        if principal.mfa_pending {
            return Err(AppError::MfaRequired(
                "your role must use a second factor: set it up with startTotpEnrolment and confirmTotpEnrolment first",
            ));
        }
        Ok(principal)
    }

    /// The caller, even when their session still has to set up MFA: for
    /// enrolment and logout only.
    fn signed_in(&self) -> AppResult<Principal> {
        self.principal.ok_or(AppError::Unauthenticated)
    }

    pub fn role(&self) -> Option<Role> {
        self.principal.map(|p| p.role)
    }

    /// Whether the caller's role could ever do this, for some patient. Used for
    /// per-role introspection and to refuse early, before any lookup.
    pub fn could_ever(&self, action: Action, class: FieldClass) -> bool {
        self.role()
            .is_some_and(|role| self.policy.could_ever(role, action, class))
    }

    /// Whether the caller's role may break glass: it holds some grant of scope BREAK_GLASS.
    pub fn may_break_glass(&self) -> bool {
        self.role().is_some_and(|role| self.policy.may_break_glass(role))
    }

    /// Role-level check for operations that are not about one patient.
    fn require(&self, action: Action, class: FieldClass) -> AppResult<Principal> {
        let principal = self.principal()?;
        if self.policy.could_ever(principal.role, action, class) {
            Ok(principal)
        } else {
            Err(AppError::forbidden(denial_text(action)))
        }
    }

    pub(super) fn one_credential_per_request(&self) -> AppResult<()> {
        if self
            .credential_used
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            Err(AppError::bad_input("one login or refreshSession per request"))
        } else {
            Ok(())
        }
    }

    #[tracing::instrument(skip_all)]
    pub async fn login(&self, email: &str, password: String, otp: Option<String>) -> AppResult<SignedIn> {
        self.one_credential_per_request()?;
        Ok(self
            .sessions
            .login(email, password, otp, client_addr())
            .await?
            .into())
    }

    /// Step-up: proves the password (and second factor) again for this session.
    #[tracing::instrument(skip_all)]
    pub async fn reauthenticate(&self, password: String, otp: Option<String>) -> AppResult<()> {
        let principal = self.principal()?;
        self.one_credential_per_request()?;
        self.sessions.reauthenticate(&principal, password, otp).await
    }

    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &str) -> AppResult<SignedIn> {
        self.one_credential_per_request()?;
        Ok(self.sessions.refresh(refresh_token).await?.into())
    }

    #[tracing::instrument(skip_all)]
    pub async fn logout(&self) -> AppResult<()> {
        let principal = self.signed_in()?;
        self.sessions.logout(&principal).await?;
        tracing::info!(target: "caregraph::security", user_id = %principal.user_id, "logout");
        Ok(())
    }

    /// Ends every session of the caller's account, on every instance.
    #[tracing::instrument(skip_all)]
    pub async fn logout_everywhere(&self) -> AppResult<u64> {
        let principal = self.principal()?;
        self.sessions.logout_everywhere(&principal).await
    }

    /// Changes the caller's own password; every other session of the
    /// account ends. Counted like a login attempt (one per request).
    #[tracing::instrument(skip_all)]
    pub async fn change_password(&self, current: String, new: String) -> AppResult<u64> {
        let principal = self.principal()?;
        self.one_credential_per_request()?;
        self.sessions
            .change_password(&principal, current, new, client_addr())
            .await
    }
}

/// The client's address as the HTTP layer established it (the socket's
/// peer, or `X-Forwarded-For` from a trusted proxy).
fn client_addr() -> Option<std::net::IpAddr> {
    crate::audit::RequestMeta::current().and_then(|meta| meta.client_addr)
}

fn denial_text(action: Action) -> &'static str {
    match action {
        Action::Read => "your role may not read this",
        Action::Write => "your role may not change this",
        Action::Create => "your role may not create this",
        Action::Delete => "your role may not delete this",
    }
}

/// A loader that batches and caches for the lifetime of one request (one
/// `Caller`): a patient's relations are looked up once however often asked.
fn per_request<L: async_graphql::dataloader::Loader<uuid::Uuid>>(loader: L) -> DataLoader<L, HashMapCache> {
    DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
}
