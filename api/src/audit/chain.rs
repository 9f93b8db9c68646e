//! Appending to the chain inside a transaction: lock the head, give each
//! event the next `seq` and its hash, insert the rows, move the head.
//!
//! The head row (`audit_head`, id 1) is the only point of agreement between
//! writers: on PostgreSQL it is locked with `SELECT ... FOR UPDATE`, so the
//! appends of several servers queue there and each sees the head the last
//! one committed; on SQLite the append starts with a write to it, which
//! takes the database's write lock (waiting for other writers up to the
//! busy timeout) before anything is read. Either way the lock is held until
//! the surrounding transaction ends, so two transactions never chain onto
//! the same head, and a rolled-back transaction leaves no event behind.
//! `seq` being the primary key and `id` unique back this up in the schema.

use caregraph_entity::{audit_event, audit_event_patient, audit_head};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, Set, Statement,
};
use uuid::Uuid;

use super::canonical::{CanonicalEvent, ChainHash};
use super::event::AuditEvent;
use super::patient_index;

/// Rows per INSERT statement (18 columns each: well under both databases'
/// limits on bound parameters).
const ROWS_PER_INSERT: usize = 500;

/// The chain's state: how many events, and the last one's hash.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub count: i64,
    pub hash: ChainHash,
}

impl Head {
    pub const EMPTY: Head = Head {
        count: 0,
        hash: ChainHash::GENESIS,
    };
}

/// Locks the head row for the rest of the transaction and reads it.
async fn lock_head(txn: &impl ConnectionTrait) -> Result<Head, DbErr> {
    let backend = txn.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => "SELECT count, hash FROM audit_head WHERE id = 1 FOR UPDATE",
        // A write first: the transaction takes SQLite's write lock before it
        // reads, so it cannot read a head another writer is about to move.
        _ => "UPDATE audit_head SET count = count WHERE id = 1 RETURNING count, hash",
    };
    let row = txn
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the audit_head row is missing".into()))?;
    let count: i64 = row.try_get("", "count")?;
    let hash: String = row.try_get("", "hash")?;
    let hash = ChainHash::from_hex(&hash)
        .ok_or_else(|| DbErr::Custom("audit_head holds a malformed hash".into()))?;
    Ok(Head { count, hash })
}

/// The stored form of one event at position `seq` after `prev`, and its hash.
fn link(event: &AuditEvent, seq: i64, prev: ChainHash) -> (audit_event::Model, ChainHash) {
    let classes: Vec<&str> = event.field_classes.iter().map(|c| c.as_str()).collect();
    let client_addr = event.client_addr.map(|a| a.to_string());
    let detail = event.detail.to_json();
    // Grant numbers are small (positions in the policy file).
    let grant_no = event.grant_no.and_then(|n| i32::try_from(n).ok());
    let canonical = CanonicalEvent {
        seq,
        id: event.id,
        at_micros: event.at.timestamp_micros(),
        actor_id: event.actor_id,
        actor_role: event.actor_role.map(|r| r.as_str()),
        action: event.action.as_str(),
        outcome: event.outcome.as_str(),
        patient_ids: &event.patient_ids,
        field_classes: &classes,
        purpose: event.purpose.map(|p| p.as_str()),
        grant_no: grant_no.map(i64::from),
        operation_name: event.operation_name.as_deref(),
        request_id: event.request_id,
        client_addr: client_addr.as_deref(),
        detail: &detail,
    };
    let hash = canonical.hash(prev);
    let row = audit_event::Model {
        seq,
        id: event.id,
        at: event.at,
        actor_id: event.actor_id,
        actor_role: event.actor_role.map(|r| r.as_str().to_owned()),
        action: event.action.as_str().to_owned(),
        outcome: event.outcome.as_str().to_owned(),
        patient_ids: json_array(&event.patient_ids),
        field_classes: json_array(&classes),
        purpose: event.purpose.map(|p| p.as_str().to_owned()),
        grant_no,
        operation_name: event.operation_name.clone(),
        request_id: event.request_id,
        client_addr,
        detail,
        prev_hash: prev.to_hex(),
        hash: hash.to_hex(),
    };
    (row, hash)
}

