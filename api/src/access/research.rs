//! The research data set, de-identified by HIPAA Safe Harbor
//! (45 CFR 164.514(b)(2)): no names, contact data, identifiers or dates more
//! precise than the year; ages over 89 pooled as "90+" with no birth year;
//! ZIP codes cut to three digits, or 000 where those three digits cover fewer
//! than 20,000 people. Each patient appears under a keyed pseudonym of a
//! random research id, in the order of that id, so neither the pseudonym nor
//! the position links back to the patient's id.
//!
//! Researchers never read the live chart: they read the latest *release*, a
//! frozen snapshot of the data set published at most once per configured
//! interval (a day by default). A data set that followed the chart would date
//! each new observation or diagnosis to the minute, and link a visit someone
//! knows of to its pseudonym. The release date (a day) is the only time shown.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use caregraph_entity::{diagnosis, observation, patient, research_release, research_release_row};
use chrono::{Datelike, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use super::Caller;
use super::disclosure::{Disclosed, Subject};
use crate::audit::{Audit, AuditAction, AuditEvent, Detail, Outcome, Purpose};
use crate::auth::Principal;
use crate::domain::{Secret, page_size};
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass};

pub const PSEUDONYM_KEY_NAME: &str = "research_pseudonym";
const DEFAULT_PAGE: u64 = 100;
const MAX_PAGE: u64 = 500;
/// Patients read from the chart, and rows inserted, per statement while a
/// release is built.
const BUILD_BATCH: u64 = 500;

/// Three-digit ZIP areas with 20,000 people or fewer (US Census 2000, as
/// listed by HHS for Safe Harbor): reported as 000.
const SPARSE_ZIP3: &[&str] = &[
    "036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878", "879", "884",
    "890", "893",
];

/// Stored as JSON in `research_release_rows.record`.
#[derive(Serialize, Deserialize)]
pub struct DeidentifiedObservation {
    pub kind: String,
    pub value: f64,
    pub year: i32,
}

/// Stored as JSON in `research_release_rows.record`.
#[derive(Serialize, Deserialize)]
pub struct DeidentifiedPatient {
    pub pseudonym: String,
    /// `None` for ages over 89.
    pub birth_year: Option<i32>,
    /// Whole years at the release date, or "90+".
    pub age: String,
    pub sex: String,
    pub zip3: Option<String>,
    pub diagnosis_codes: Vec<String>,
    pub observations: Vec<DeidentifiedObservation>,
}

/// What anyone may know of a release: its number, its day and its size.
pub struct ResearchRelease {
    pub number: i32,
    pub released_on: NaiveDate,
    pub patient_count: i32,
}

impl From<&research_release::Model> for ResearchRelease {
    fn from(m: &research_release::Model) -> Self {
        ResearchRelease {
            number: m.number,
            released_on: m.released_on,
            patient_count: m.patient_count,
        }
    }
}

pub struct DeidentifiedPage {
    /// `None` until the first release.
    pub release: Option<ResearchRelease>,
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

/// HMAC-SHA256 of the patient's random research id under the server's
/// pseudonym key.
fn pseudonym(key: &Secret<Vec<u8>>, research_id: Uuid) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.expose_secret()).expect("HMAC takes a key of any length");
    mac.update(research_id.as_bytes());
    mac.finalize().into_bytes()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The next batch of the live data set after the research id `after`, in
/// research-id order, de-identified. Restricted patients are left out. This
/// is the only code that reads the chart for research.
async fn deidentify_batch(
    db: &impl ConnectionTrait,
    key: &Secret<Vec<u8>>,
    after: Option<Uuid>,
    today: NaiveDate,
) -> AppResult<(Vec<DeidentifiedPatient>, Option<Uuid>)> {
    let mut query = patient::Entity::find()
        .filter(patient::Column::Restricted.eq(false))
        .filter(patient::Column::ResearchId.is_not_null());
    if let Some(after) = after {
        query = query.filter(patient::Column::ResearchId.gt(after));
    }
    let rows = query
        .order_by_asc(patient::Column::ResearchId)
        .limit(BUILD_BATCH)
        .all(db)
        .await?;
    let last = rows.last().and_then(|r| r.research_id);
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut codes: HashMap<Uuid, Vec<String>> = HashMap::new();
    let mut vitals: HashMap<Uuid, Vec<DeidentifiedObservation>> = HashMap::new();
    if !ids.is_empty() {
        for d in diagnosis::Entity::find()
            .filter(diagnosis::Column::PatientId.is_in(ids.iter().copied()))
            .order_by_asc(diagnosis::Column::Icd10Code)
            .all(db)
            .await?
        {
            codes.entry(d.patient_id).or_default().push(d.icd10_code);
        }
        for o in observation::Entity::find()
            .filter(observation::Column::PatientId.is_in(ids.iter().copied()))
            .order_by_asc(observation::Column::RecordedAt)
            .all(db)
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
    }
    let patients = rows
        .into_iter()
        .map(|row| {
            let (birth_year, age) = age_fields(row.date_of_birth, today);
            DeidentifiedPatient {
                pseudonym: pseudonym(key, row.research_id.unwrap_or(row.id)),
                birth_year,
                age,
                sex: row.sex,
                zip3: zip3(row.postal_code.as_deref()),
                diagnosis_codes: codes.remove(&row.id).unwrap_or_default(),
                observations: vitals.remove(&row.id).unwrap_or_default(),
            }
        })
        .collect();
    Ok((patients, last))
}

