//! The writer: group commit of the events of concurrent requests.
//!
//! # Design
//!
//! Every event must be durable before the response that depends on it is
//! released, and every event takes the next place in ONE hash chain. Taking
//! the chain's head (a row lock) once per request would serialise all
//! requests of all servers behind that lock, one database round trip
//! after another. Instead each server process runs one writer task:
//!
//! 1. A request hands its events to the writer over a bounded channel,
//!    together with a oneshot sender, and awaits the oneshot.
//! 2. The writer takes the first job waiting, then drains every other job
//!    already queued (up to `MAX_BATCH_EVENTS` events), and appends all of
//!    them in ONE transaction: lock the head, hash and insert the rows in
//!    queue order, move the head, commit (`chain::append`). On PostgreSQL a
//!    writer that knows where it left the head appends after it in one
//!    statement instead, its own transaction (`chain::append_after`: one
//!    round trip, not six), and falls back to the lock when another writer
//!    appended meanwhile.
//! 3. Once the commit has returned, it answers every job of the batch: `Ok`
//!    releases the requests; an error fails them all (nothing of the batch
//!    was committed).
//!
//! While one batch commits, the next one gathers in the channel, so under
//! load a commit carries many requests' events and the number of
//! transactions (and lock acquisitions) grows far slower than the number of
//! requests. Without load a batch is one job and costs one transaction, the
//! same as writing inline.
//!
//! Several server processes on one PostgreSQL each have their own writer;
//! their batches queue on the head row's lock (`SELECT ... FOR UPDATE`),
//! so the database holds one chain and the wait is one batch, not one
//! request. A batch that fails is retried a few times: `seq` and `id` are
//! unique, so an ambiguous commit that did happen cannot be appended twice
//! (the retry then fails, and the requests are told the events may not be
//! durable, which errs on the safe side).
//!
//! Writes that must commit together with their events do not come here:
//! `Audit::record_in` appends within the caller's own transaction.

use std::time::Duration;

use sea_orm::{DatabaseConnection, TransactionTrait};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::chain;
use super::error::AuditError;
use super::event::AuditEvent;

/// Events per transaction at most (a single job larger than this is still
/// appended whole, alone).
const MAX_BATCH_EVENTS: usize = 2000;
/// Jobs that may wait for the writer before `record` waits to hand over.
const QUEUE: usize = 4096;
/// Attempts per batch before its requests are failed.
const ATTEMPTS: u32 = 3;

struct Job {
    events: Vec<AuditEvent>,
    done: oneshot::Sender<Result<(), AuditError>>,
}

/// The requests' end of the writer.
#[derive(Clone)]
pub(super) struct WriterHandle {
    jobs: mpsc::Sender<Job>,
}

impl WriterHandle {
    /// Starts the writer task on the current Tokio runtime. It ends when the
    /// last handle is dropped, after answering every job it was given.
    pub(super) fn spawn(db: DatabaseConnection) -> WriterHandle {
        let (jobs, queue) = mpsc::channel(QUEUE);
        // Its log lines belong to the server that started it.
        tokio::spawn(run(db, queue).instrument(tracing::Span::current()));
        WriterHandle { jobs }
    }

    /// Resolves once `events` are committed (or failed to be).
    pub(super) async fn submit(&self, events: Vec<AuditEvent>) -> Result<(), AuditError> {
        let (done, durable) = oneshot::channel();
        self.jobs
            .send(Job { events, done })
            .await
            .map_err(|_| AuditError::WriterStopped)?;
        durable.await.map_err(|_| AuditError::WriterStopped)?
    }
}

async fn run(db: DatabaseConnection, mut queue: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::new();
    // Where this writer left the head: the next batch appends after it
    // without reading it first, while nobody else has appended since.
    let mut last: Option<chain::Head> = None;
    while let Some(first) = queue.recv().await {
        let mut size = first.events.len();
        batch.push(first);
        while size < MAX_BATCH_EVENTS {
            match queue.try_recv() {
                Ok(job) => {
                    size += job.events.len();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        let result = commit_with_retries(&db, &batch, size, last).await;
        last = result.as_ref().ok().copied();
        let result = result.map(|_| ());
        for job in batch.drain(..) {
            // A request that gave up waiting has dropped its receiver.
            let _ = job.done.send(result.clone());
        }
    }
}

async fn commit_with_retries(
    db: &DatabaseConnection,
    batch: &[Job],
    size: usize,
    last: Option<chain::Head>,
) -> Result<chain::Head, AuditError> {
    let mut attempt = 1;
    loop {
        match commit(db, batch, last).await {
            Ok(head) => {
                tracing::trace!(
                    target: "caregraph::audit",
                    jobs = batch.len(),
                    events = size,
                    head = head.count,
                    "audit batch committed"
                );
                return Ok(head);
            }
            Err(e) if attempt < ATTEMPTS => {
                tracing::warn!(target: "caregraph::audit", error = %e, attempt, "audit batch failed; retrying");
                tokio::time::sleep(Duration::from_millis(25 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(e) => {
                tracing::error!(
                    target: "caregraph::audit",
                    error = %e,
                    jobs = batch.len(),
                    events = size,
                    "audit batch failed; its requests fail"
                );
                return Err(e);
            }
        }
    }
}

/// Appends a batch: after `last` in one statement when the head is still
/// there (`chain::append_after`), else in a transaction under the head's
/// lock (`chain::append`), as the first batch of a writer always is.
async fn commit(
    db: &DatabaseConnection,
    batch: &[Job],
    last: Option<chain::Head>,
) -> Result<chain::Head, AuditError> {
    let events: Vec<&AuditEvent> = batch.iter().flat_map(|job| job.events.iter()).collect();
    if let Some(expected) = last {
        match chain::append_after(db, expected, &events).await {
            Ok(Some(head)) => return Ok(head),
            // Someone else appended: the statement kept nothing of the
            // batch; append under the lock instead.
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(target: "caregraph::audit", error = %e, "fast append refused; appending under the lock");
            }
        }
    }
    let txn = db.begin().await?;
    let head = chain::append(&txn, events.iter().copied()).await?;
    txn.commit().await?;
    Ok(head)
}
