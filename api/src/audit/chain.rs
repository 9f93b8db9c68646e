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
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryTrait, Set,
    Statement,
};
use uuid::Uuid;

use super::canonical::{CanonicalEvent, ChainHash};
use super::event::AuditEvent;

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
    let Links { head, rows, patients } = Links::after(start, events);
    if head == start {
        return Ok(head);
    }
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        audit_event::Entity::insert_many(chunk)
            .exec_without_returning(txn)
            .await?;
    }
    let mut patients = patients.into_iter().peekable();
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
    rows: Vec<audit_event::ActiveModel>,
    patients: Vec<audit_event_patient::ActiveModel>,
}

impl Links {
    fn after<'e>(start: Head, events: impl IntoIterator<Item = &'e AuditEvent>) -> Links {
        let mut head = start;
        let mut rows = Vec::new();
        let mut patients = Vec::new();
        for event in events {
            let seq = head.count + 1;
            let (row, hash) = link(event, seq, head.hash);
            head = Head { count: seq, hash };
            // A patient named twice in one event is indexed once.
            let mut seen: Vec<Uuid> = Vec::with_capacity(event.patient_ids.len());
            for &patient_id in &event.patient_ids {
                if !seen.contains(&patient_id) {
                    seen.push(patient_id);
                    patients.push(audit_event_patient::ActiveModel {
                        patient_id: Set(patient_id),
                        event_seq: Set(seq),
                    });
                }
            }
            rows.push(audit_event::ActiveModel::from(row));
        }
        Links { head, rows, patients }
    }
}

/// Bound parameters one fast append may carry (PostgreSQL allows 65535).
const MAX_FAST_PARAMETERS: usize = 30_000;

/// PostgreSQL only, within `txn`: appends `events` after `expected` (the
/// head this writer last left) in ONE statement that inserts the events and
/// their patients and moves the head, without reading it first. Under load
/// each round trip to the database waits for a CPU, so a batch of three
/// (begin, this, commit) is released far sooner than the six of `append`.
///
/// `Ok(None)` when the head is not where the writer left it (another writer
/// appended since): the statement then moved nothing and the caller must
/// roll back and `append` under the lock. If another writer took the same
/// `seq`s first, the insert fails on the primary key instead; either way
/// nothing of this batch stays. Returns `Ok(None)` too for a batch too large
/// for one statement.
pub async fn append_after(
    txn: &impl ConnectionTrait,
    expected: Head,
    events: &[&AuditEvent],
) -> Result<Option<Head>, DbErr> {
    let backend = txn.get_database_backend();
    if backend != DatabaseBackend::Postgres {
        return Ok(None);
    }
    let Links { head, rows, patients } = Links::after(expected, events.iter().copied());
    if head == expected {
        return Ok(Some(head));
    }
    let inserted = audit_event::Entity::insert_many(rows).build(backend);
    let indexed =
        (!patients.is_empty()).then(|| audit_event_patient::Entity::insert_many(patients).build(backend));
    let mut values = inserted.values.map(|v| v.0).unwrap_or_default();
    let mut sql = format!("WITH events AS ({})", inserted.sql);
    if let Some(indexed) = indexed {
        let shifted = shift_placeholders(&indexed.sql, values.len());
        values.extend(indexed.values.map(|v| v.0).unwrap_or_default());
        sql.push_str(&format!(", patients AS ({shifted})"));
    }
    let n = values.len();
    sql.push_str(&format!(
        " UPDATE audit_head SET count = ${}, hash = ${} WHERE id = 1 AND count = ${} AND hash = ${} RETURNING count",
        n + 1,
        n + 2,
        n + 3,
        n + 4
    ));
    if n + 4 > MAX_FAST_PARAMETERS {
        return Ok(None);
    }
    values.extend([
        head.count.into(),
        head.hash.to_hex().into(),
        expected.count.into(),
        expected.hash.to_hex().into(),
    ]);
    let moved = txn
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(moved.map(|_| head))
}

/// `$1`, `$2`, ... of a statement renumbered from `offset + 1`, to join it
/// to another statement's parameters. Statements built by SeaORM hold no
/// other `$` (every value is a parameter).
fn shift_placeholders(sql: &str, offset: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '$' {
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            match digits.parse::<usize>() {
                Ok(n) => out.push_str(&(n + offset).to_string()),
                Err(_) => out.push_str(&digits),
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::shift_placeholders;

    #[test]
    fn placeholders_are_renumbered_after_an_offset() {
        assert_eq!(
            shift_placeholders("INSERT INTO t (a, b) VALUES ($1, $2), ($3, $10)", 4),
            "INSERT INTO t (a, b) VALUES ($5, $6), ($7, $14)"
        );
    }
}
