//! Accounts as GraphQL sees them: a listed account (`User`), the caller's
//! own account after a login (`Account`), and the login answer. The values
//! come from access, with the e-mail already decided.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use super::common::caller;
use super::errors::{ApiResult, forbid_field};
use super::visibility;
use crate::access::{Account, BreakGlassAccess, OwnAccount, SignedIn};
use crate::error::AppError;
use crate::policy::Role;

// An account. Its e-mail is shown to the account itself, to those who
// administer staff accounts, and, for a patient's account, only to whoever
// may read that patient's contact data; to anyone else it is `null` with
// FORBIDDEN. (Plain comments: the published schema stays as it was.)
#[Object(name = "User")]
impl Account {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        if self.email.is_none() {
            forbid_field(ctx);
        }
        self.email.as_deref()
    }
    async fn name(&self) -> &str {
        &self.name
    }
    async fn role(&self) -> ApiResult<Role> {
        Ok(self.role.map_err(AppError::from)?)
    }
    /// False until the owner enrols, and after deactivation.
    async fn active(&self) -> bool {
        self.active
    }
    /// Your break-glass grants that are open right now (on `me`; on any
    /// other account `null` with FORBIDDEN).
    #[graphql(visible = "visibility::breaks_glass")]
    async fn active_break_glass(&self, ctx: &Context<'_>) -> ApiResult<Option<Vec<BreakGlassAccess>>> {
        let caller = caller(ctx);
        if caller.principal()?.user_id != self.id {
            forbid_field(ctx);
            return Ok(None);
        }
        Ok(Some(caller.active_break_glass().await?))
    }
}

pub struct AuthPayload(pub SignedIn);

#[Object]
impl AuthPayload {
    /// Send as `Authorization: Bearer <accessToken>`.
    async fn access_token(&self) -> &str {
        &self.0.access_token
    }
    /// Exchange with `refreshSession` for a new pair; usable once.
    async fn refresh_token(&self) -> &str {
        &self.0.refresh_token
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    /// The account that just logged in.
    async fn user(&self) -> &OwnAccount {
        &self.0.account
    }
    /// True when the account's role must use a second factor and it has
    /// none yet: this session may only set one up (startTotpEnrolment);
    /// everything else answers MFA_REQUIRED.
    async fn mfa_enrolment_required(&self) -> bool {
        self.0.mfa_enrolment_required
    }
}
