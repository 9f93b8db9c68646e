//! What can go wrong with the trail.

use crate::error::AppError;

/// Recording events failed: the events are not durable, and the operation
/// they describe must not be reported as done.
#[derive(Clone, Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit trail: database error: {0}")]
    Database(String),
    #[error("audit trail: the writer has stopped")]
    WriterStopped,
}

impl From<sea_orm::DbErr> for AuditError {
    fn from(e: sea_orm::DbErr) -> Self {
        AuditError::Database(e.to_string())
    }
}

/// Fail closed: a request whose events cannot be recorded fails as an
/// internal error (the cause goes to the log, not to the client).
impl From<AuditError> for AppError {
    fn from(e: AuditError) -> Self {
        AppError::Internal(e.to_string())
    }
}

/// Why `audit verify` could not vouch for the trail.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The chain is broken: `seq` is the first event that does not verify.
    #[error("audit trail broken at event seq {seq}: {reason}")]
    Broken { seq: i64, reason: String },
    /// The trail does not match a signed checkpoint.
    #[error("audit trail does not match the checkpoint: {0}")]
    Checkpoint(String),
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
}

/// Signing or reading checkpoints.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(
        "no audit key: set CAREGRAPH_AUDIT_KEY (at least 32 bytes of random data, kept outside the database); \
         a key file is generated only beside a SQLite database"
    )]
    NoKey,
    #[error("audit key file {path}: {message}")]
    KeyFile { path: String, message: String },
    #[error("checkpoint file {path}: {message}")]
    File { path: String, message: String },
    #[error("the checkpoint's signature does not match the audit key (forged, altered, or another key)")]
    BadSignature,
}
