//! The audit trail: who did what to which patient's data, when, from where
//! and with what outcome, kept so that it can be proven afterwards.
//!
//! - `event`: the typed event (`AuditEvent`, `AuditAction`, `Outcome`,
//!   `Purpose`, `Detail`): ids, codes and field names only, never a value.
//! - `meta`: the request an event comes from (`RequestMeta`).
//! - `pending`: a request's events, recorded before its response leaves.
//! - `canonical`: the stable encoding of an event and the chain hash.
//! - `chain`: appending within a transaction (lock the head, hash, insert).
//! - `writer`: group commit of the events of concurrent requests.
//! - `verify` and `checkpoint`: `caregraph audit verify` and `checkpoint`.
//!
//! The trail is append-only through the server: nothing here updates or
//! deletes an event.

mod canonical;
mod chain;
mod checkpoint;
mod error;
mod event;
mod meta;
mod patient_index;
mod pending;
mod verify;
mod writer;

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction};

pub use crate::policy::Purpose;
pub use canonical::{CanonicalEvent, ChainHash, VERSION_TAG};
pub use chain::Head;
pub use checkpoint::{AuditKey, Checkpoint, MIN_KEY_BYTES, key_file_for};
pub use error::{AuditError, CheckpointError, VerifyError};
pub use event::{AuditAction, AuditEvent, Detail, DetailValue, Outcome};
pub use meta::{RequestId, RequestMeta};
pub use patient_index::names_patient;
pub use pending::RequestEvents;
pub use verify::Verified;

/// The handle requests record events through. Cheap to clone; one writer
/// per server process behind it.
#[derive(Clone)]
pub struct Audit {
    /// `None`: auditing switched off for a benchmark.
    writer: Option<writer::WriterHandle>,
}

impl Audit {
    /// Starts the writer on the current Tokio runtime.
    pub fn start(db: DatabaseConnection) -> Audit {
        Audit {
            writer: Some(writer::WriterHandle::spawn(db)),
        }
    }

    /// FOR BENCHMARKS ONLY (`CAREGRAPH_BENCH_AUDIT_OFF=1`): records nothing,
    /// so that the cost of auditing can be measured against its absence.
    pub fn off_for_benchmarks() -> Audit {
        Audit { writer: None }
    }

    pub fn is_on(&self) -> bool {
        self.writer.is_some()
    }

    /// Appends `events` to the trail (in this order, consecutively) and
    /// resolves once they are durable. Concurrent calls are committed
    /// together (see `writer`). An error means they may not be recorded:
    /// fail the operation they describe.
    #[tracing::instrument(skip_all, fields(events = events.len()))]
    pub async fn record(&self, events: Vec<AuditEvent>) -> Result<(), AuditError> {
        match &self.writer {
            Some(writer) if !events.is_empty() => writer.submit(events).await,
            _ => Ok(()),
        }
    }

    /// `record` of one event.
    pub async fn record_one(&self, event: AuditEvent) -> Result<(), AuditError> {
        self.record(vec![event]).await
    }

    /// Appends `events` inside the caller's transaction, for a write and its
    /// events: both commit, or neither does. The chain's head stays locked
    /// until `txn` ends, so call this last, just before committing.
    #[tracing::instrument(skip_all, fields(events = events.len()))]
    pub async fn record_in(
        &self,
        txn: &DatabaseTransaction,
        events: Vec<AuditEvent>,
    ) -> Result<(), AuditError> {
        if self.writer.is_none() || events.is_empty() {
            return Ok(());
        }
        chain::append(txn, &events).await?;
        Ok(())
    }
}

/// `caregraph audit verify`: walks the whole chain; with a checkpoint, also
/// checks that the trail still holds what it signed.
pub async fn verify(
    db: &impl ConnectionTrait,
    checkpoint: Option<(&Checkpoint, &AuditKey)>,
) -> Result<Verified, VerifyError> {
    let signed = match checkpoint {
        Some((checkpoint, key)) => Some(
            checkpoint
                .check(key)
                .map_err(|e| VerifyError::Checkpoint(e.to_string()))?,
        ),
        None => None,
    };
    let verified = verify::verify_chain(db, signed.map(|s| s.count)).await?;
    if let Some(signed) = signed {
        if verified.head.count < signed.count {
            return Err(VerifyError::Checkpoint(format!(
                "the trail was cut short: the checkpoint signed {} events, the trail holds {}",
                signed.count, verified.head.count
            )));
        }
        if verified.marked != Some(signed.hash) {
            return Err(VerifyError::Checkpoint(format!(
                "the trail was rewritten: event seq {} does not have the hash the checkpoint signed",
                signed.count
            )));
        }
    }
    Ok(verified)
}

/// `caregraph audit checkpoint`: verifies the chain and signs its head.
pub async fn checkpoint(db: &impl ConnectionTrait, key: &AuditKey) -> Result<Checkpoint, VerifyError> {
    let verified = verify::verify_chain(db, None).await?;
    Checkpoint::sign(verified.head, chrono::Utc::now(), key)
        .map_err(|e| VerifyError::Checkpoint(e.to_string()))
}