/// Builds and stores a release of the data set as it is now, in one
/// transaction, unless the previous release is younger than `min_interval`.
/// Not a policy check: callers decide who may publish.
async fn publish(
    db: &DatabaseConnection,
    audit: &Audit,
    key: &Secret<Vec<u8>>,
    min_interval: Duration,
    created_by: Option<Principal>,
) -> AppResult<ResearchRelease> {
    let now = Utc::now();
    let today = now.date_naive();
    let txn = db.begin().await?;
    let latest = research_release::Entity::find()
        .order_by_desc(research_release::Column::Number)
        .one(&txn)
        .await?;
    if let Some(latest) = &latest {
        let interval = chrono::Duration::from_std(min_interval)
            .map_err(|_| AppError::Internal("the research release interval is out of range".into()))?;
        let next = latest.created_at + interval;
        if now < next {
            return Err(AppError::bad_input(format!(
                "research release {} was published on {}; the next release is possible from {} UTC",
                latest.number,
                latest.released_on,
                next.format("%Y-%m-%d %H:%M")
            )));
        }
    }
    let number = latest.as_ref().map_or(1, |l| l.number + 1);
    let release = research_release::ActiveModel {
        id: Set(Uuid::new_v4()),
        number: Set(number),
        released_on: Set(today),
        created_at: Set(now),
        created_by: Set(created_by.map(|p| p.user_id)),
        patient_count: Set(0),
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        AppError::unique_or_database(e, "another research release was published at the same moment")
    })?;
    let mut position: i32 = 0;
    let mut after = None;
    loop {
        let (patients, last) = deidentify_batch(&txn, key, after, today).await?;
        if patients.is_empty() {
            break;
        }
        let mut rows = Vec::with_capacity(patients.len());
        for patient in &patients {
            let record = serde_json::to_string(patient)
                .map_err(|_| AppError::Internal("a de-identified row could not be encoded".into()))?;
            rows.push(research_release_row::ActiveModel {
                release_id: Set(release.id),
                position: Set(position),
                record: Set(record),
            });
            position += 1;
        }
        research_release_row::Entity::insert_many(rows).exec(&txn).await?;
        after = last;
        if (patients.len() as u64) < BUILD_BATCH {
            break;
        }
    }
    let mut stored: research_release::ActiveModel = release.into();
    stored.patient_count = Set(position);
    let release = stored.update(&txn).await?;
    // The release is an export of (de-identified) data: on the trail with it.
    let event = AuditEvent::new(AuditAction::ResearchRelease, Outcome::Success)
        .classes([FieldClass::Deidentified])
        .purpose(Purpose::Research)
        .detail(
            Detail::new()
                .id("release", release.id)
                .count("number", i64::from(release.number))
                .count("patients", i64::from(release.patient_count)),
        );
    let event = match created_by {
        Some(principal) => event.actor(principal.user_id, Some(principal.role)),
        None => event,
    };
    audit.record_in(&txn, vec![event]).await?;
    txn.commit().await?;
    Ok(ResearchRelease::from(&release))
}

