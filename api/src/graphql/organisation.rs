//! Departments and care teams.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use caregraph_entity::department;
use chrono::{DateTime, Utc};

use super::care::{AssignmentKind, CareAssignment};
use super::common::caller;
use super::errors::ApiResult;
use super::visibility;
use crate::access::NewAssignment;

#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_departments")]
pub struct Department {
    id: ID,
    name: String,
}

impl From<department::Model> for Department {
    fn from(m: department::Model) -> Self {
        Department {
            id: ID(m.id.to_string()),
            name: m.name,
        }
    }
}

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
        Ok(caller(ctx)
            .departments()
            .await?
            .into_iter()
            .map(Department::from)
            .collect())
    }
}

#[derive(Default)]
pub struct OrganisationMutation;

#[Object]
impl OrganisationMutation {
    #[graphql(visible = "visibility::creates_departments")]
    async fn create_department(&self, ctx: &Context<'_>, name: String) -> ApiResult<Department> {
        Ok(caller(ctx).create_department(&name).await?.into())
    }

    #[graphql(visible = "visibility::changes_departments")]
    async fn rename_department(&self, ctx: &Context<'_>, id: ID, name: String) -> ApiResult<Department> {
        Ok(caller(ctx).rename_department(&id, &name).await?.into())
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
            kind: input.kind.as_str(),
            starts_at: input.starts_at,
            ends_at: input.ends_at,
        };
        let (assignment, staff) = caller(ctx).assign(&input.patient_id, new).await?;
        Ok(CareAssignment(assignment, staff))
    }

    /// Ends an assignment now.
    #[graphql(visible = "visibility::writes_care_team")]
    async fn revoke_assignment(&self, ctx: &Context<'_>, id: ID) -> ApiResult<CareAssignment> {
        let (assignment, staff) = caller(ctx).revoke_assignment(&id).await?;
        Ok(CareAssignment(assignment, staff))
    }
}
