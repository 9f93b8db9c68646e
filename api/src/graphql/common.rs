//! What every GraphQL module uses: the request's `Caller`, the `Date`
//! scalar and optional inputs.

use async_graphql::Context;

use crate::access::Caller;
pub use crate::domain::{Date, maybe};

pub fn caller<'a>(ctx: &Context<'a>) -> &'a Caller {
    ctx.data_unchecked::<Caller>()
}
