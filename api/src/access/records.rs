//! Writing chart records: each input is checked here, then written through
//! the generic, policy-checked path of `chart`.

use async_graphql::{InputObject, MaybeUndefined};
use caregraph_entity::{allergy, clinical_note, coverage, diagnosis, invoice, medication};
use chrono::{DateTime, Utc};
use sea_orm::Set;
use uuid::Uuid;

use super::{Caller, values, visibility};
use crate::domain::{
    AllergySeverity, Date, InvoiceStatus, NoteSensitivity, maybe, parse_name, parse_optional_text,
};
use crate::error::{AppError, AppResult};

fn text(field: &'static str, raw: &str, max: usize) -> AppResult<String> {
    parse_optional_text(field, Some(raw), max)?
        .ok_or_else(|| AppError::bad_input(format!("{field} must not be empty")))
}

/// ICD-10: a letter, two digits, then optionally a dot and up to four more
/// letters or digits (`J45`, `J45.909`, `S52.521A`).
fn icd10(raw: &str) -> AppResult<String> {
    let code = raw.trim().to_uppercase();
    let bytes = code.as_bytes();
    let head_ok = bytes.len() >= 3
        && bytes[0].is_ascii_uppercase()
        && bytes[1].is_ascii_digit()
        && (bytes[2].is_ascii_digit() || bytes[2].is_ascii_uppercase());
    let tail_ok = match code.get(3..) {
        Some("") => true,
        Some(rest) => {
            rest.starts_with('.')
                && (2..=5).contains(&rest.len())
                && rest[1..].bytes().all(|b| b.is_ascii_alphanumeric())
        }
        None => false,
    };
    if head_ok && tail_ok {
        Ok(code)
    } else {
        Err(AppError::bad_input(
            "icd10Code is not an ICD-10 code (e.g. J45.909)",
        ))
    }
}

// The inputs of the chart mutations are these values themselves: one
// definition from the GraphQL argument to the check before the write.

#[derive(InputObject)]
#[graphql(name = "RecordDiagnosisInput", visible = "visibility::writes_clinical")]
pub struct NewDiagnosis {
    pub icd10_code: String,
    pub description: String,
}

#[derive(InputObject)]
#[graphql(name = "UpdateDiagnosisInput", visible = "visibility::writes_clinical")]
pub struct DiagnosisChange {
    pub description: Option<String>,
    /// true marks it resolved now; false reopens it.
    pub resolved: Option<bool>,
}

#[derive(InputObject)]
#[graphql(name = "PrescribeMedicationInput", visible = "visibility::writes_clinical")]
pub struct NewMedication {
    pub name: String,
    pub dose: String,
    pub route: String,
    pub frequency: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
#[graphql(name = "UpdateMedicationInput", visible = "visibility::writes_clinical")]
pub struct MedicationChange {
    pub dose: Option<String>,
    pub frequency: Option<String>,
    pub ends_at: MaybeUndefined<DateTime<Utc>>,
}

#[derive(InputObject)]
#[graphql(name = "RecordAllergyInput", visible = "visibility::writes_clinical")]
pub struct NewAllergy {
    pub substance: String,
    pub reaction: String,
    pub severity: AllergySeverity,
}

#[derive(InputObject)]
#[graphql(name = "UpdateAllergyInput", visible = "visibility::writes_clinical")]
pub struct AllergyChange {
    pub reaction: Option<String>,
    pub severity: Option<AllergySeverity>,
}

#[derive(InputObject)]
#[graphql(name = "WriteNoteInput", visible = "visibility::writes_notes")]
pub struct NewNote {
    pub sensitivity: NoteSensitivity,
    pub body: String,
}

#[derive(InputObject)]
#[graphql(name = "AddCoverageInput", visible = "visibility::writes_billing")]
pub struct NewCoverage {
    pub payer: String,
    pub plan: String,
    pub member_id: String,
    pub valid_from: Date,
    pub valid_to: Option<Date>,
}

#[derive(InputObject)]
#[graphql(name = "UpdateCoverageInput", visible = "visibility::writes_billing")]
pub struct CoverageChange {
    pub plan: Option<String>,
    pub member_id: Option<String>,
    pub valid_to: MaybeUndefined<Date>,
}

#[derive(InputObject)]
#[graphql(name = "IssueInvoiceInput", visible = "visibility::writes_billing")]
pub struct NewInvoice {
    pub description: String,
    pub amount_cents: i64,
    pub currency: String,
}

fn currency(raw: &str) -> AppResult<String> {
    let code = raw.trim().to_uppercase();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(AppError::bad_input(
            "currency must be a three-letter ISO 4217 code",
        ))
    }
}

fn window(starts: DateTime<Utc>, ends: Option<DateTime<Utc>>) -> AppResult<()> {
    match ends {
        Some(ends) if ends <= starts => Err(AppError::bad_input("the end must come after the start")),
        _ => Ok(()),
    }
}

