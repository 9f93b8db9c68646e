use async_graphql::{Context, ID, InputObject, Object};

use super::common::{Date, caller};
use super::errors::ApiResult;
use super::patient::{Patient, PatientConnection};
use super::visibility;
use crate::access::{Account, PatientFilter};
use crate::policy::Role;

#[derive(Default)]
pub struct CoreQuery;

#[derive(InputObject)]
#[graphql(visible = "visibility::reads_directory")]
pub struct PatientFilterInput {
    /// Family names starting with this.
    family_name: Option<String>,
    mrn: Option<String>,
    // The type is visible with DIRECTORY, the class of the fields above;
    // this one is DEMOGRAPHICS. Hiding it only tidies introspection: the
    // filter itself is refused by `Caller::patients` where it may not be used.
    #[graphql(visible = "visibility::reads_demographics")]
    date_of_birth: Option<Date>,
}

#[Object]
impl CoreQuery {
    /// The account you are logged in as.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<Account> {
        Ok(caller(ctx).me().await?)
    }

    /// The patients in your care (your scope), ordered by family name.
    #[graphql(visible = "visibility::reads_directory")]
    async fn patients(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0 to 100 (default 50).")] first: Option<i32>,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only fields you may read can be filtered on.")] filter: Option<PatientFilterInput>,
    ) -> ApiResult<PatientConnection> {
        let asked = PatientConnection::selection(&ctx.look_ahead());
        let filter = filter
            .map(|f| PatientFilter {
                family_name: f.family_name,
                mrn: f.mrn,
                date_of_birth: f.date_of_birth.map(|d| d.0),
            })
            .unwrap_or_default();
        let page = caller(ctx)
            .patients(first, after.as_deref(), filter, asked)
            .await?;
        Ok(PatientConnection::from_page(page))
    }

    /// One patient in your scope; any other id is NOT_FOUND.
    #[graphql(visible = "visibility::reads_directory")]
    async fn patient(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Patient>> {
        let asked = Patient::selection(&ctx.look_ahead());
        Ok(Some(Patient(caller(ctx).patient(&id, asked).await?)))
    }

    /// Staff and patient accounts, optionally of one role.
    #[graphql(visible = "visibility::reads_staff")]
    async fn users(&self, ctx: &Context<'_>, role: Option<Role>) -> ApiResult<Vec<Account>> {
        Ok(caller(ctx).users(role).await?)
    }
}
