//! The second factor and step-up: TOTP enrolment, and re-authentication
//! before high-risk actions. Values come from access.

use async_graphql::{Context, Object};

use super::common::caller;
use super::errors::ApiResult;
use super::visibility;
use crate::access::TotpEnrolment;

#[derive(Default)]
pub struct MfaMutation;

#[Object]
impl MfaMutation {
    /// Starts setting up a TOTP authenticator app (RFC 6238: SHA-1, six
    /// digits, 30 seconds): put the secret (or the provisioning URI, as a QR
    /// code) into the app, then call confirmTotpEnrolment with a code it
    /// shows. Allowed to a session whose role must use MFA and has not yet.
    #[graphql(visible = "visibility::authenticated")]
    async fn start_totp_enrolment(&self, ctx: &Context<'_>) -> ApiResult<TotpEnrolment> {
        Ok(caller(ctx).start_totp_enrolment().await?)
    }

    /// Confirms the enrolment with a current code; from then on every login
    /// needs `otp`. Returns ten single-use recovery codes, shown only now.
    #[graphql(visible = "visibility::authenticated")]
    async fn confirm_totp_enrolment(&self, ctx: &Context<'_>, code: String) -> ApiResult<Vec<String>> {
        Ok(caller(ctx).confirm_totp_enrolment(&code).await?)
    }

    /// Step-up: proves the password (and `otp`, for an account with a
    /// second factor) again, so that high-risk actions are allowed for the
    /// next few minutes (CAREGRAPH_STEP_UP_SECS); they answer
    /// REAUTH_REQUIRED otherwise.
    #[graphql(visible = "visibility::authenticated")]
    async fn reauthenticate(
        &self,
        ctx: &Context<'_>,
        password: String,
        otp: Option<String>,
    ) -> ApiResult<bool> {
        caller(ctx).reauthenticate(password, otp).await?;
        Ok(true)
    }
}
