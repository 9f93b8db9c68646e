//! Filters of the patient list.

use caregraph_entity::patient;
use chrono::NaiveDate;
use sea_orm::{ColumnTrait, Condition};

use super::fields::PatientField;

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
    pub(super) fn fields(&self) -> Vec<PatientField> {
        let mut used = Vec::new();
        if self.family_name.is_some() {
            used.push(PatientField::FamilyName);
        }
        if self.mrn.is_some() {
            used.push(PatientField::Mrn);
        }
        if self.date_of_birth.is_some() {
            used.push(PatientField::DateOfBirth);
        }
        used
    }

    pub(super) fn condition(&self) -> Condition {
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
