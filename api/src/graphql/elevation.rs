//! Just-in-time elevation: asking for another role for a while, and an
//! administrator's decision. Values come from access.

use async_graphql::{Context, ID, Object};

use super::common::caller;
use super::errors::ApiResult;
use super::visibility;
use crate::access::Elevation;
use crate::policy::Role;

#[derive(Default)]
pub struct ElevationQuery;

#[Object]
impl ElevationQuery {
    /// Elevation requests waiting for a decision, oldest first (ADMIN).
    #[graphql(visible = "visibility::changes_accounts")]
    async fn elevation_requests(&self, ctx: &Context<'_>) -> ApiResult<Vec<Elevation>> {
        Ok(caller(ctx).elevation_requests().await?)
    }
}

#[derive(Default)]
pub struct ElevationMutation;

#[Object]
impl ElevationMutation {
    /// Asks for another staff role for `minutes` (at most 480), with a
    /// reason (a sentence). A different ADMIN decides; once approved the
    /// role applies to your sessions until it ends by itself.
    #[graphql(visible = "visibility::staff")]
    async fn request_elevation(
        &self,
        ctx: &Context<'_>,
        role: Role,
        reason: String,
        minutes: i32,
    ) -> ApiResult<Elevation> {
        Ok(caller(ctx).request_elevation(role, &reason, minutes).await?)
    }

    /// Approves (`approve: true`) or refuses a request. ADMIN, by their own
    /// role, never their own request; needs a recent authentication
    /// (REAUTH_REQUIRED otherwise).
    #[graphql(visible = "visibility::changes_accounts")]
    async fn decide_elevation(&self, ctx: &Context<'_>, id: ID, approve: bool) -> ApiResult<Elevation> {
        Ok(caller(ctx).decide_elevation(&id, approve).await?)
    }
}