fn json_array<T: serde::Serialize>(items: &[T]) -> String {
    // Uuids and strings always serialise.
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

/// Appends `events` in order within `txn` (which must be a transaction:
/// the head stays locked until it ends). Returns the new head.
pub async fn append<'e>(
    txn: &impl ConnectionTrait,
    events: impl IntoIterator<Item = &'e AuditEvent>,
) -> Result<Head, DbErr> {
    let start = lock_head(txn).await?;
    let side_table = patient_index::uses_side_table(txn.get_database_backend());
    let Links { head, rows, patients } = Links::after(start, events, side_table);
    if head == start {
        return Ok(head);
    }
    let mut rows = rows.into_iter().map(audit_event::ActiveModel::from).peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        audit_event::Entity::insert_many(chunk)
            .exec_without_returning(txn)
            .await?;
    }
    let mut patients = patients
        .into_iter()
        .map(|(patient_id, seq)| audit_event_patient::ActiveModel {
            patient_id: Set(patient_id),
            event_seq: Set(seq),
        })
        .peekable();
    while patients.peek().is_some() {
        let chunk: Vec<_> = patients.by_ref().take(4 * ROWS_PER_INSERT).collect();
        audit_event_patient::Entity::insert_many(chunk)
            .exec_without_returning(txn)
            .await?;
    }
    let moved = audit_head::Entity::update_many()
        .col_expr(audit_head::Column::Count, Expr::value(head.count))
        .col_expr(audit_head::Column::Hash, Expr::value(head.hash.to_hex()))
        .filter(audit_head::Column::Id.eq(1))
        .filter(audit_head::Column::Count.eq(start.count))
        .exec(txn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(DbErr::Custom("the audit head moved while it was locked".into()));
    }
    Ok(head)
}

/// The rows that append events after a head, and the head they lead to.
struct Links {
    head: Head,
    rows: Vec<audit_event::Model>,
    /// (patient, event seq), each patient once per event.
    patients: Vec<(Uuid, i64)>,
}

impl Links {
    /// `side_table`: also the rows of `audit_event_patients` (see `patient_index`).
    fn after<'e>(start: Head, events: impl IntoIterator<Item = &'e AuditEvent>, side_table: bool) -> Links {
        let mut head = start;
        let mut rows = Vec::new();
        let mut patients = Vec::new();
        for event in events {
            let seq = head.count + 1;
            let (row, hash) = link(event, seq, head.hash);
            head = Head { count: seq, hash };
            rows.push(row);
            if side_table {
                // A patient named twice in one event is indexed once.
                let mut seen: Vec<Uuid> = Vec::with_capacity(event.patient_ids.len());
                for &patient_id in &event.patient_ids {
                    if !seen.contains(&patient_id) {
                        seen.push(patient_id);
                        patients.push((patient_id, seq));
                    }
                }
            }
        }
        Links { head, rows, patients }
    }
}

/// The one statement of `append_after`: moves the head from where this
/// writer left it and, only if it moved, inserts the events, given as a JSON
/// array (their patients are indexed by PostgreSQL itself, see
/// `patient_index`). The text never changes, so each connection prepares it
/// once; the insert reads `moved`, so it happens after the head's update and
/// not at all when that matched no row.
const APPEND_AFTER_SQL: &str = "\
WITH moved AS (\
 UPDATE audit_head SET count = $2, hash = $3 WHERE id = 1 AND count = $4 AND hash = $5 RETURNING count\
), events AS (\
 INSERT INTO audit_events (seq, id, at, actor_id, actor_role, action, outcome, patient_ids, \
 field_classes, purpose, grant_no, operation_name, request_id, client_addr, detail, prev_hash, hash) \
 SELECT e.seq, e.id, e.at, e.actor_id, e.actor_role, e.action, e.outcome, e.patient_ids, \
 e.field_classes, e.purpose, e.grant_no, e.operation_name, e.request_id, e.client_addr, e.detail, \
 e.prev_hash, e.hash \
 FROM jsonb_to_recordset($1::jsonb) AS e(seq bigint, id uuid, at timestamptz, actor_id uuid, \
 actor_role text, action text, outcome text, patient_ids text, field_classes text, purpose text, \
 grant_no integer, operation_name text, request_id uuid, client_addr text, detail text, \
 prev_hash text, hash text) \
 WHERE EXISTS (SELECT 1 FROM moved)\
) SELECT count FROM moved";

