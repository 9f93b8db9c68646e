//! Break-glass: opening a patient in an emergency, the live feed of grants
//! for compliance officers, and their review. Values come from access.

use async_graphql::{Context, ID, Object, Subscription};
use futures_util::Stream;

use super::common::caller;
use super::errors::{ApiError, ApiResult};
use super::visibility;
use crate::access::{BreakGlassAccess, BreakGlassGrant, BreakGlassReport, BreakGlassStatus};
use crate::domain::BreakGlassOutcome;

#[derive(Default)]
pub struct BreakGlassQuery;

#[Object]
impl BreakGlassQuery {
    /// Break-glass grants for retrospective review, newest first:
    /// AWAITING_REVIEW, REVIEWED, or all when `status` is omitted; with how
    /// often each clinician broke glass (over all grants). COMPLIANCE_OFFICER.
    #[graphql(visible = "visibility::reviews_break_glass")]
    async fn break_glass_grants(
        &self,
        ctx: &Context<'_>,
        status: Option<BreakGlassStatus>,
    ) -> ApiResult<BreakGlassReport> {
        Ok(caller(ctx).break_glass_grants(status).await?.into_inner())
    }
}

#[derive(Default)]
pub struct BreakGlassMutation;

#[Object]
impl BreakGlassMutation {
    /// Emergency access to a patient outside your care (DOCTOR, NURSE). The
    /// grant reads directory, demographics, vitals and clinical data (as the
    /// policy's BREAK_GLASS grants say; never notes or billing) for a few
    /// hours (policy `[break_glass] grant_hours`, 4 by default), every read
    /// recorded under purpose EMERGENCY. Compliance officers are told at once
    /// and review it afterwards. `reason`: a sentence of at least 20
    /// characters, else BAD_USER_INPUT; a patient you can already read is
    /// BAD_USER_INPUT too; restricted (VIP) records cannot be opened this way
    /// (NOT_FOUND, as for an unknown id).
    #[graphql(visible = "visibility::breaks_glass")]
    async fn break_glass(
        &self,
        ctx: &Context<'_>,
        patient_id: ID,
        reason: String,
    ) -> ApiResult<BreakGlassAccess> {
        Ok(caller(ctx).break_glass(&patient_id, &reason).await?)
    }

    /// Records the retrospective review of a break-glass (COMPLIANCE_OFFICER):
    /// APPROPRIATE or INAPPROPRIATE, with an optional note. Once per grant
    /// (again is BAD_USER_INPUT); nobody reviews their own grant.
    #[graphql(visible = "visibility::judges_break_glass")]
    async fn review_break_glass(
        &self,
        ctx: &Context<'_>,
        id: ID,
        outcome: BreakGlassOutcome,
        note: Option<String>,
    ) -> ApiResult<BreakGlassGrant> {
        Ok(caller(ctx).review_break_glass(&id, outcome, note).await?)
    }
}

/// The access token a WebSocket connection was authenticated with, kept so
/// a long-lived subscription can check it again.
pub struct SubscriptionToken(pub String);

#[derive(Default)]
pub struct Subscription;

// Hidden from roles with nothing to follow, like its only field.
#[Subscription(visible = "visibility::reviews_break_glass")]
impl Subscription {
    /// Each break-glass grant as it is opened (COMPLIANCE_OFFICER), over
    /// graphql-ws (`graphql-transport-ws`) on `/graphql/ws`, authenticated by
    /// `{"authorization": "Bearer <accessToken>"}` in `connection_init`. The
    /// feed ends when the session does.
    #[graphql(visible = "visibility::reviews_break_glass")]
    async fn break_glass_opened(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = BreakGlassGrant> + use<>, async_graphql::Error> {
        let token = ctx
            .data_opt::<SubscriptionToken>()
            .map(|t| t.0.clone())
            .ok_or_else(|| ApiError::from(crate::error::AppError::Unauthenticated))?;
        Ok(caller(ctx).break_glass_opened(token).map_err(ApiError::from)?)
    }
}
