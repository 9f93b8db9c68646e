//! Departments and care teams.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};

use super::common::caller;
use super::errors::ApiResult;
use super::visibility;
use crate::access::{CareAssignment, Department, NewAssignment};
use crate::domain::AssignmentKind;

#[derive(InputObject)]
#[graphql(visible = "visibility::writes_care_team")]
pub struct AssignCareTeamInput {
    patient_id: ID,
    /// A nurse for NURSE, a doctor for ATTENDING.
    staff_id: ID,
    kind: AssignmentKind,
    /// Now if left out.
    starts_at: Option<DateTime<Utc>>,
    /// Open-ended if left out.
    ends_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct OrganisationQuery;

#[Object]
impl OrganisationQuery {
    #[graphql(visible = "visibility::reads_departments")]
    async fn departments(&self, ctx: &Context<'_>) -> ApiResult<Vec<Department>> {
        Ok(caller(ctx).departments().await?)
    }
}

#[derive(Default)]
pub struct OrganisationMutation;

#[Object]
impl OrganisationMutation {
    #[graphql(visible = "visibility::creates_departments")]
    async fn create_department(&self, ctx: &Context<'_>, name: String) -> ApiResult<Department> {
        Ok(caller(ctx).create_department(&name).await?)
    }

    #[graphql(visible = "visibility::changes_departments")]
    async fn rename_department(&self, ctx: &Context<'_>, id: ID, name: String) -> ApiResult<Department> {
        Ok(caller(ctx).rename_department(&id, &name).await?)
    }

    /// Adds a nurse or an attending doctor to a patient's care team for a
    /// time window; outside it the assignment grants nothing.
    #[graphql(visible = "visibility::writes_care_team")]
    async fn assign_care_team(
        &self,
        ctx: &Context<'_>,
        input: AssignCareTeamInput,
    ) -> ApiResult<CareAssignment> {
        let new = NewAssignment {
            staff_id: input.staff_id.0,
            kind: input.kind,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
        };
        Ok(caller(ctx).assign(&input.patient_id, new).await?)
    }

    /// Ends an assignment now.
    #[graphql(visible = "visibility::writes_care_team")]
    async fn revoke_assignment(&self, ctx: &Context<'_>, id: ID) -> ApiResult<CareAssignment> {
        Ok(caller(ctx).revoke_assignment(&id).await?)
    }
}
