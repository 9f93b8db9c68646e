use async_graphql::{Context, ID, Object};

use super::errors::ApiResult;
use super::types::{Patient, PatientConnection, User, caller};
use super::visibility;
use crate::access::Prefetch;
use crate::policy::Role;

pub struct Query;

#[Object]
impl Query {
    /// The account you are logged in as.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<User> {
        Ok(User(caller(ctx).me().await?))
    }

    /// The patients in your care (your scope), ordered by family name.
    #[graphql(visible = "visibility::reads_directory")]
    async fn patients(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0 to 100 (default 50).")] first: Option<i32>,
        #[graphql(desc = "`endCursor` of the previous page.")] after: Option<String>,
    ) -> ApiResult<PatientConnection> {
        let look = ctx.look_ahead();
        let selects = |field: &str| {
            look.field("nodes").field(field).exists()
                || look.field("edges").field("node").field(field).exists()
        };
        let prefetch = Prefetch {
            observations: selects("observations"),
            assigned_nurses: selects("assignedNurses"),
        };
        let page = caller(ctx).patients(first, after.as_deref(), prefetch).await?;
        Ok(PatientConnection::from_page(page))
    }

    /// One patient in your scope; any other id is NOT_FOUND.
    #[graphql(visible = "visibility::reads_directory")]
    async fn patient(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Patient>> {
        Ok(Some(Patient(caller(ctx).patient(&id).await?)))
    }

    /// Staff and patient accounts, optionally of one role.
    #[graphql(visible = "visibility::reads_staff")]
    async fn users(&self, ctx: &Context<'_>, role: Option<Role>) -> ApiResult<Vec<User>> {
        Ok(caller(ctx).users(role).await?.into_iter().map(User).collect())
    }
}