/// Publishes a release for no caller: `caregraph research release` and the
/// demo seed, on the server host. This bypasses the policy (the operator of
/// the host stands outside it) and says so in the security log.
pub async fn unrestricted_publish_release(
    db: &DatabaseConnection,
    min_interval: Duration,
) -> AppResult<ResearchRelease> {
    let key = crate::auth::sessions::shared_key(db, PSEUDONYM_KEY_NAME).await?;
    let audit = Audit::start(db.clone());
    let release = publish(db, &audit, &key, min_interval, None).await?;
    tracing::info!(
        target: "caregraph::security",
        release = release.number,
        patients = release.patient_count,
        "research release published on the server host, without a caller"
    );
    Ok(release)
}

/// The cursor is a position in one release, not an id.
fn cursor(release: i32, position: i32) -> String {
    URL_SAFE_NO_PAD.encode(format!("release:{release}:pos:{position}"))
}

fn parse_cursor(cursor: &str) -> AppResult<(i32, i32)> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let rest = s.strip_prefix("release:")?;
            let (release, position) = rest.split_once(":pos:")?;
            Some((release.parse().ok()?, position.parse().ok()?))
        })
        .filter(|(_, position): &(i32, i32)| *position >= 0)
        .ok_or_else(|| AppError::bad_input("after is not a cursor of this list"))
}

impl Caller {
    /// A page of the latest release; an empty page before the first one.
    /// A cursor of an earlier release is refused: pages of two releases
    /// do not fit together.
    pub async fn deidentified_patients(
        &self,
        first: Option<i32>,
        after: Option<&str>,
    ) -> AppResult<Disclosed<DeidentifiedPage>> {
        let page = self.deidentified_page(first, after).await?;
        Ok(self.disclose_allowed(
            crate::audit::AuditAction::Read,
            Subject::Clinic,
            FieldClass::Deidentified,
            page,
        ))
    }

    async fn deidentified_page(
        &self,
        first: Option<i32>,
        after: Option<&str>,
    ) -> AppResult<DeidentifiedPage> {
        self.require(Action::Read, FieldClass::Deidentified)?;
        let limit = page_size(first, DEFAULT_PAGE, MAX_PAGE)?;
        let after = after.map(parse_cursor).transpose()?;
        let Some(release) = research_release::Entity::find()
            .order_by_desc(research_release::Column::Number)
            .one(&self.db)
            .await?
        else {
            if after.is_some() {
                return Err(AppError::bad_input("after is not a cursor of this list"));
            }
            return Ok(DeidentifiedPage {
                release: None,
                patients: Vec::new(),
                has_next_page: false,
                end_cursor: None,
            });
        };
        let offset = match after {
            None => 0,
            Some((number, position)) if number == release.number => position,
            Some(_) => {
                return Err(AppError::bad_input(
                    "after is a cursor of an earlier research release; start again from the first page",
                ));
            }
        };
        let rows = research_release_row::Entity::find()
            .filter(research_release_row::Column::ReleaseId.eq(release.id))
            .filter(research_release_row::Column::Position.gte(offset))
            .order_by_asc(research_release_row::Column::Position)
            .limit(limit + 1)
            .all(&self.db)
            .await?;
        let (rows, has_next_page) = crate::domain::split_page(rows, limit);
        let end_cursor = rows.last().map(|r| cursor(release.number, r.position + 1));
        let patients = rows
            .into_iter()
            .map(|row| {
                serde_json::from_str(&row.record)
                    .map_err(|_| AppError::Internal("a research release row is not readable".into()))
            })
            .collect::<AppResult<Vec<DeidentifiedPatient>>>()?;
        Ok(DeidentifiedPage {
            release: Some(ResearchRelease::from(&release)),
            patients,
            has_next_page,
            end_cursor,
        })
    }

    /// Publishes a release of the data set as it is now (COMPLIANCE_OFFICER
    /// by the built-in policy), at most once per configured interval.
    pub async fn publish_research_release(&self) -> AppResult<ResearchRelease> {
        let principal = self.require(Action::Create, FieldClass::Deidentified)?;
        let release = publish(
            &self.db,
            &self.audit,
            &self.pseudonym_key,
            self.research_release_min_interval,
            Some(principal),
        )
        .await?;
        tracing::info!(
            target: "caregraph::security",
            user_id = %principal.user_id,
            release = release.number,
            patients = release.patient_count,
            "research release published"
        );
        Ok(release)
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
    fn cursors_name_their_release_and_reject_anything_else() {
        assert_eq!(parse_cursor(&cursor(3, 100)).unwrap(), (3, 100));
        assert!(parse_cursor("pos:1").is_err());
        assert!(parse_cursor(&URL_SAFE_NO_PAD.encode("release:1:pos:-5")).is_err());
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
