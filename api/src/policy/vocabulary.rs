//! The words of the policy: roles, actions, field classes, relationship scopes.
//!
//! Every `match` over these enums is exhaustive on purpose: adding a variant
//! must force a decision everywhere it matters.

use serde::{Deserialize, Serialize};

/// What a user is in the clinic. Roles are not a ladder: each has its own grants.
#[derive(
    async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Admin,
    Doctor,
    Nurse,
    Billing,
    Reception,
    Patient,
    ComplianceOfficer,
    Researcher,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::Doctor,
        Role::Nurse,
        Role::Billing,
        Role::Reception,
        Role::Patient,
        Role::ComplianceOfficer,
        Role::Researcher,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::Doctor => "DOCTOR",
            Role::Nurse => "NURSE",
            Role::Billing => "BILLING",
            Role::Reception => "RECEPTION",
            Role::Patient => "PATIENT",
            Role::ComplianceOfficer => "COMPLIANCE_OFFICER",
            Role::Researcher => "RESEARCHER",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(
    async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    Read,
    Write,
    Create,
    Delete,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Read, Action::Write, Action::Create, Action::Delete];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "READ",
            Action::Write => "WRITE",
            Action::Create => "CREATE",
            Action::Delete => "DELETE",
        }
    }
}

/// A class of fields (or of whole records) that the policy grants access to.
#[derive(
    async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FieldClass {
    Directory,
    Demographics,
    Contact,
    Identifiers,
    Vitals,
    Clinical,
    Notes,
    SensitiveNotes,
    Billing,
    CareTeam,
    PatientRecord,
    Restriction,
    Deidentified,
    Accounts,
    PatientAccounts,
    StaffDirectory,
    Departments,
    AccessReview,
    AccountApprovals,
    AccessLog,
    AuditTrail,
    BreakGlassReview,
}

impl FieldClass {
    pub const ALL: [FieldClass; 22] = [
        FieldClass::Directory,
        FieldClass::Demographics,
        FieldClass::Contact,
        FieldClass::Identifiers,
        FieldClass::Vitals,
        FieldClass::Clinical,
        FieldClass::Notes,
        FieldClass::SensitiveNotes,
        FieldClass::Billing,
        FieldClass::CareTeam,
        FieldClass::PatientRecord,
        FieldClass::Restriction,
        FieldClass::Deidentified,
        FieldClass::Accounts,
        FieldClass::PatientAccounts,
        FieldClass::StaffDirectory,
        FieldClass::Departments,
        FieldClass::AccessReview,
        FieldClass::AccountApprovals,
        FieldClass::AccessLog,
        FieldClass::AuditTrail,
        FieldClass::BreakGlassReview,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldClass::Directory => "DIRECTORY",
            FieldClass::Demographics => "DEMOGRAPHICS",
            FieldClass::Contact => "CONTACT",
            FieldClass::Identifiers => "IDENTIFIERS",
            FieldClass::Vitals => "VITALS",
            FieldClass::Clinical => "CLINICAL",
            FieldClass::Notes => "NOTES",
            FieldClass::SensitiveNotes => "SENSITIVE_NOTES",
            FieldClass::Billing => "BILLING",
            FieldClass::CareTeam => "CARE_TEAM",
            FieldClass::PatientRecord => "PATIENT_RECORD",
            FieldClass::Restriction => "RESTRICTION",
            FieldClass::Deidentified => "DEIDENTIFIED",
            FieldClass::Accounts => "ACCOUNTS",
            FieldClass::PatientAccounts => "PATIENT_ACCOUNTS",
            FieldClass::StaffDirectory => "STAFF_DIRECTORY",
            FieldClass::Departments => "DEPARTMENTS",
            FieldClass::AccessReview => "ACCESS_REVIEW",
            FieldClass::AccountApprovals => "ACCOUNT_APPROVALS",
            FieldClass::AccessLog => "ACCESS_LOG",
            FieldClass::AuditTrail => "AUDIT_TRAIL",
            FieldClass::BreakGlassReview => "BREAK_GLASS_REVIEW",
        }
    }

    /// Whether the class is about one patient (scoped by relationship) or
    /// about the clinic as a whole (scope ANY only).
    pub fn is_patient_data(self) -> bool {
        match self {
            FieldClass::Directory
            | FieldClass::Demographics
            | FieldClass::Contact
            | FieldClass::Identifiers
            | FieldClass::Vitals
            | FieldClass::Clinical
            | FieldClass::Notes
            | FieldClass::SensitiveNotes
            | FieldClass::Billing
            | FieldClass::CareTeam
            | FieldClass::PatientRecord
            | FieldClass::Restriction
            | FieldClass::AccessLog => true,
            FieldClass::Deidentified
            | FieldClass::Accounts
            | FieldClass::PatientAccounts
            | FieldClass::StaffDirectory
            | FieldClass::Departments
            | FieldClass::AccessReview
            | FieldClass::AccountApprovals
            | FieldClass::AuditTrail
            | FieldClass::BreakGlassReview => false,
        }
    }
}