/// PostgreSQL only, outside any transaction: appends `events` after
/// `expected` (the head this writer last left) in ONE statement, which
/// PostgreSQL runs as its own transaction: one round trip per batch, where
/// `append` takes six. Under load each round trip costs both processes
/// system calls and wake-ups, so this is the writer's usual path.
///
/// `Ok(None)` when the head is not where the writer left it (another writer
/// appended since): the update matched nothing, so nothing was inserted and
/// the caller must `append` under the lock. If another writer took the same
/// `seq`s and is still committing, the update waits for it and then matches
/// nothing. Any error leaves nothing behind either (one statement).
pub async fn append_after(
    db: &impl ConnectionTrait,
    expected: Head,
    events: &[&AuditEvent],
) -> Result<Option<Head>, DbErr> {
    let backend = db.get_database_backend();
    if backend != DatabaseBackend::Postgres {
        return Ok(None);
    }
    let Links { head, rows, .. } = Links::after(expected, events.iter().copied(), false);
    if head == expected {
        return Ok(Some(head));
    }
    let rows: Vec<RowJson<'_>> = rows.iter().map(RowJson::from).collect();
    // Strings, uuids and numbers always serialise.
    let rows = serde_json::to_string(&rows).map_err(|e| DbErr::Custom(e.to_string()))?;
    let values: Vec<sea_orm::Value> = vec![
        rows.into(),
        head.count.into(),
        head.hash.to_hex().into(),
        expected.count.into(),
        expected.hash.to_hex().into(),
    ];
    let moved = db
        .query_one_raw(Statement::from_sql_and_values(backend, APPEND_AFTER_SQL, values))
        .await?;
    Ok(moved.map(|_| head))
}

/// One stored event as `jsonb_to_recordset` reads it (the column names).
/// The time goes as RFC 3339 to the microsecond, the precision the column
/// and the chain keep.
#[derive(serde::Serialize)]
struct RowJson<'a> {
    seq: i64,
    id: Uuid,
    at: String,
    actor_id: Option<Uuid>,
    actor_role: Option<&'a str>,
    action: &'a str,
    outcome: &'a str,
    patient_ids: &'a str,
    field_classes: &'a str,
    purpose: Option<&'a str>,
    grant_no: Option<i32>,
    operation_name: Option<&'a str>,
    request_id: Option<Uuid>,
    client_addr: Option<&'a str>,
    detail: &'a str,
    prev_hash: &'a str,
    hash: &'a str,
}

impl<'a> From<&'a audit_event::Model> for RowJson<'a> {
    fn from(row: &'a audit_event::Model) -> Self {
        RowJson {
            seq: row.seq,
            id: row.id,
            at: row.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            actor_id: row.actor_id,
            actor_role: row.actor_role.as_deref(),
            action: &row.action,
            outcome: &row.outcome,
            patient_ids: &row.patient_ids,
            field_classes: &row.field_classes,
            purpose: row.purpose.as_deref(),
            grant_no: row.grant_no,
            operation_name: row.operation_name.as_deref(),
            request_id: row.request_id,
            client_addr: row.client_addr.as_deref(),
            detail: &row.detail,
            prev_hash: &row.prev_hash,
            hash: &row.hash,
        }
    }
}

/// Reads the head without locking it.
pub async fn read_head(db: &impl ConnectionTrait) -> Result<Head, DbErr> {
    let row = audit_head::Entity::find_by_id(1)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the audit_head row is missing".into()))?;
    let hash = ChainHash::from_hex(&row.hash)
        .ok_or_else(|| DbErr::Custom("audit_head holds a malformed hash".into()))?;
    Ok(Head {
        count: row.count,
        hash,
    })
}
