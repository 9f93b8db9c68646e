//! Changes to a patient's fields: parsed and validated before any policy
//! check or write.

use caregraph_entity::patient;
use chrono::{NaiveDate, Utc};
use sea_orm::Set;
use uuid::Uuid;

use super::fields::PatientField;
use crate::domain::{Sex, parse_name, parse_optional_text};
use crate::error::{AppError, AppResult};

/// A set of changes to a patient's fields. `None` leaves a field as it is;
/// for optional fields `Some(None)` clears it.
#[derive(Clone, Default)]
pub struct PatientChanges {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub sex: Option<Sex>,
    pub restricted: Option<bool>,
    pub department_id: Option<Option<Uuid>>,
    pub phone: Option<Option<String>>,
    pub postal_code: Option<Option<String>>,
    pub address: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub national_id: Option<Option<String>>,
}

impl PatientChanges {
    /// The fields this change touches, to check each.
    pub(super) fn touched(&self) -> Vec<PatientField> {
        let mut fields = Vec::new();
        let mut mark = |set: bool, name| {
            if set {
                fields.push(name)
            }
        };
        mark(self.given_name.is_some(), PatientField::GivenName);
        mark(self.family_name.is_some(), PatientField::FamilyName);
        mark(self.date_of_birth.is_some(), PatientField::DateOfBirth);
        mark(self.sex.is_some(), PatientField::Sex);
        mark(self.restricted.is_some(), PatientField::Restricted);
        mark(self.department_id.is_some(), PatientField::DepartmentId);
        mark(self.phone.is_some(), PatientField::Phone);
        mark(self.postal_code.is_some(), PatientField::PostalCode);
        mark(self.address.is_some(), PatientField::Address);
        mark(self.email.is_some(), PatientField::Email);
        mark(self.national_id.is_some(), PatientField::NationalId);
        fields
    }

    /// Checks and normalises every value; the message names the field, never its value.
    pub(super) fn validated(self) -> AppResult<PatientChanges> {
        let today = Utc::now().date_naive();
        if let Some(dob) = self.date_of_birth {
            let earliest = NaiveDate::from_ymd_opt(1880, 1, 1).expect("valid date");
            if dob > today || dob < earliest {
                return Err(AppError::bad_input("dateOfBirth must be a past date after 1880"));
            }
        }
        let optional = |field, value: Option<Option<String>>, max| -> AppResult<Option<Option<String>>> {
            value
                .map(|v| parse_optional_text(field, v.as_deref(), max))
                .transpose()
        };
        let email = match self.email {
            Some(Some(raw)) if !raw.trim().is_empty() => {
                Some(Some(crate::domain::Email::parse(&raw)?.as_str().to_owned()))
            }
            Some(_) => Some(None),
            None => None,
        };
        Ok(PatientChanges {
            given_name: self.given_name.map(|n| parse_name("givenName", &n)).transpose()?,
            family_name: self
                .family_name
                .map(|n| parse_name("familyName", &n))
                .transpose()?,
            date_of_birth: self.date_of_birth,
            sex: self.sex,
            restricted: self.restricted,
            department_id: self.department_id,
            phone: optional("phone", self.phone, 64)?,
            postal_code: optional("postalCode", self.postal_code, 16)?,
            address: optional("address", self.address, 500)?,
            email,
            national_id: optional("nationalId", self.national_id, 64)?,
        })
    }

    pub(super) fn apply(self, row: &mut patient::ActiveModel) {
        if let Some(v) = self.given_name {
            row.given_name = Set(v);
        }
        if let Some(v) = self.family_name {
            row.family_name = Set(v);
        }
        if let Some(v) = self.date_of_birth {
            row.date_of_birth = Set(v);
        }
        if let Some(v) = self.sex {
            row.sex = Set(v.as_str().to_owned());
        }
        if let Some(v) = self.restricted {
            row.restricted = Set(v);
        }
        if let Some(v) = self.department_id {
            row.department_id = Set(v);
        }
        if let Some(v) = self.phone {
            row.phone = Set(v);
        }
        if let Some(v) = self.postal_code {
            row.postal_code = Set(v);
        }
        if let Some(v) = self.address {
            row.address = Set(v);
        }
        if let Some(v) = self.email {
            row.email = Set(v);
        }
        if let Some(v) = self.national_id {
            row.national_id = Set(v);
        }
    }
}

pub(super) fn new_mrn() -> String {
    // Random, so that record numbers reveal neither counts nor order.
    format!("MRN{:010}", rand::random::<u64>() % 10_000_000_000)
}
