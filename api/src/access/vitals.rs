//! Vital signs: read with the CLINICAL class, recorded at the bedside.

use caregraph_entity::observation;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

use super::disclosure::Disclosed;
use super::{Caller, PatientView};
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

pub struct NewObservation {
    pub kind: VitalSign,
    pub value: f64,
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
    /// Vital signs of a patient, for the relation `field` of `Patient`:
    /// `None` (denied) unless the caller may read its class.
    pub async fn observations(
        &self,
        patient: &PatientView,
        field: &str,
    ) -> AppResult<Option<Disclosed<Vec<observation::Model>>>> {
        self.relation(patient, field, || async {
            Ok(self
                .observations
                .load_one(patient.id())
                .await?
                .unwrap_or_default())
        })
        .await
    }

    pub async fn correct_observation(&self, id: &str, value: f64) -> AppResult<observation::Model> {
        let principal = self.principal()?;
        if !self
            .policy
            .could_ever(principal.role, Action::Write, FieldClass::Vitals)
        {
            return Err(AppError::forbidden("your role may not change vital signs"));
        }
        let id = crate::domain::parse_id("id", id)?;
        let (current, patient) = self
            .record_in_scope::<observation::Entity>(
                principal,
                observation::Column::Id,
                id,
                sea_orm::Condition::all(),
            )
            .await?;
        if !patient.may(Action::Write, FieldClass::Vitals) {
            return Err(AppError::forbidden(
                "you may not change vital signs of this patient",
            ));
        }
        let kind = VitalSign::parse(&current.kind)
            .ok_or_else(|| AppError::Internal("stored vital sign is unknown".into()))?;
        check_plausible(kind, value)?;
        let mut row: observation::ActiveModel = current.into();
        row.value = Set(value);
        let model = row.update(&self.db).await?;
        tracing::info!(patient_id = %model.patient_id, user_id = %principal.user_id, "vital sign corrected");
        Ok(model)
    }

    pub async fn record_observation(
        &self,
        patient_id: &str,
        new: NewObservation,
    ) -> AppResult<observation::Model> {
        let (principal, patient) = self
            .patient_for_write(patient_id, Action::Write, FieldClass::Vitals)
            .await?;
        check_plausible(new.kind, new.value)?;
        let now = Utc::now();
        let recorded_at = new.recorded_at.unwrap_or(now);
        if recorded_at > now + Duration::minutes(5) {
            return Err(AppError::bad_input("recordedAt must not be in the future"));
        }
        let model = observation::ActiveModel {
            id: Set(Uuid::new_v4()),
            patient_id: Set(patient.id()),
            kind: Set(new.kind.as_str().to_owned()),
            value: Set(new.value),
            unit: Set(new.kind.unit().to_owned()),
            recorded_at: Set(recorded_at),
            recorded_by: Set(principal.user_id),
        }
        .insert(&self.db)
        .await?;
        tracing::info!(patient_id = %patient.id(), user_id = %principal.user_id, "vital sign recorded");
        Ok(model)
    }
}
