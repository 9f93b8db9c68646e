//! Accounts and how they come to exist: four-eyes requests and approvals for
//! staff, invitations for patients, and enrolment by the account's owner.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::common::caller;
use super::errors::ApiResult;
use super::visibility;
use crate::access::{Account, AccountRequest, EnrolmentCode, EnrolmentKind, StaffAccountRequest};
use crate::domain::parse_id;
use crate::policy::Role;

#[derive(InputObject)]
#[graphql(visible = "visibility::creates_accounts")]
pub struct CreateUserInput {
    email: String,
    name: String,
    role: Role,
    department_id: Option<ID>,
}

/// A requested account and the requester's half of its enrolment code. The
/// account does not exist until a different ADMIN or a COMPLIANCE_OFFICER
/// approves it (`approveAccount`, which returns the other half) and its owner
/// enrols with both halves, concatenated (`enrolAccount`); `user` shows it as
/// it will be (inactive until then).
#[derive(SimpleObject)]
#[graphql(visible = "visibility::creates_accounts")]
pub struct NewAccount {
    user: Account,
    /// The requester's half: give it to the new staff member only.
    code: String,
    /// Both halves stop working then.
    expires_at: DateTime<Utc>,
}

impl NewAccount {
    fn from((user, code): (Account, EnrolmentCode)) -> Self {
        NewAccount {
            user,
            code: code.code,
            expires_at: code.expires_at,
        }
    }
}

/// What the desk hands the patient: a one-time code to set their password.
#[derive(SimpleObject)]
#[graphql(visible = "visibility::invites_patients")]
pub struct PatientInvitation {
    /// The id the patient's account will have.
    account_id: ID,
    /// Give it to the patient only; it works once, for 72 hours, and only
    /// together with the national id on their record. When `needsApproval`,
    /// it is the first half: the approver's half is appended to it.
    code: String,
    expires_at: DateTime<Utc>,
    /// The record had an account before: an ADMIN or a COMPLIANCE_OFFICER
    /// must approve this invitation (`approveAccount(userId: accountId)`).
    needs_approval: bool,
}

/// A request that needs (or has) a second person's approval, with what the
/// approver needs to judge it.
#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_account_requests")]
pub struct AccountRequestItem {
    /// Pass to `approveAccount(userId:)`.
    account_id: ID,
    kind: EnrolmentKind,
    /// The role the account will have.
    role: Role,
    /// Staff accounts: the name. A patient's re-invitation: `null` (see
    /// `patientId`).
    name: Option<String>,
    /// The address the account will log in with: check that it is the
    /// owner's and not the requester's.
    email: String,
    /// For a patient's re-invitation: the record.
    patient_id: Option<ID>,
    requested_by: ID,
    requested_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    /// A re-activation: when the account was closed.
    deactivated_at: Option<DateTime<Utc>>,
    /// Approved, and waiting for its owner to enrol.
    approved: bool,
}

impl From<AccountRequest> for AccountRequestItem {
    fn from(r: AccountRequest) -> Self {
        AccountRequestItem {
            account_id: ID(r.account_id.to_string()),
            kind: r.kind,
            role: r.role,
            name: r.name,
            email: r.email,
            patient_id: r.patient_id.map(|id| ID(id.to_string())),
            requested_by: ID(r.requested_by.to_string()),
            requested_at: r.requested_at,
            expires_at: r.expires_at,
            deactivated_at: r.deactivated_at,
            approved: r.approved,
        }
    }
}

#[derive(Default)]
pub struct ProvisioningQuery;

#[Object]
impl ProvisioningQuery {
    /// Open account requests, re-activations and re-invitations that need a
    /// second person's approval, oldest first.
    #[graphql(visible = "visibility::reads_account_requests")]
    async fn account_requests(&self, ctx: &Context<'_>) -> ApiResult<Vec<AccountRequestItem>> {
        Ok(caller(ctx)
            .account_requests()
            .await?
            .into_iter()
            .map(AccountRequestItem::from)
            .collect())
    }
}

#[derive(Default)]
pub struct ProvisioningMutation;

#[Object]
impl ProvisioningMutation {
    /// Requests a staff account. It takes no password: its owner chooses one
    /// when enrolling, after a second person's approval. `deleteUser` with
    /// its id cancels the request.
    #[graphql(visible = "visibility::creates_accounts")]
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> ApiResult<NewAccount> {
        let request = StaffAccountRequest {
            email: input.email,
            name: input.name,
            role: input.role,
            department_id: input
                .department_id
                .map(|id| parse_id("departmentId", &id))
                .transpose()?,
        };
        Ok(NewAccount::from(caller(ctx).request_account(request).await?))
    }

    /// Approves someone else's request (an account, a re-activation, a
    /// patient's re-invitation) and returns the second half of its code.
    /// Approving your own request is FORBIDDEN.
    #[graphql(visible = "visibility::approves_accounts")]
    async fn approve_account(&self, ctx: &Context<'_>, user_id: ID) -> ApiResult<String> {
        Ok(caller(ctx).approve_account(&user_id).await?)
    }

    /// Opens a deactivated staff account again: like a new account, it needs
    /// a second approval and its owner sets a new password.
    #[graphql(visible = "visibility::changes_accounts")]
    async fn reactivate_user(&self, ctx: &Context<'_>, id: ID) -> ApiResult<NewAccount> {
        Ok(NewAccount::from(caller(ctx).reactivate_user(&id).await?))
    }

    /// Invites a patient to read their own record (after checking who they
    /// are at the desk). Always answers with a code: what it cannot do is
    /// told to the patient when enrolling.
    #[graphql(visible = "visibility::invites_patients")]
    async fn invite_patient(
        &self,
        ctx: &Context<'_>,
        patient_id: ID,
        email: String,
    ) -> ApiResult<PatientInvitation> {
        let invitation = caller(ctx).invite_patient(&patient_id, &email).await?;
        Ok(PatientInvitation {
            account_id: ID(invitation.account_id.to_string()),
            code: invitation.code,
            expires_at: invitation.expires_at,
            needs_approval: invitation.needs_approval,
        })
    }

    /// Enrols your account: the whole code (both halves, concatenated, where
    /// an approval was needed), the national id on your record if you are a
    /// patient, and a password of your choosing. At most five attempts per code.
    async fn enrol_account(
        &self,
        ctx: &Context<'_>,
        code: String,
        national_id: Option<String>,
        password: String,
    ) -> ApiResult<bool> {
        caller(ctx).enrol(&code, national_id.as_deref(), password).await?;
        Ok(true)
    }
}
