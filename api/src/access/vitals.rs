//! Vital signs: read and recorded under the class of `Patient.observations`.

use caregraph_entity::observation;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

use super::disclosure::Disclosed;
use super::patients::PatientField;
use super::values::Observation;
use super::{Caller, PatientRecord};
use crate::audit::{AuditAction, Detail};
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass};

/// The vital signs the server knows, each with its unit and plausible range.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum VitalSign {
    HeartRate,
    RespiratoryRate,
    SystolicBloodPressure,
    DiastolicBloodPressure,
    BodyTemperature,
    OxygenSaturation,
}

impl VitalSign {
    const ALL: [VitalSign; 6] = [
        VitalSign::HeartRate,
        VitalSign::RespiratoryRate,
        VitalSign::SystolicBloodPressure,
        VitalSign::DiastolicBloodPressure,
        VitalSign::BodyTemperature,
        VitalSign::OxygenSaturation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VitalSign::HeartRate => "HEART_RATE",
            VitalSign::RespiratoryRate => "RESPIRATORY_RATE",
            VitalSign::SystolicBloodPressure => "SYSTOLIC_BLOOD_PRESSURE",
            VitalSign::DiastolicBloodPressure => "DIASTOLIC_BLOOD_PRESSURE",
            VitalSign::BodyTemperature => "BODY_TEMPERATURE",
            VitalSign::OxygenSaturation => "OXYGEN_SATURATION",
        }
    }

    pub fn parse(s: &str) -> Option<VitalSign> {
        VitalSign::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn unit(self) -> &'static str {
        match self {
            VitalSign::HeartRate => "/min",
            VitalSign::RespiratoryRate => "/min",
            VitalSign::SystolicBloodPressure | VitalSign::DiastolicBloodPressure => "mm[Hg]",
            VitalSign::BodyTemperature => "Cel",
            VitalSign::OxygenSaturation => "%",
        }
    }

    fn plausible(self) -> (f64, f64) {
        match self {
            VitalSign::HeartRate => (0.0, 350.0),
            VitalSign::RespiratoryRate => (0.0, 100.0),
            VitalSign::SystolicBloodPressure => (0.0, 320.0),
            VitalSign::DiastolicBloodPressure => (0.0, 250.0),
            VitalSign::BodyTemperature => (20.0, 46.0),
            VitalSign::OxygenSaturation => (0.0, 100.0),
        }
    }
}

// The input of `recordObservation` itself, checked here before the write.
#[derive(async_graphql::InputObject)]
#[graphql(name = "RecordObservationInput", visible = "super::visibility::writes_vitals")]
pub struct NewObservation {
    pub kind: VitalSign,
    /// In the unit of the vital sign (see `Observation.unit`).
    pub value: f64,
    /// When it was measured; now if left out.
    pub recorded_at: Option<DateTime<Utc>>,
}

fn check_plausible(kind: VitalSign, value: f64) -> AppResult<()> {
    let (low, high) = kind.plausible();
    if !value.is_finite() || value < low || value > high {
        return Err(AppError::bad_input(format!(
            "value must be between {low} and {high} {} for {}",
            kind.unit(),
            kind.as_str()
        )));
    }
    Ok(())
}

impl Caller {
    /// Vital signs of a disclosed patient, newest first: `None` (refused)
    /// unless the door allowed their class.
    pub async fn observations(
        &self,
        patient: &PatientRecord,
    ) -> AppResult<Option<Disclosed<Vec<Observation>>>> {
        let rows = self
            .related(patient, PatientField::Observations, &self.observations)
            .await?;
        Ok(rows.map(|rows| rows.map(|rows| rows.into_iter().map(Observation::from).collect())))
    }

    /// The class vital signs are written and read under, from the policy.
    fn vitals(&self) -> FieldClass {
        self.patient_classes.of(PatientField::Observations)
    }

    pub async fn correct_observation(&self, id: &str, value: f64) -> AppResult<Observation> {
        let principal = self.principal()?;
        if !self
            .policy
            .could_ever(principal.role, Action::Write, self.vitals())
        {
            return Err(AppError::forbidden("your role may not change vital signs"));
        }
        let id = crate::domain::parse_id("id", id)?;
        let found = self
            .writable_in_scope::<observation::Entity>(
                principal,
                observation::Column::Id,
                id,
                self.vitals(),
                "you may not change vital signs of this patient",
            )
            .await;
        let (current, patient) = self.noting_refusal(found, AuditAction::Write, None, "observation")?;
        let kind = VitalSign::parse(&current.kind)
            .ok_or_else(|| AppError::Internal("stored vital sign is unknown".into()))?;
        check_plausible(kind, value)?;
        let mut row: observation::ActiveModel = current.into();
        row.value = Set(value);
        let txn = self.begin_write().await?;
        let model = row.update(&txn).await?;
        let detail = Detail::new()
            .code("record", "observation")
            .id("id", model.id)
            .names("changed", ["value"]);
        let event = self.write_event(principal, AuditAction::Write, Some(patient.id()), detail);
        self.commit_write(txn, event).await?;
        tracing::info!(patient_id = %model.patient_id, user_id = %principal.user_id, "vital sign corrected");
        Ok(model.into())
    }

    pub async fn record_observation(&self, patient_id: &str, new: NewObservation) -> AppResult<Observation> {
        let found = self
            .patient_for_write(patient_id, Action::Write, self.vitals())
            .await;
        let asked_for = crate::domain::parse_id("patientId", patient_id).ok();
        let (principal, patient) =
            self.noting_refusal(found, AuditAction::Create, asked_for, "observation")?;
        check_plausible(new.kind, new.value)?;
        let now = Utc::now();
        let recorded_at = new.recorded_at.unwrap_or(now);
        if recorded_at > now + Duration::minutes(5) {
            return Err(AppError::bad_input("recordedAt must not be in the future"));
        }
        let txn = self.begin_write().await?;
        let model = observation::ActiveModel {
            id: Set(Uuid::new_v4()),
            patient_id: Set(patient.id()),
            kind: Set(new.kind.as_str().to_owned()),
            value: Set(new.value),
            unit: Set(new.kind.unit().to_owned()),
            recorded_at: Set(recorded_at),
            recorded_by: Set(principal.user_id),
        }
        .insert(&txn)
        .await?;
        let detail = Detail::new().code("record", "observation").id("id", model.id);
        let event = self.write_event(principal, AuditAction::Create, Some(patient.id()), detail);
        self.commit_write(txn, event).await?;
        tracing::info!(patient_id = %patient.id(), user_id = %principal.user_id, "vital sign recorded");
        Ok(model.into())
    }
}
