//! The fields of `Patient`, each with its class from the policy's field
//! table, resolved once at start-up: nothing on the request path looks a
//! class up by name, and a field the table does not classify stops the
//! server before it serves anything.

use crate::policy::{FieldClass, Policy, PolicyError};

/// The GraphQL type whose fields the policy's field table classifies.
pub const PATIENT_TYPE: &str = "Patient";

macro_rules! patient_fields {
    ($($field:ident => $name:literal),* $(,)?) => {
        /// A field of `Patient`: a column of the patient's row or a
        /// relation (vitals, chart records, care team).
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum PatientField { $($field),* }

        impl PatientField {
            pub const ALL: &'static [PatientField] = &[$(PatientField::$field),*];

            /// The field's name in the schema and in the policy's field table.
            pub const fn name(self) -> &'static str {
                match self { $(PatientField::$field => $name),* }
            }
        }
    };
}

patient_fields! {
    Id => "id",
    Mrn => "mrn",
    GivenName => "givenName",
    FamilyName => "familyName",
    Restricted => "restricted",
    DepartmentId => "departmentId",
    DateOfBirth => "dateOfBirth",
    Sex => "sex",
    Phone => "phone",
    Address => "address",
    PostalCode => "postalCode",
    Email => "email",
    NationalId => "nationalId",
    Observations => "observations",
    Diagnoses => "diagnoses",
    Medications => "medications",
    Allergies => "allergies",
    Notes => "notes",
    Coverage => "coverage",
    Invoices => "invoices",
    AssignedNurses => "assignedNurses",
}

impl PatientField {
    pub fn named(name: &str) -> Option<PatientField> {
        PatientField::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// A relation is loaded per patient (in batches), not read off the row.
    pub fn is_relation(self) -> bool {
        match self {
            PatientField::Observations
            | PatientField::AssignedNurses
            | PatientField::Diagnoses
            | PatientField::Medications
            | PatientField::Allergies
            | PatientField::Notes
            | PatientField::Coverage
            | PatientField::Invoices => true,
            PatientField::Id
            | PatientField::Mrn
            | PatientField::GivenName
            | PatientField::FamilyName
            | PatientField::Restricted
            | PatientField::DepartmentId
            | PatientField::DateOfBirth
            | PatientField::Sex
            | PatientField::Phone
            | PatientField::Address
            | PatientField::PostalCode
            | PatientField::Email
            | PatientField::NationalId => false,
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// The fields of a patient a query asks for. The door records exactly these
/// as read (or refused), and a field not asked for is never disclosed.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct PatientSelection(u32);

impl PatientSelection {
    /// The fields for which `asks(name)` holds.
    pub fn asking(mut asks: impl FnMut(&'static str) -> bool) -> PatientSelection {
        PatientSelection(
            PatientField::ALL
                .iter()
                .filter(|f| asks(f.name()))
                .fold(0, |bits, f| bits | f.bit()),
        )
    }

    pub fn with(self, field: PatientField) -> PatientSelection {
        PatientSelection(self.0 | field.bit())
    }

    pub fn union(self, other: PatientSelection) -> PatientSelection {
        PatientSelection(self.0 | other.0)
    }

    pub fn contains(self, field: PatientField) -> bool {
        self.0 & field.bit() != 0
    }

    pub fn fields(self) -> impl Iterator<Item = PatientField> {
        PatientField::ALL
            .iter()
            .copied()
            .filter(move |f| self.contains(*f))
    }
}

/// The class of every patient field, from the policy's field table.
#[derive(Clone, Debug)]
pub struct PatientClasses(Vec<FieldClass>);

impl PatientClasses {
    /// Fails when the policy leaves a field of `Patient` unclassified.
    pub fn from_policy(policy: &Policy) -> Result<PatientClasses, PolicyError> {
        let mut missing = Vec::new();
        let classes = PatientField::ALL
            .iter()
            .map(|f| {
                policy.class_of(PATIENT_TYPE, f.name()).unwrap_or_else(|| {
                    missing.push(f.name());
                    FieldClass::Directory
                })
            })
            .collect();
        if missing.is_empty() {
            Ok(PatientClasses(classes))
        } else {
            Err(PolicyError::Invalid {
                source_name: policy.source().to_owned(),
                line: None,
                message: format!(
                    "[fields.{PATIENT_TYPE}] does not classify {} (deny by default: classify it)",
                    missing.join(", ")
                ),
            })
        }
    }

    pub fn of(&self, field: PatientField) -> FieldClass {
        self.0[field as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_patient_field_has_a_class_in_the_built_in_policy() {
        let classes = PatientClasses::from_policy(&Policy::built_in()).expect("classified");
        assert_eq!(classes.of(PatientField::NationalId), FieldClass::Identifiers);
        assert_eq!(classes.of(PatientField::Observations), FieldClass::Vitals);
    }

    #[test]
    fn an_unclassified_field_is_refused() {
        let text = crate::policy::BUILT_IN.replace("nationalId = \"IDENTIFIERS\"\n", "");
        let policy = Policy::parse("test", &text).expect("parses");
        let error = PatientClasses::from_policy(&policy).expect_err("refused");
        assert!(error.to_string().contains("nationalId"), "{error}");
    }

    #[test]
    fn a_selection_holds_what_was_asked() {
        let asked = PatientSelection::asking(|name| name == "mrn" || name == "notes");
        assert!(asked.contains(PatientField::Mrn));
        assert!(asked.contains(PatientField::Notes));
        assert!(!asked.contains(PatientField::Email));
        assert_eq!(asked.fields().count(), 2);
    }
}
