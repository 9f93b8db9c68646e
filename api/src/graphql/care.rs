//! Vital signs and care-team assignments as GraphQL sees them.

use async_graphql::{Context, ID, Object};
use caregraph_entity::{care_assignment, observation, user};
use chrono::{DateTime, Utc};

use super::account::User;
use super::common::caller;
use super::errors::ApiResult;
use super::visibility;
use crate::access::VitalSign;
use crate::error::AppError;

pub struct Observation(pub observation::Model);

#[Object(visible = "visibility::reads_vitals")]
impl Observation {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> ApiResult<VitalSign> {
        Ok(VitalSign::parse(&self.0.kind)
            .ok_or_else(|| AppError::Internal("stored vital sign is unknown".into()))?)
    }
    async fn value(&self) -> f64 {
        self.0.value
    }
    /// UCUM unit of the value.
    async fn unit(&self) -> &str {
        &self.0.unit
    }
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.recorded_at
    }
}

#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AssignmentKind {
    Attending,
    Nurse,
}

impl AssignmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentKind::Attending => "ATTENDING",
            AssignmentKind::Nurse => "NURSE",
        }
    }
}

pub struct CareAssignment(pub care_assignment::Model, pub user::Model);

#[Object(visible = "visibility::writes_care_team")]
impl CareAssignment {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn patient_id(&self) -> ID {
        ID(self.0.patient_id.to_string())
    }
    async fn kind(&self) -> ApiResult<AssignmentKind> {
        [AssignmentKind::Attending, AssignmentKind::Nurse]
            .into_iter()
            .find(|k| k.as_str() == self.0.kind)
            .ok_or_else(|| AppError::Internal("stored assignment kind is unknown".into()).into())
    }
    async fn staff(&self, ctx: &Context<'_>) -> User {
        User(caller(ctx).account_view(self.1.clone()))
    }
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }
    async fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.0.ends_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}
