//! The edge: the one place where internal errors become GraphQL errors with a
//! stable `extensions.code`. Causes of internal errors go to the log only.

use async_graphql::{Context, ErrorExtensions, ServerError};

use crate::error::{AppError, ErrorCode};

/// What resolvers return on failure: an `AppError` already mapped to its
/// code. It deliberately does not implement `Display`, so async-graphql's
/// blanket conversion (which would drop the code) cannot apply.
#[derive(Clone)]
pub struct ApiError(async_graphql::Error);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(to_graphql(&e))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A damaged stored value in a field of a value type: INTERNAL, logged.
impl From<crate::domain::UnknownStored> for async_graphql::Error {
    fn from(e: crate::domain::UnknownStored) -> Self {
        to_graphql(&AppError::from(e))
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(ApiError(e): ApiError) -> Self {
        e
    }
}

pub fn to_graphql(e: &AppError) -> async_graphql::Error {
    let code = e.code();
    if code == ErrorCode::Internal {
        // The cause chain may name tables or constraints: log, do not send.
        tracing::error!(error = %e, source = ?std::error::Error::source(e).map(|s| s.to_string()), "internal error");
    }
    let error = coded(&e.client_message(), code);
    match e {
        AppError::Throttled { retry_after_secs } => {
            let seconds = *retry_after_secs;
            error.extend_with(move |_, ext| ext.set(RETRY_AFTER_SECONDS, seconds))
        }
        _ => error,
    }
}

/// The extension of a RATE_LIMITED error that says how long to wait; the
/// HTTP layer repeats the longest as a `Retry-After` header.
pub const RETRY_AFTER_SECONDS: &str = "retryAfterSeconds";

/// The longest `retryAfterSeconds` among the errors, if any has one.
pub fn retry_after(errors: &[ServerError]) -> Option<u64> {
    errors
        .iter()
        .filter_map(|e| e.extensions.as_ref()?.get(RETRY_AFTER_SECONDS))
        .filter_map(|v| match v {
            async_graphql::Value::Number(n) => n.as_u64(),
            _ => None,
        })
        .max()
}

pub fn coded(message: &str, code: ErrorCode) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", code.as_str()))
}

/// Records a FORBIDDEN error at the current field's path; the field itself
/// resolves to `null`, so the key stays in the response.
pub fn forbid_field(ctx: &Context<'_>) {
    let error = coded("not allowed to read this field", ErrorCode::Forbidden).into_server_error(ctx.item.pos);
    ctx.add_error(ctx.set_error_path(error));
}

/// Gives every error that left async-graphql without a code (parse and
/// validation errors, limits) the code that clients can rely on.
pub fn assign_codes(errors: &mut [ServerError]) {
    for error in errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|ext| ext.get("code").is_some());
        if has_code {
            continue;
        }
        let message = error.message.to_lowercase();
        let code = if message.contains("too deep")
            || message.contains("too complex")
            || message.contains("too many")
            || message.contains("recursion")
        {
            ErrorCode::QueryTooComplex
        } else {
            ErrorCode::BadUserInput
        };
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code.as_str());
    }
}
