//! The research data set, de-identified by HIPAA Safe Harbor
//! (45 CFR 164.514(b)(2)): no names, contact data, identifiers or dates more
//! precise than the year; ages over 89 pooled as "90+" with no birth year;
//! ZIP codes cut to three digits, or 000 where those three digits cover fewer
//! than 20,000 people. Each patient appears under a keyed pseudonym of a
//! random research id, in the order of that id, so neither the pseudonym nor
//! the position links back to the patient's id.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use caregraph_entity::{diagnosis, observation, patient};
use chrono::{Datelike, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use sha2::Sha256;
use uuid::Uuid;

use super::Caller;
use crate::domain::page_size;
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass};

pub const PSEUDONYM_KEY_NAME: &str = "research_pseudonym";
const DEFAULT_PAGE: u64 = 100;
const MAX_PAGE: u64 = 500;

/// Three-digit ZIP areas with 20,000 people or fewer (US Census 2000, as
/// listed by HHS for Safe Harbor): reported as 000.
const SPARSE_ZIP3: &[&str] = &[
    "036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878", "879", "884",
    "890", "893",
];

pub struct DeidentifiedObservation {
    pub kind: String,
    pub value: f64,
    pub year: i32,
}

pub struct DeidentifiedPatient {
    pub pseudonym: String,
    /// `None` for ages over 89.
    pub birth_year: Option<i32>,
    /// Whole years, or "90+".
    pub age: String,
    pub sex: String,
    pub zip3: Option<String>,
    pub diagnosis_codes: Vec<String>,
    pub observations: Vec<DeidentifiedObservation>,
}

pub struct DeidentifiedPage {
    pub patients: Vec<DeidentifiedPatient>,
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// Birth year and age as Safe Harbor allows them. The age is counted in
/// calendar years (this year minus the birth year), never from the exact
/// date: an age that ticks over on the birthday would reveal the birthday.
/// Anyone whose birth year could mean 90 or more this year is pooled as
/// "90+" with no year.
pub fn age_fields(born: NaiveDate, today: NaiveDate) -> (Option<i32>, String) {
    let age = today.year() - born.year();
    if age >= 90 {
        (None, "90+".to_owned())
    } else {
        (Some(born.year()), age.to_string())
    }
}

/// The first three digits of a US ZIP code, 000 for sparse areas, `None`
/// for anything that is not a ZIP code.
pub fn zip3(postal_code: Option<&str>) -> Option<String> {
    let digits: String = postal_code?
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    if digits.len() != 5 {
        return None;
    }
    let prefix = &digits[..3];
    Some(if SPARSE_ZIP3.contains(&prefix) {
        "000".to_owned()
    } else {
        prefix.to_owned()
    })
}

impl Caller {
    /// HMAC-SHA256 of the patient's random research id under the server's
    /// pseudonym key.
    fn pseudonym(&self, research_id: Uuid) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.pseudonym_key.expose_secret())
            .expect("HMAC takes a key of any length");
        mac.update(research_id.as_bytes());
        mac.finalize().into_bytes()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A page of the data set. Restricted patients are left out. The cursor
    /// is a position, not an id.
    pub async fn deidentified_patients(
        &self,
        first: Option<i32>,
        after: Option<&str>,
    ) -> AppResult<DeidentifiedPage> {
        self.require(Action::Read, FieldClass::Deidentified)?;
        let limit = page_size(first, DEFAULT_PAGE, MAX_PAGE)?;
        let offset = match after {
            None => 0,
            Some(cursor) => URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.strip_prefix("pos:").and_then(|n| n.parse::<u64>().ok()))
                .ok_or_else(|| AppError::bad_input("after is not a cursor of this list"))?,
        };
        let mut rows = patient::Entity::find()
            .filter(patient::Column::Restricted.eq(false))
            .filter(patient::Column::ResearchId.is_not_null())
            .order_by_asc(patient::Column::ResearchId)
            .offset(offset)
            .limit(limit + 1)
            .all(&self.db)
            .await?;
        let has_next_page = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut codes: HashMap<Uuid, Vec<String>> = HashMap::new();
        for d in diagnosis::Entity::find()
            .filter(diagnosis::Column::PatientId.is_in(ids.iter().copied()))
            .order_by_asc(diagnosis::Column::Icd10Code)
            .all(&self.db)
            .await?
        {
            codes.entry(d.patient_id).or_default().push(d.icd10_code);
        }
        let mut vitals: HashMap<Uuid, Vec<DeidentifiedObservation>> = HashMap::new();
        for o in observation::Entity::find()
            .filter(observation::Column::PatientId.is_in(ids.iter().copied()))
            .order_by_asc(observation::Column::RecordedAt)
            .all(&self.db)
            .await?
        {
            vitals
                .entry(o.patient_id)
                .or_default()
                .push(DeidentifiedObservation {
                    kind: o.kind,
                    value: o.value,
                    year: o.recorded_at.year(),
                });
        }
        let today = Utc::now().date_naive();
        let count = rows.len() as u64;
        let patients = rows
            .into_iter()
            .map(|row| {
                let (birth_year, age) = age_fields(row.date_of_birth, today);
                DeidentifiedPatient {
                    pseudonym: self.pseudonym(row.research_id.unwrap_or(row.id)),
                    birth_year,
                    age,
                    sex: row.sex,
                    zip3: zip3(row.postal_code.as_deref()),
                    diagnosis_codes: codes.remove(&row.id).unwrap_or_default(),
                    observations: vitals.remove(&row.id).unwrap_or_default(),
                }
            })
            .collect();
        Ok(DeidentifiedPage {
            patients,
            has_next_page,
            end_cursor: (count > 0).then(|| URL_SAFE_NO_PAD.encode(format!("pos:{}", offset + count))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_over_89_are_pooled_and_lose_their_year() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(
            age_fields(NaiveDate::from_ymd_opt(1937, 12, 31).unwrap(), today),
            (Some(1937), "89".into())
        );
        // Turns 90 only next month, but the year already says 90: pooled.
        assert_eq!(
            age_fields(NaiveDate::from_ymd_opt(1936, 12, 24).unwrap(), today),
            (None, "90+".into())
        );
        assert_eq!(
            age_fields(NaiveDate::from_ymd_opt(1920, 1, 1).unwrap(), today),
            (None, "90+".into())
        );
    }

    #[test]
    fn the_age_does_not_change_on_the_birthday() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let before = age_fields(NaiveDate::from_ymd_opt(1980, 11, 24).unwrap(), today);
        let after = age_fields(NaiveDate::from_ymd_opt(1980, 11, 22).unwrap(), today);
        assert_eq!(before, after);
    }

    #[test]
    fn zip_codes_keep_three_digits_and_sparse_areas_become_000() {
        assert_eq!(zip3(Some("10001")), Some("100".into()));
        assert_eq!(zip3(Some("03601")), Some("000".into()));
        assert_eq!(zip3(Some("10001-1234")), Some("100".into()));
        assert_eq!(zip3(Some("SW1A 1AA")), None);
        assert_eq!(zip3(None), None);
    }
}