fn nothing_to_change(any: bool) -> AppResult<()> {
    if any {
        Ok(())
    } else {
        Err(AppError::bad_input("input sets no field: nothing to update"))
    }
}

impl Caller {
    pub async fn record_diagnosis(
        &self,
        patient_id: &str,
        new: NewDiagnosis,
    ) -> AppResult<values::Diagnosis> {
        let code = icd10(&new.icd10_code)?;
        let description = text("description", &new.description, 500)?;
        self.add_record::<diagnosis::Entity>(patient_id, false, |patient, me| diagnosis::ActiveModel {
            id: Set(Uuid::new_v4()),
            patient_id: Set(patient),
            icd10_code: Set(code),
            description: Set(description),
            recorded_by: Set(me),
            recorded_at: Set(Utc::now()),
            resolved_at: Set(None),
        })
        .await
    }

    pub async fn change_diagnosis(&self, id: &str, change: DiagnosisChange) -> AppResult<values::Diagnosis> {
        nothing_to_change(change.description.is_some() || change.resolved.is_some())?;
        let description = change
            .description
            .map(|d| text("description", &d, 500))
            .transpose()?;
        self.change_record::<diagnosis::Entity>(id, |_, _, row| {
            if let Some(d) = description {
                row.description = Set(d);
            }
            if let Some(resolved) = change.resolved {
                row.resolved_at = Set(resolved.then(Utc::now));
            }
            Ok(())
        })
        .await
    }

    pub async fn prescribe(&self, patient_id: &str, new: NewMedication) -> AppResult<values::Medication> {
        let starts_at = new.starts_at.unwrap_or_else(Utc::now);
        window(starts_at, new.ends_at)?;
        let (name, dose) = (parse_name("name", &new.name)?, text("dose", &new.dose, 100)?);
        let (route, frequency) = (
            text("route", &new.route, 50)?,
            text("frequency", &new.frequency, 100)?,
        );
        self.add_record::<medication::Entity>(patient_id, false, |patient, me| medication::ActiveModel {
            id: Set(Uuid::new_v4()),
            patient_id: Set(patient),
            name: Set(name),
            dose: Set(dose),
            route: Set(route),
            frequency: Set(frequency),
            prescribed_by: Set(me),
            starts_at: Set(starts_at),
            ends_at: Set(new.ends_at),
        })
        .await
    }

    pub async fn change_medication(
        &self,
        id: &str,
        change: MedicationChange,
    ) -> AppResult<values::Medication> {
        let ends_at = maybe(change.ends_at);
        nothing_to_change(change.dose.is_some() || change.frequency.is_some() || ends_at.is_some())?;
        let dose = change.dose.map(|d| text("dose", &d, 100)).transpose()?;
        let frequency = change.frequency.map(|f| text("frequency", &f, 100)).transpose()?;
        self.change_record::<medication::Entity>(id, |_, current, row| {
            if let Some(ends_at) = ends_at {
                window(current.starts_at, ends_at)?;
                row.ends_at = Set(ends_at);
            }
            if let Some(d) = dose {
                row.dose = Set(d);
            }
            if let Some(f) = frequency {
                row.frequency = Set(f);
            }
            Ok(())
        })
        .await
    }

    pub async fn record_allergy(&self, patient_id: &str, new: NewAllergy) -> AppResult<values::Allergy> {
        let substance = text("substance", &new.substance, 200)?;
        let reaction = text("reaction", &new.reaction, 500)?;
        self.add_record::<allergy::Entity>(patient_id, false, |patient, me| allergy::ActiveModel {
            id: Set(Uuid::new_v4()),
            patient_id: Set(patient),
            substance: Set(substance),
            reaction: Set(reaction),
            severity: Set(new.severity.as_str().to_owned()),
            recorded_by: Set(me),
            recorded_at: Set(Utc::now()),
        })
        .await
    }

    pub async fn change_allergy(&self, id: &str, change: AllergyChange) -> AppResult<values::Allergy> {
        nothing_to_change(change.reaction.is_some() || change.severity.is_some())?;
        let reaction = change.reaction.map(|r| text("reaction", &r, 500)).transpose()?;
        self.change_record::<allergy::Entity>(id, |_, _, row| {
            if let Some(r) = reaction {
                row.reaction = Set(r);
            }
            if let Some(s) = change.severity {
                row.severity = Set(s.as_str().to_owned());
            }
            Ok(())
        })
        .await
    }

