//! Walking the chain: every event must follow the one before (its
//! `prev_hash`), hash to its stored `hash`, sit at the next `seq`, be
//! indexed under exactly the patients it names, and the last one must be
//! the head. The first event that fails is named.

use std::collections::{BTreeMap, BTreeSet};

use caregraph_entity::{audit_event, audit_event_patient};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::canonical::{CanonicalEvent, ChainHash};
use super::chain::{self, Head};
use super::error::VerifyError;
use super::patient_index;

/// Events read per query.
const PAGE: u64 = 1000;

/// A chain that verified.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The head the walk started from and reached.
    pub head: Head,
    /// The hash of the event at the `mark` asked for, if the chain has it
    /// (`GENESIS` for mark 0).
    pub marked: Option<ChainHash>,
}

fn broken(seq: i64, reason: impl Into<String>) -> VerifyError {
    VerifyError::Broken {
        seq,
        reason: reason.into(),
    }
}

/// Verifies every event up to the head as read at the start (events
/// appended meanwhile are left for the next run). `mark`: a `seq` whose
/// hash to report (a checkpoint's).
pub async fn verify_chain(db: &impl ConnectionTrait, mark: Option<i64>) -> Result<Verified, VerifyError> {
    let head = chain::read_head(db).await?;
    let side_table = patient_index::uses_side_table(db.get_database_backend());
    let mut prev = ChainHash::GENESIS;
    let mut expected: i64 = 1;
    let mut marked = (mark == Some(0)).then_some(ChainHash::GENESIS);
    loop {
        let rows = audit_event::Entity::find()
            .filter(audit_event::Column::Seq.gte(expected))
            .filter(audit_event::Column::Seq.lte(head.count))
            .order_by_asc(audit_event::Column::Seq)
            .limit(PAGE)
            .all(db)
            .await?;
        let Some(last) = rows.last().map(|r| r.seq) else {
            break;
        };
        let mut indexed = if side_table {
            side_table_rows(db, expected, last).await?
        } else {
            BTreeMap::new()
        };
        for row in &rows {
            if row.seq != expected {
                return Err(broken(
                    expected,
                    format!("the event is missing (the next stored event is seq {})", row.seq),
                ));
            }
            prev = check_row(row, prev)?;
            let named: BTreeSet<Uuid> = parse_patients(row)?.into_iter().collect();
            if side_table && indexed.remove(&row.seq).unwrap_or_default() != named {
                return Err(broken(
                    row.seq,
                    "the patient index (audit_event_patients) does not match the patients the event names",
                ));
            }
            if mark == Some(row.seq) {
                marked = Some(prev);
            }
            expected += 1;
        }
    }
    let reached = expected - 1;
    if reached != head.count {
        return Err(broken(
            expected,
            format!(
                "the event is missing: the trail ends at seq {reached} but its head records {} events",
                head.count
            ),
        ));
    }
    if prev != head.hash {
        return Err(broken(
            reached,
            "the head's hash is not the hash of the last event",
        ));
    }
    Ok(Verified { head, marked })
}

/// The side table's rows for events `from..=to`, by event (SQLite; on
/// PostgreSQL the index is built by the database from `patient_ids`).
async fn side_table_rows(
    db: &impl ConnectionTrait,
    from: i64,
    to: i64,
) -> Result<BTreeMap<i64, BTreeSet<Uuid>>, VerifyError> {
    let rows = audit_event_patient::Entity::find()
        .filter(audit_event_patient::Column::EventSeq.gte(from))
        .filter(audit_event_patient::Column::EventSeq.lte(to))
        .all(db)
        .await?;
    let mut index: BTreeMap<i64, BTreeSet<Uuid>> = BTreeMap::new();
    for row in rows {
        index.entry(row.event_seq).or_default().insert(row.patient_id);
    }
    Ok(index)
}

fn parse_patients(row: &audit_event::Model) -> Result<Vec<Uuid>, VerifyError> {
    serde_json::from_str(&row.patient_ids)
        .map_err(|_| broken(row.seq, "its patient_ids are not a JSON array of ids"))
}

/// Checks one row against its predecessor's hash; returns its own.
fn check_row(row: &audit_event::Model, prev: ChainHash) -> Result<ChainHash, VerifyError> {
    if ChainHash::from_hex(&row.prev_hash) != Some(prev) {
        return Err(broken(
            row.seq,
            "its prev_hash is not the hash of the event before it (an event was removed, inserted or moved)",
        ));
    }
    let patient_ids = parse_patients(row)?;
    let classes: Vec<String> = serde_json::from_str(&row.field_classes)
        .map_err(|_| broken(row.seq, "its field_classes are not a JSON array of names"))?;
    let classes: Vec<&str> = classes.iter().map(String::as_str).collect();
    let canonical = CanonicalEvent {
        seq: row.seq,
        id: row.id,
        at_micros: row.at.timestamp_micros(),
        actor_id: row.actor_id,
        actor_role: row.actor_role.as_deref(),
        action: &row.action,
        outcome: &row.outcome,
        patient_ids: &patient_ids,
        field_classes: &classes,
        purpose: row.purpose.as_deref(),
        grant_no: row.grant_no.map(i64::from),
        operation_name: row.operation_name.as_deref(),
        request_id: row.request_id,
        client_addr: row.client_addr.as_deref(),
        detail: &row.detail,
    };
    let hash = canonical.hash(prev);
    if ChainHash::from_hex(&row.hash) != Some(hash) {
        return Err(broken(
            row.seq,
            "its contents do not match its hash (the row was edited)",
        ));
    }
    Ok(hash)
}
