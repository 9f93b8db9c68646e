//! The one error type of the server's inner layers. It is turned into a
//! GraphQL error with a stable `extensions.code` in exactly one place
//! (`graphql::errors`); causes go to the log, never to the client.

use std::fmt;

/// Stable error codes, as clients see them in `extensions.code`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    MfaRequired,
    ReauthRequired,
    RateLimited,
    /// Refused before execution for exceeding a limit on the query's shape
    /// (`graphql::limits`: aliases, depth, complexity, repeated fields,
    /// directives, fragments, introspection nesting), or stopped for running
    /// too long. The message names the limit and its variable.
    QueryTooComplex,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::MfaRequired => "MFA_REQUIRED",
            ErrorCode::ReauthRequired => "REAUTH_REQUIRED",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::QueryTooComplex => "QUERY_TOO_COMPLEX",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("authentication required")]
    Unauthenticated,
    /// The caller may not do this. The message never carries a value.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// Missing, or outside the caller's scope: the two are indistinguishable.
    #[error("not found")]
    NotFound,
    /// A message for the client about their own input; it must not quote PHI.
    #[error("{0}")]
    BadUserInput(String),
    /// Too much at once; try again shortly.
    #[error("{0}")]
    RateLimited(&'static str),
    /// A second factor is needed: at login for an account with MFA (give
    /// `otp`), or for anything but enrolment by a session of a role that
    /// must use MFA and has not set it up.
    #[error("{0}")]
    MfaRequired(&'static str),
    /// A high-risk action needs an authentication within the step-up
    /// window: call `reauthenticate` first.
    #[error("this action needs a recent authentication: call reauthenticate(password, otp) first")]
    ReauthRequired,
    /// Failed logins for this account or from this address: wait this long
    /// (`extensions.retryAfterSeconds`, and the `Retry-After` header).
    #[error("too many failed logins; try again in {retry_after_secs} seconds")]
    Throttled { retry_after_secs: u64 },
    #[error("database error")]
    Database(#[from] sea_orm::DbErr),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<crate::domain::UnknownStored> for AppError {
    fn from(e: crate::domain::UnknownStored) -> Self {
        AppError::Internal(format!("stored {} is unknown", e.0))
    }
}

impl AppError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Unauthenticated => ErrorCode::Unauthenticated,
            AppError::Forbidden(_) => ErrorCode::Forbidden,
            AppError::NotFound => ErrorCode::NotFound,
            AppError::BadUserInput(_) => ErrorCode::BadUserInput,
            AppError::RateLimited(_) | AppError::Throttled { .. } => ErrorCode::RateLimited,
            AppError::MfaRequired(_) => ErrorCode::MfaRequired,
            AppError::ReauthRequired => ErrorCode::ReauthRequired,
            AppError::Database(_) | AppError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// What the client may read. Internal causes are replaced by a fixed text.
    pub fn client_message(&self) -> String {
        match self {
            AppError::Database(_) | AppError::Internal(_) => "internal error".to_owned(),
            AppError::Unauthenticated
            | AppError::Forbidden(_)
            | AppError::NotFound
            | AppError::RateLimited(_)
            | AppError::MfaRequired(_)
            | AppError::ReauthRequired
            | AppError::Throttled { .. }
            | AppError::BadUserInput(_) => self.to_string(),
        }
    }

    pub fn forbidden(reason: impl Into<String>) -> Self {
        AppError::Forbidden(reason.into())
    }

    /// A write refused by a unique index becomes a message for the client
    /// (it races the check made before the write); anything else stays a
    /// database error.
    pub fn unique_or_database(e: sea_orm::DbErr, message: &str) -> Self {
        match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AppError::bad_input(message),
            _ => AppError::Database(e),
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        AppError::BadUserInput(message.into())
    }
}

pub type AppResult<T> = Result<T, AppError>;