    pub async fn write_note(&self, patient_id: &str, new: NewNote) -> AppResult<values::ClinicalNote> {
        let body = text("body", &new.body, 20_000)?;
        let sensitive = new.sensitivity != NoteSensitivity::Normal;
        let now = Utc::now();
        self.add_record::<clinical_note::Entity>(patient_id, sensitive, |patient, me| {
            clinical_note::ActiveModel {
                id: Set(Uuid::new_v4()),
                patient_id: Set(patient),
                author_id: Set(me),
                sensitivity: Set(new.sensitivity.as_str().to_owned()),
                body: Set(body),
                written_at: Set(now),
                updated_at: Set(now),
            }
        })
        .await
    }

    /// Only the author amends a note.
    pub async fn amend_note(&self, id: &str, body: &str) -> AppResult<values::ClinicalNote> {
        let body = text("body", body, 20_000)?;
        self.change_record::<clinical_note::Entity>(id, |me, current, row| {
            if current.author_id != me.user_id {
                return Err(AppError::forbidden("only the author may amend a note"));
            }
            row.body = Set(body);
            row.updated_at = Set(Utc::now());
            Ok(())
        })
        .await
    }

    pub async fn add_coverage(&self, patient_id: &str, new: NewCoverage) -> AppResult<values::Coverage> {
        let (valid_from, valid_to) = (new.valid_from.0, new.valid_to.map(|d| d.0));
        if valid_to.is_some_and(|to| to < valid_from) {
            return Err(AppError::bad_input("validTo must not come before validFrom"));
        }
        let payer = text("payer", &new.payer, 200)?;
        let plan = text("plan", &new.plan, 200)?;
        let member_id = text("memberId", &new.member_id, 64)?;
        self.add_record::<coverage::Entity>(patient_id, false, |patient, me| coverage::ActiveModel {
            id: Set(Uuid::new_v4()),
            patient_id: Set(patient),
            payer: Set(payer),
            plan: Set(plan),
            member_id: Set(member_id),
            valid_from: Set(valid_from),
            valid_to: Set(valid_to),
            recorded_by: Set(me),
        })
        .await
    }

    pub async fn change_coverage(&self, id: &str, change: CoverageChange) -> AppResult<values::Coverage> {
        let valid_to = maybe(change.valid_to).map(|to| to.map(|d| d.0));
        nothing_to_change(change.plan.is_some() || change.member_id.is_some() || valid_to.is_some())?;
        let plan = change.plan.map(|p| text("plan", &p, 200)).transpose()?;
        let member_id = change.member_id.map(|m| text("memberId", &m, 64)).transpose()?;
        self.change_record::<coverage::Entity>(id, |_, current, row| {
            if let Some(valid_to) = valid_to {
                if valid_to.is_some_and(|to| to < current.valid_from) {
                    return Err(AppError::bad_input("validTo must not come before validFrom"));
                }
                row.valid_to = Set(valid_to);
            }
            if let Some(p) = plan {
                row.plan = Set(p);
            }
            if let Some(m) = member_id {
                row.member_id = Set(m);
            }
            Ok(())
        })
        .await
    }

    pub async fn issue_invoice(&self, patient_id: &str, new: NewInvoice) -> AppResult<values::Invoice> {
        if new.amount_cents <= 0 || new.amount_cents > 10_000_000_000 {
            return Err(AppError::bad_input(
                "amountCents must be positive and at most 100,000,000.00",
            ));
        }
        let description = text("description", &new.description, 500)?;
        let currency = currency(&new.currency)?;
        self.add_record::<invoice::Entity>(patient_id, false, |patient, me| invoice::ActiveModel {
            id: Set(Uuid::new_v4()),
            patient_id: Set(patient),
            description: Set(description),
            amount_cents: Set(new.amount_cents),
            currency: Set(currency),
            status: Set(InvoiceStatus::Issued.as_str().to_owned()),
            issued_by: Set(me),
            issued_at: Set(Utc::now()),
        })
        .await
    }

    /// ISSUED -> PAID or VOID; nothing leaves PAID or VOID.
    pub async fn set_invoice_status(&self, id: &str, status: InvoiceStatus) -> AppResult<values::Invoice> {
        self.change_record::<invoice::Entity>(id, |_, current, row| {
            let from = InvoiceStatus::parse(&current.status)?;
            let allowed = matches!(
                (from, status),
                (InvoiceStatus::Issued, InvoiceStatus::Paid) | (InvoiceStatus::Issued, InvoiceStatus::Void)
            );
            if !allowed {
                return Err(AppError::bad_input(format!(
                    "an invoice that is {} cannot become {}",
                    from.as_str(),
                    status.as_str()
                )));
            }
            row.status = Set(status.as_str().to_owned());
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icd10_codes_are_checked() {
        for good in ["J45", "j45.909", "S52.521A", "E11.9", "C4A.0"] {
            assert!(icd10(good).is_ok(), "{good}");
        }
        for bad in ["", "45", "J4", "J45.", "J45.12345", "J45-909", "123.4"] {
            assert!(icd10(bad).is_err(), "{bad}");
        }
    }
}
