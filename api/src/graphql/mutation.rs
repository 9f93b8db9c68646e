use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use super::account::AuthPayload;
use super::common::{Date, caller, maybe};
use super::errors::ApiResult;
use super::patient::Patient;
use super::visibility;
use crate::access::Account;
use crate::access::{CareAssignment, NewObservation, Observation, PatientChanges};
use crate::domain::Sex;
use crate::domain::parse_id;

#[derive(Default)]
pub struct CoreMutation;

#[derive(InputObject)]
#[graphql(visible = "visibility::creates_patients")]
pub struct CreatePatientInput {
    given_name: String,
    family_name: String,
    date_of_birth: Date,
    sex: Sex,
    phone: Option<String>,
    address: Option<String>,
    postal_code: Option<String>,
    email: Option<String>,
    national_id: Option<String>,
    department_id: Option<ID>,
}

/// Fields left out stay as they are; `null` clears an optional field.
#[derive(InputObject)]
#[graphql(visible = "visibility::updates_patients")]
pub struct UpdatePatientInput {
    given_name: Option<String>,
    family_name: Option<String>,
    date_of_birth: Option<Date>,
    sex: Option<Sex>,
    phone: MaybeUndefined<String>,
    address: MaybeUndefined<String>,
    postal_code: MaybeUndefined<String>,
    email: MaybeUndefined<String>,
    national_id: MaybeUndefined<String>,
    department_id: MaybeUndefined<ID>,
    /// VIP or staff member: reachable only through explicit assignments.
    /// Needs an attending doctor assigned first.
    restricted: Option<bool>,
}

#[Object]
impl CoreMutation {
    /// Wrong e-mail and wrong password get the same UNAUTHENTICATED answer.
    /// An account with a second factor also needs `otp` (a code from its
    /// authenticator app, or an unused recovery code): MFA_REQUIRED without
    /// a valid one.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
        otp: Option<String>,
    ) -> ApiResult<AuthPayload> {
        Ok(AuthPayload(caller(ctx).login(&email, password, otp).await?))
    }

    /// A new token pair for a refresh token, which then stops working.
    async fn refresh_session(&self, ctx: &Context<'_>, refresh_token: String) -> ApiResult<AuthPayload> {
        Ok(AuthPayload(caller(ctx).refresh(&refresh_token).await?))
    }

    /// Ends this session on the server: its tokens stop working at once.
    #[graphql(visible = "visibility::authenticated")]
    async fn logout(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        caller(ctx).logout().await?;
        Ok(true)
    }

    /// Ends every session of your account, this one included, on every
    /// server: all its access and refresh tokens stop working. The number
    /// of sessions that were still open.
    #[graphql(visible = "visibility::authenticated")]
    async fn logout_everywhere(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        let ended = caller(ctx).logout_everywhere().await?;
        Ok(i32::try_from(ended).unwrap_or(i32::MAX))
    }

    /// Changes your password, given the current one. The new one follows
    /// the password rules (README, Security). Every other session of your
    /// account ends; this one stays. The number of sessions ended.
    #[graphql(visible = "visibility::authenticated")]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current: String,
        #[graphql(name = "new")] new_password: String,
    ) -> ApiResult<i32> {
        let ended = caller(ctx).change_password(current, new_password).await?;
        Ok(i32::try_from(ended).unwrap_or(i32::MAX))
    }

    /// Deletes an account; its sessions end with it.
    #[graphql(visible = "visibility::deletes_accounts")]
    async fn delete_user(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        caller(ctx).delete_user(&id).await?;
        Ok(true)
    }

    /// Keeps the account for the record but ends its sessions and logins.
    #[graphql(visible = "visibility::changes_accounts")]
    async fn deactivate_user(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Account> {
        Ok(caller(ctx).deactivate_user(&id).await?)
    }

    #[graphql(visible = "visibility::creates_patients")]
    async fn create_patient(&self, ctx: &Context<'_>, input: CreatePatientInput) -> ApiResult<Patient> {
        let changes = PatientChanges {
            given_name: Some(input.given_name),
            family_name: Some(input.family_name),
            date_of_birth: Some(input.date_of_birth.0),
            sex: Some(input.sex),
            restricted: None,
            department_id: input
                .department_id
                .map(|id| parse_id("departmentId", &id).map(Some))
                .transpose()?,
            phone: input.phone.map(Some),
            address: input.address.map(Some),
            postal_code: input.postal_code.map(Some),
            email: input.email.map(Some),
            national_id: input.national_id.map(Some),
        };
        let asked = Patient::selection(&ctx.look_ahead());
        Ok(Patient(caller(ctx).create_patient(changes, asked).await?))
    }

    #[graphql(visible = "visibility::updates_patients")]
    async fn update_patient(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdatePatientInput,
    ) -> ApiResult<Patient> {
        let changes = PatientChanges {
            given_name: input.given_name,
            family_name: input.family_name,
            date_of_birth: input.date_of_birth.map(|d| d.0),
            sex: input.sex,
            restricted: input.restricted,
            department_id: maybe(input.department_id)
                .map(|id| id.map(|id| parse_id("departmentId", &id)).transpose())
                .transpose()?,
            phone: maybe(input.phone),
            address: maybe(input.address),
            postal_code: maybe(input.postal_code),
            email: maybe(input.email),
            national_id: maybe(input.national_id),
        };
        let asked = Patient::selection(&ctx.look_ahead());
        Ok(Patient(caller(ctx).update_patient(&id, changes, asked).await?))
    }

    #[graphql(visible = "visibility::deletes_patients")]
    async fn delete_patient(&self, ctx: &Context<'_>, id: ID) -> ApiResult<bool> {
        caller(ctx).delete_patient(&id).await?;
        Ok(true)
    }

    /// Assigns a nurse to a patient in your care, from now on.
    #[graphql(visible = "visibility::writes_care_team")]
    async fn assign_patient(
        &self,
        ctx: &Context<'_>,
        patient_id: ID,
        nurse_id: ID,
    ) -> ApiResult<CareAssignment> {
        Ok(caller(ctx).assign_nurse(&patient_id, &nurse_id).await?)
    }

    /// Corrects the value of a recorded vital sign.
    #[graphql(visible = "visibility::writes_vitals")]
    async fn correct_observation(&self, ctx: &Context<'_>, id: ID, value: f64) -> ApiResult<Observation> {
        Ok(caller(ctx).correct_observation(&id, value).await?)
    }

    /// Records a vital sign of a patient in your care.
    #[graphql(visible = "visibility::writes_vitals")]
    async fn record_observation(
        &self,
        ctx: &Context<'_>,
        patient_id: ID,
        input: NewObservation,
    ) -> ApiResult<Observation> {
        Ok(caller(ctx).record_observation(&patient_id, input).await?)
    }
}