/// How the caller stands to a patient. A grant applies only under its scope.
#[derive(
    async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Scope {
    Any,
    Treating,
    Assigned,
    #[serde(rename = "SELF")]
    #[graphql(name = "SELF")]
    OwnRecord,
    BreakGlass,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::Any,
        Scope::Treating,
        Scope::Assigned,
        Scope::OwnRecord,
        Scope::BreakGlass,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Any => "ANY",
            Scope::Treating => "TREATING",
            Scope::Assigned => "ASSIGNED",
            Scope::OwnRecord => "SELF",
            Scope::BreakGlass => "BREAK_GLASS",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The set of scopes that hold between one caller and one patient. `ANY`
/// holds for every patient except restricted ones.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Relationships(u8);

impl Relationships {
    pub fn none_but_any() -> Self {
        Relationships(Scope::Any.bit())
    }

    /// Not even ANY: a restricted patient with no explicit assignment.
    pub fn none() -> Self {
        Relationships(0)
    }

    pub fn scopes(self) -> Vec<Scope> {
        Scope::ALL.into_iter().filter(|s| self.holds(*s)).collect()
    }

    pub fn with(self, scope: Scope) -> Self {
        Relationships(self.0 | scope.bit())
    }

    pub fn holds(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }
}

/// A set of (action, class) pairs, computed once per caller and patient.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Permissions(u128);

impl Permissions {
    fn bit(action: Action, class: FieldClass) -> u128 {
        1 << ((action as u32) * 32 + class as u32)
    }

    pub fn insert(&mut self, action: Action, class: FieldClass) {
        self.0 |= Self::bit(action, class);
    }

    pub fn allows(self, action: Action, class: FieldClass) -> bool {
        self.0 & Self::bit(action, class) != 0
    }

    pub fn union(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// A set of field classes: what one read asked for, allowed or denied.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ClassSet(u32);

impl ClassSet {
    pub fn insert(&mut self, class: FieldClass) {
        self.0 |= 1 << (class as u32);
    }

    pub fn contains(self, class: FieldClass) -> bool {
        self.0 & (1 << (class as u32)) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = FieldClass> {
        FieldClass::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

impl std::fmt::Display for ClassSet {
    /// `DIRECTORY,VITALS`, in the vocabulary's order.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, class) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(class.as_str())?;
        }
        Ok(())
    }
}

impl FromIterator<FieldClass> for ClassSet {
    fn from_iter<I: IntoIterator<Item = FieldClass>>(iter: I) -> Self {
        let mut set = ClassSet::default();
        for class in iter {
            set.insert(class);
        }
        set
    }
}

/// Purpose of use (HIPAA's treatment, payment, operations, and the
/// exceptions for emergencies and research), declared per grant: every
/// read of patient data is recorded under the purpose of the grant that
/// allowed it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Purpose {
    Treatment,
    Payment,
    Operations,
    Emergency,
    Research,
}

impl Purpose {
    pub const ALL: &'static [Purpose] = &[
        Purpose::Treatment,
        Purpose::Payment,
        Purpose::Operations,
        Purpose::Emergency,
        Purpose::Research,
    ];

    /// The code stored in the trail (and covered by its hash).
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Treatment => "TREATMENT",
            Purpose::Payment => "PAYMENT",
            Purpose::Operations => "OPERATIONS",
            Purpose::Emergency => "EMERGENCY",
            Purpose::Research => "RESEARCH",
        }
    }

    pub fn parse(code: &str) -> Option<Purpose> {
        Purpose::ALL.iter().copied().find(|p| p.as_str() == code)
    }
}
