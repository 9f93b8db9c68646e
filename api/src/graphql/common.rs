//! What every GraphQL module uses: the request's `Caller`, the `Date`
//! scalar and optional inputs.

use async_graphql::Context;

use crate::access::Caller;
pub use crate::domain::Date;

/// An optional input field: absent leaves a value as it is (`None`), `null`
/// clears it (`Some(None)`).
pub fn maybe<T>(value: async_graphql::MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        async_graphql::MaybeUndefined::Undefined => None,
        async_graphql::MaybeUndefined::Null => Some(None),
        async_graphql::MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

pub fn caller<'a>(ctx: &Context<'a>) -> &'a Caller {
    ctx.data_unchecked::<Caller>()
}
