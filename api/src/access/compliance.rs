//! The audit trail read back: a patient's accounting of disclosures
//! (`myAccessLog`, class ACCESS_LOG, scope SELF) and the compliance console
//! (`auditEvents`, `accessReview`, `exportAuditEvents`, class AUDIT_TRAIL).
//!
//! Every list is filtered in SQL (by patient through the
//! patient index, see `audit::names_patient`) and paged by the chain position `seq`.
//! Reading the trail is itself recorded: a search or the account review as
//! AUDIT_SEARCH, an export as EXPORT, a patient's look at their own log as
//! a READ of ACCESS_LOG (which never shows in that log: it is their own).

use std::collections::HashMap;

use async_graphql::{ID, SimpleObject};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use caregraph_entity::{audit_event, user};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, Condition, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::Caller;
use super::disclosure::{Disclosed, Subject};
use super::visibility;
use crate::audit::{AuditAction, AuditEvent, Detail, Outcome};
use crate::auth::Principal;
use crate::domain::{page_size, parse_id, split_page};
use crate::error::{AppError, AppResult};
use crate::policy::{Action, Decision, FieldClass, Purpose, Role, Scope};

const DEFAULT_PAGE: u64 = 50;
const MAX_PAGE: u64 = 100;
/// The most rows one export may hold; a larger one must be narrowed.
pub const MAX_EXPORT_ROWS: u64 = 100_000;
/// An account with no successful login for this long is dormant.
pub const DORMANT_AFTER_DAYS: i64 = 90;

/// What a patient's accounting of disclosures lists: what others did with
/// the record, not the trail's bookkeeping (logins, searches, refusals).
const DISCLOSING: [(AuditAction, Outcome); 5] = [
    (AuditAction::Read, Outcome::Allowed),
    (AuditAction::Write, Outcome::Success),
    (AuditAction::Create, Outcome::Success),
    (AuditAction::Delete, Outcome::Success),
    (AuditAction::BreakGlass, Outcome::Success),
];

/// The opaque cursor of an event: its chain position.
pub fn cursor_of(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(seq.to_be_bytes())
}

fn parse_cursor(cursor: &str) -> AppResult<i64> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .map(i64::from_be_bytes)
        .ok_or_else(|| AppError::bad_input("after is not a cursor of this list"))
}

/// One access to the caller's own record by someone else.
#[derive(SimpleObject, Clone)]
#[graphql(visible = "visibility::reads_access_log")]
pub struct AccessLogEntry {
    /// The audit event's id: quote it when asking the clinic about this access.
    pub id: ID,
    #[graphql(skip)]
    pub seq: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who: the name of their account (never their contact data); null if
    /// the account no longer exists.
    pub actor_name: Option<String>,
    /// Their role at the time.
    pub actor_role: Option<Role>,
    /// READ, WRITE, CREATE, DELETE, or BREAK_GLASS (an emergency opening of
    /// the record).
    pub action: String,
    /// Which parts of the record.
    pub field_classes: Vec<FieldClass>,
    /// Why (the purpose the policy grant declares).
    pub purpose: Option<Purpose>,
    /// Whether it happened under break-glass (emergency access).
    pub under_break_glass: bool,
}

/// A page of the accounting of disclosures, newest first.
pub struct AccessLogPage {
    pub entries: Vec<AccessLogEntry>,
    pub has_next_page: bool,
}

/// One event of the audit trail, as the compliance console shows it: ids,
/// codes and field names only.
#[derive(SimpleObject, Clone)]
#[graphql(name = "AuditEvent", visible = "visibility::reads_audit_trail")]
pub struct AuditEventView {
    /// The chain position: 1, 2, 3, ...
    pub seq: i64,
    pub id: ID,
    /// When it happened (to the microsecond).
    pub at: DateTime<Utc>,
    /// The account that acted; null for an unknown caller.
    pub actor_id: Option<ID>,
    /// Its role at the time.
    pub actor_role: Option<Role>,
    /// READ, WRITE, CREATE, DELETE, EXPORT, LOGIN, LOGIN_FAILED, LOGOUT,
    /// REFRESH, TOKEN_REFUSED, ACCOUNT_CHANGE, ROLE_CHANGE,
    /// ASSIGNMENT_CHANGE, POLICY_CHANGE, EXPLAIN_ACCESS, ACCOUNT_REQUEST,
    /// ACCOUNT_APPROVAL, ENROLMENT, BREAK_GLASS, BREAK_GLASS_REVIEW,
    /// AUDIT_SEARCH, RESEARCH_RELEASE, MFA_ENROLMENT, REAUTHENTICATION, ELEVATION.
    pub action: String,
    /// ALLOWED, DENIED or NOT_FOUND for reads of patient data; SUCCESS or
    /// FAILURE otherwise.
    pub outcome: String,
    /// The patients the event concerns.
    pub patient_ids: Vec<ID>,
    pub field_classes: Vec<FieldClass>,
    pub purpose: Option<Purpose>,
    /// The number of the policy grant that allowed it.
    pub grant_no: Option<i32>,
    /// The `x-request-id` of the request.
    pub request_id: Option<ID>,
    /// The GraphQL operation name the client gave.
    pub operation_name: Option<String>,
    /// The client's IP address as the server's socket saw it.
    pub client_addr: Option<String>,
    /// A JSON object of ids, counts, codes and field names.
    pub detail: String,
    #[graphql(skip)]
    pub hash: String,
}

pub struct AuditEventPage {
    pub events: Vec<AuditEventView>,
    pub has_next_page: bool,
}

/// Which audit events: every given part must hold (none given: all events).
// The GraphQL input of auditEvents and exportAuditEvents itself, checked by
// `parse` before any query.
#[derive(async_graphql::InputObject, Clone, Debug, Default)]
#[graphql(name = "AuditEventFilter", visible = "visibility::reads_audit_trail")]
pub struct AuditFilter {
    /// Events that name this patient.
    pub patient_id: Option<ID>,
    /// Events by this account.
    pub actor_id: Option<ID>,
    /// An audit action, e.g. READ, WRITE, LOGIN_FAILED, BREAK_GLASS, EXPORT
    /// (see `AuditEvent.action`); anything else is BAD_USER_INPUT.
    pub action: Option<String>,
    /// ALLOWED, DENIED, NOT_FOUND, SUCCESS or FAILURE.
    pub outcome: Option<String>,
    /// At or after this time.
    pub from: Option<DateTime<Utc>>,
    /// At or before this time; before `from` is BAD_USER_INPUT.
    pub to: Option<DateTime<Utc>>,
}

/// A filter checked against the vocabulary.
struct ParsedFilter {
    patient: Option<Uuid>,
    actor: Option<Uuid>,
    action: Option<AuditAction>,
    outcome: Option<Outcome>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

impl AuditFilter {
    fn parse(&self) -> AppResult<ParsedFilter> {
        fn code<T>(what: &str, raw: &Option<String>, parse: fn(&str) -> Option<T>) -> AppResult<Option<T>> {
            match raw {
                None => Ok(None),
                Some(raw) => parse(&raw.trim().to_ascii_uppercase()).map(Some).ok_or_else(|| {
                    AppError::bad_input(format!("{what} is not one of the audit trail's codes"))
                }),
            }
        }
        let action = code("action", &self.action, AuditAction::parse)?;
        let outcome = code("outcome", &self.outcome, Outcome::parse)?;
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return Err(AppError::bad_input("from is after to"));
        }
        Ok(ParsedFilter {
            patient: self
                .patient_id
                .as_deref()
                .map(|p| parse_id("patientId", p))
                .transpose()?,
            actor: self
                .actor_id
                .as_deref()
                .map(|a| parse_id("actorId", a))
                .transpose()?,
            action,
            outcome,
            from: self.from,
            to: self.to,
        })
    }
}

impl ParsedFilter {
    fn condition(&self, backend: DatabaseBackend) -> Condition {
        let mut condition = Condition::all();
        if let Some(patient) = self.patient {
            condition = condition.add(crate::audit::names_patient(backend, patient));
        }
        if let Some(actor) = self.actor {
            condition = condition.add(audit_event::Column::ActorId.eq(actor));
        }
        if let Some(action) = self.action {
            condition = condition.add(audit_event::Column::Action.eq(action.as_str()));
        }
        if let Some(outcome) = self.outcome {
            condition = condition.add(audit_event::Column::Outcome.eq(outcome.as_str()));
        }
        if let Some(from) = self.from {
            condition = condition.add(audit_event::Column::At.gte(from));
        }
        if let Some(to) = self.to {
            condition = condition.add(audit_event::Column::At.lte(to));
        }
        condition
    }

    /// The filter as the AUDIT_SEARCH or EXPORT event records it: ids and
    /// codes (times as microseconds since the epoch).
    fn detail(&self, mut detail: Detail) -> Detail {
        if let Some(actor) = self.actor {
            detail = detail.id("actorId", actor);
        }
        if let Some(action) = self.action {
            detail = detail.code("action", action.as_str());
        }
        if let Some(outcome) = self.outcome {
            detail = detail.code("outcome", outcome.as_str());
        }
        if let Some(from) = self.from {
            detail = detail.count("from", from.timestamp_micros());
        }
        if let Some(to) = self.to {
            detail = detail.count("to", to.timestamp_micros());
        }
        detail
    }
}

fn stored_role(code: Option<&str>) -> AppResult<Option<Role>> {
    code.map(|c| Role::parse(c).ok_or_else(|| AppError::Internal("stored role is unknown".into())))
        .transpose()
}

fn stored_purpose(code: Option<&str>) -> AppResult<Option<Purpose>> {
    code.map(|c| Purpose::parse(c).ok_or_else(|| AppError::Internal("stored purpose is unknown".into())))
        .transpose()
}

fn stored_classes(json: &str) -> AppResult<Vec<FieldClass>> {
    let codes: Vec<String> = serde_json::from_str(json)
        .map_err(|_| AppError::Internal("stored field classes are not a list".into()))?;
    codes
        .iter()
        .map(|c| {
            FieldClass::ALL
                .into_iter()
                .find(|class| class.as_str() == c)
                .ok_or_else(|| AppError::Internal("stored field class is unknown".into()))
        })
        .collect()
}

fn stored_ids(json: &str) -> AppResult<Vec<Uuid>> {
    serde_json::from_str(json).map_err(|_| AppError::Internal("stored patient ids are not a list".into()))
}

impl TryFrom<audit_event::Model> for AuditEventView {
    type Error = AppError;

    fn try_from(m: audit_event::Model) -> AppResult<Self> {
        Ok(AuditEventView {
            seq: m.seq,
            id: ID(m.id.to_string()),
            at: m.at,
            actor_id: m.actor_id.map(|a| ID(a.to_string())),
            actor_role: stored_role(m.actor_role.as_deref())?,
            action: m.action,
            outcome: m.outcome,
            patient_ids: stored_ids(&m.patient_ids)?
                .into_iter()
                .map(|p| ID(p.to_string()))
                .collect(),
            field_classes: stored_classes(&m.field_classes)?,
            purpose: stored_purpose(m.purpose.as_deref())?,
            grant_no: m.grant_no,
            request_id: m.request_id.map(|r| ID(r.to_string())),
            operation_name: m.operation_name,
            client_addr: m.client_addr,
            detail: m.detail,
            hash: m.hash,
        })
    }
}

/// One account, as the access review shows it.
#[derive(SimpleObject, Clone)]
#[graphql(visible = "visibility::reads_audit_trail")]
pub struct AccountReview {
    pub user_id: ID,
    pub name: String,
    pub role: Role,
    /// Whether the account can log in (false once deactivated; also false
    /// for an account requested and not yet enrolled).
    pub active: bool,
    /// The last successful login, from the audit trail's LOGIN events.
    pub last_login_at: Option<DateTime<Utc>>,
    /// No successful login in the last 90 days, or never.
    pub dormant: bool,
    /// The role can change or approve accounts, read the audit trail, or
    /// read some class of patient data of every patient (a grant scoped
    /// ANY).
    pub privileged: bool,
    /// How many times this account opened a patient under break-glass
    /// (BREAK_GLASS events that succeeded).
    pub break_glass_count: i64,
}

/// An export of the audit trail as CSV.
#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_audit_trail")]
pub struct AuditExport {
    /// RFC 4180 CSV with a header row, one row per event in chain order.
    /// A cell that a spreadsheet would take for a formula (starting with
    /// `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'`.
    pub csv: String,
    /// How many events it holds.
    pub rows: i64,
    /// The trail's length when the export was taken: events after this one
    /// are not in it, whatever the filter (0 for an empty trail).
    pub through_seq: i64,
}

/// The CSV columns, in order.
const CSV_HEADER: [&str; 16] = [
    "seq",
    "id",
    "at",
    "actor_id",
    "actor_role",
    "action",
    "outcome",
    "patient_ids",
    "field_classes",
    "purpose",
    "grant_no",
    "request_id",
    "operation_name",
    "client_addr",
    "detail",
    "hash",
];

/// One CSV cell: defused against formula injection, then quoted where RFC
/// 4180 needs it (a comma, a quote, CR or LF), quotes doubled.
pub(crate) fn csv_cell(value: &str) -> String {
    let defused = match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    };
    if defused.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

fn csv_row(out: &mut String, cells: impl IntoIterator<Item = String>) {
    let row: Vec<String> = cells.into_iter().map(|c| csv_cell(&c)).collect();
    out.push_str(&row.join(","));
    out.push_str("\r\n");
}

fn csv_of(events: &[AuditEventView]) -> String {
    let mut out = String::new();
    csv_row(&mut out, CSV_HEADER.iter().map(|h| (*h).to_owned()));
    let join = |items: Vec<String>| items.join(" ");
    for e in events {
        csv_row(
            &mut out,
            [
                e.seq.to_string(),
                e.id.to_string(),
                e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                e.actor_id.as_ref().map(|a| a.to_string()).unwrap_or_default(),
                e.actor_role.map(|r| r.as_str().to_owned()).unwrap_or_default(),
                e.action.clone(),
                e.outcome.clone(),
                join(e.patient_ids.iter().map(|p| p.to_string()).collect()),
                join(e.field_classes.iter().map(|c| c.as_str().to_owned()).collect()),
                e.purpose.map(|p| p.as_str().to_owned()).unwrap_or_default(),
                e.grant_no.map(|g| g.to_string()).unwrap_or_default(),
                e.request_id.as_ref().map(|r| r.to_string()).unwrap_or_default(),
                e.operation_name.clone().unwrap_or_default(),
                e.client_addr.clone().unwrap_or_default(),
                e.detail.clone(),
                e.hash.clone(),
            ],
        );
    }
    out
}

impl Caller {
    /// The event of reading the trail itself.
    fn trail_event(&self, principal: Principal, action: AuditAction, filter: &ParsedFilter) -> AuditEvent {
        AuditEvent::new(action, Outcome::Success)
            .actor(principal.user_id, Some(principal.role))
            .patients(filter.patient)
    }

    /// The caller's accounting of disclosures: allowed reads and writes of
    /// their own record by other people, newest first. A PATIENT only.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn my_access_log(
        &self,
        first: Option<i32>,
        after: Option<&str>,
    ) -> AppResult<Disclosed<AccessLogPage>> {
        let principal = self.require(Action::Read, FieldClass::AccessLog)?;
        let limit = page_size(first, DEFAULT_PAGE, MAX_PAGE)?;
        let before = after.map(parse_cursor).transpose()?;
        // SELF is the only scope in which one's own record is reachable here.
        let own = principal.patient_id.filter(|_| {
            matches!(
                self.policy.decide(
                    principal.role,
                    Action::Read,
                    FieldClass::AccessLog,
                    crate::policy::Relationships::none().with(Scope::OwnRecord),
                ),
                Decision::Allow { .. }
            )
        });
        let Some(patient) = own else {
            return Err(AppError::forbidden("only a patient's own access log can be read"));
        };
        let disclosing = DISCLOSING
            .iter()
            .fold(Condition::any(), |any, (action, outcome)| {
                any.add(
                    Condition::all()
                        .add(audit_event::Column::Action.eq(action.as_str()))
                        .add(audit_event::Column::Outcome.eq(outcome.as_str())),
                )
            });
        let mut query = audit_event::Entity::find()
            .filter(crate::audit::names_patient(
                self.db.get_database_backend(),
                patient,
            ))
            .filter(disclosing)
            .filter(audit_event::Column::ActorId.is_not_null())
            .filter(audit_event::Column::ActorId.ne(principal.user_id));
        if let Some(before) = before {
            query = query.filter(audit_event::Column::Seq.lt(before));
        }
        let rows = query
            .order_by_desc(audit_event::Column::Seq)
            .limit(limit + 1)
            .all(&self.db)
            .await?;
        let (rows, has_next_page) = split_page(rows, limit);
        let actors: Vec<Uuid> = rows.iter().filter_map(|r| r.actor_id).collect();
        let names: HashMap<Uuid, String> = if actors.is_empty() {
            HashMap::new()
        } else {
            user::Entity::find()
                .select_only()
                .column(user::Column::Id)
                .column(user::Column::Name)
                .filter(user::Column::Id.is_in(actors))
                .into_tuple::<(Uuid, String)>()
                .all(&self.db)
                .await?
                .into_iter()
                .collect()
        };
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            let purpose = stored_purpose(row.purpose.as_deref())?;
            entries.push(AccessLogEntry {
                id: ID(row.id.to_string()),
                seq: row.seq,
                at: row.at,
                actor_name: row.actor_id.and_then(|a| names.get(&a).cloned()),
                actor_role: stored_role(row.actor_role.as_deref())?,
                under_break_glass: purpose == Some(Purpose::Emergency)
                    || row.action == AuditAction::BreakGlass.as_str(),
                action: row.action,
                field_classes: stored_classes(&row.field_classes)?,
                purpose,
            });
        }
        Ok(self.disclose_own(
            AuditAction::Read,
            Subject::Patient(patient),
            FieldClass::AccessLog,
            AccessLogPage {
                entries,
                has_next_page,
            },
        ))
    }

    /// The audit trail, filtered and in chain order; the search itself is
    /// an AUDIT_SEARCH event.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn audit_events(
        &self,
        filter: AuditFilter,
        first: Option<i32>,
        after: Option<&str>,
    ) -> AppResult<AuditEventPage> {
        let principal = self.require(Action::Read, FieldClass::AuditTrail)?;
        let parsed = filter.parse()?;
        let limit = page_size(first, DEFAULT_PAGE, MAX_PAGE)?;
        let after = after.map(parse_cursor).transpose()?;
        let mut query = audit_event::Entity::find().filter(parsed.condition(self.db.get_database_backend()));
        if let Some(after) = after {
            query = query.filter(audit_event::Column::Seq.gt(after));
        }
        let rows = query
            .order_by_asc(audit_event::Column::Seq)
            .limit(limit + 1)
            .all(&self.db)
            .await?;
        let (rows, has_next_page) = split_page(rows, limit);
        let events = rows
            .into_iter()
            .map(AuditEventView::try_from)
            .collect::<AppResult<Vec<_>>>()?;
        let detail = parsed.detail(
            Detail::new()
                .code("view", "auditEvents")
                .count("rows", events.len() as i64),
        );
        self.events.push(
            self.trail_event(principal, AuditAction::AuditSearch, &parsed)
                .classes([FieldClass::AuditTrail])
                .detail(detail),
        );
        Ok(AuditEventPage {
            events,
            has_next_page,
        })
    }

    /// Every account with its role, last login, dormancy, privilege and
    /// break-glass count: three statements, aggregated in SQL.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn access_review(&self) -> AppResult<Vec<AccountReview>> {
        let principal = self.require(Action::Read, FieldClass::AuditTrail)?;
        let accounts = user::Entity::find()
            .order_by_asc(user::Column::Role)
            .order_by_asc(user::Column::Name)
            .order_by_asc(user::Column::Id)
            .all(&self.db)
            .await?;
        let last_logins: HashMap<Uuid, DateTime<Utc>> = audit_event::Entity::find()
            .select_only()
            .column(audit_event::Column::ActorId)
            .column_as(
                Expr::expr(Func::max(Expr::col(audit_event::Column::At))),
                "last_login",
            )
            .filter(audit_event::Column::Action.eq(AuditAction::Login.as_str()))
            .filter(audit_event::Column::Outcome.eq(Outcome::Success.as_str()))
            .filter(audit_event::Column::ActorId.is_not_null())
            .group_by(audit_event::Column::ActorId)
            .into_tuple::<(Uuid, DateTime<Utc>)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        let break_glass: HashMap<Uuid, i64> = audit_event::Entity::find()
            .select_only()
            .column(audit_event::Column::ActorId)
            .column_as(
                Expr::expr(Func::count(Expr::col(audit_event::Column::Seq))),
                "opened",
            )
            .filter(audit_event::Column::Action.eq(AuditAction::BreakGlass.as_str()))
            .filter(audit_event::Column::Outcome.eq(Outcome::Success.as_str()))
            .filter(audit_event::Column::ActorId.is_not_null())
            .group_by(audit_event::Column::ActorId)
            .into_tuple::<(Uuid, i64)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        let dormant_before = Utc::now() - Duration::days(DORMANT_AFTER_DAYS);
        let mut review = Vec::with_capacity(accounts.len());
        for account in accounts {
            let role = Role::parse(&account.role)
                .ok_or_else(|| AppError::Internal("stored role is unknown".into()))?;
            let last_login_at = last_logins.get(&account.id).copied();
            review.push(AccountReview {
                user_id: ID(account.id.to_string()),
                name: account.name,
                role,
                active: account.active,
                last_login_at,
                dormant: last_login_at.is_none_or(|at| at < dormant_before),
                privileged: self.privileged(role),
                break_glass_count: break_glass.get(&account.id).copied().unwrap_or(0),
            });
        }
        self.events.push(
            AuditEvent::new(AuditAction::AuditSearch, Outcome::Success)
                .actor(principal.user_id, Some(principal.role))
                .classes([FieldClass::AuditTrail])
                .detail(
                    Detail::new()
                        .code("view", "accessReview")
                        .count("rows", review.len() as i64),
                ),
        );
        Ok(review)
    }

    /// Privileged: may change or approve accounts, read the audit trail, or
    /// read some class of patient data of every patient (scope ANY).
    fn privileged(&self, role: Role) -> bool {
        let changes_accounts = [Action::Create, Action::Write, Action::Delete]
            .into_iter()
            .any(|a| self.policy.could_ever(role, a, FieldClass::Accounts))
            || self
                .policy
                .could_ever(role, Action::Write, FieldClass::AccountApprovals);
        let reads_trail = self.policy.could_ever(role, Action::Read, FieldClass::AuditTrail);
        let reads_everyone = self.policy.grants_of(role).any(|g| {
            g.scope == Scope::Any
                && g.actions.contains(&Action::Read)
                && g.classes.iter().any(|c| c.is_patient_data())
        });
        changes_accounts || reads_trail || reads_everyone
    }

    /// The filtered trail as CSV, up to the trail's length now; refused
    /// (BAD_USER_INPUT) above `MAX_EXPORT_ROWS`. Recorded as an EXPORT event
    /// before the CSV leaves.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn export_audit_events(&self, filter: AuditFilter) -> AppResult<AuditExport> {
        let principal = self.require(Action::Read, FieldClass::AuditTrail)?;
        self.sessions.require_recent_authentication(&principal)?;
        let parsed = filter.parse()?;
        let through_seq: i64 = audit_event::Entity::find()
            .select_only()
            .column_as(
                Expr::expr(Func::max(Expr::col(audit_event::Column::Seq))),
                "through",
            )
            .into_tuple::<Option<i64>>()
            .one(&self.db)
            .await?
            .flatten()
            .unwrap_or(0);
        let query = audit_event::Entity::find()
            .filter(parsed.condition(self.db.get_database_backend()))
            .filter(audit_event::Column::Seq.lte(through_seq));
        let count = query.clone().count(&self.db).await?;
        if count > MAX_EXPORT_ROWS {
            return Err(AppError::bad_input(format!(
                "the export would hold {count} events, more than {MAX_EXPORT_ROWS}: narrow the filter (e.g. from and to)"
            )));
        }
        let events = query
            .order_by_asc(audit_event::Column::Seq)
            .all(&self.db)
            .await?
            .into_iter()
            .map(AuditEventView::try_from)
            .collect::<AppResult<Vec<_>>>()?;
        let csv = csv_of(&events);
        let rows = events.len() as i64;
        let detail = parsed.detail(
            Detail::new()
                .code("view", "exportAuditEvents")
                .code("format", "csv")
                .count("rows", rows)
                .count("throughSeq", through_seq),
        );
        // Durable before the CSV leaves: an export nobody can see in the
        // trail must not happen.
        self.audit
            .record_one(
                self.trail_event(principal, AuditAction::Export, &parsed)
                    .classes([FieldClass::AuditTrail])
                    .detail(detail),
            )
            .await?;
        tracing::info!(target: "caregraph::security", user_id = %principal.user_id, rows, through_seq, "audit trail exported");
        Ok(AuditExport {
            csv,
            rows,
            through_seq,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_as_rfc_4180_says() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell(""), "");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("cr\rhere"), "\"cr\rhere\"");
        assert_eq!(
            csv_cell(r#"{"changed":["phone","address"]}"#),
            r#""{""changed"":[""phone"",""address""]}""#
        );
    }

    #[test]
    fn csv_cells_never_start_a_formula() {
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            let cell = csv_cell(formula);
            let unquoted = cell.trim_start_matches('"');
            assert!(unquoted.starts_with('\''), "{formula:?} became {cell:?}");
        }
        assert_eq!(
            csv_cell("=HYPERLINK(\"x\",\"y\")"),
            "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\""
        );
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        for seq in [1, 42, i64::MAX] {
            assert_eq!(parse_cursor(&cursor_of(seq)).unwrap(), seq);
        }
        assert!(parse_cursor("not a cursor").is_err());
        assert!(parse_cursor(&URL_SAFE_NO_PAD.encode([1u8, 2, 3])).is_err());
    }

    #[test]
    fn a_filter_is_checked_against_the_vocabulary() {
        let now = Utc::now();
        let bad = |f: AuditFilter| matches!(f.parse(), Err(AppError::BadUserInput(_)));
        assert!(bad(AuditFilter {
            action: Some("PEEK".into()),
            ..Default::default()
        }));
        assert!(bad(AuditFilter {
            outcome: Some("MAYBE".into()),
            ..Default::default()
        }));
        assert!(bad(AuditFilter {
            from: Some(now),
            to: Some(now - Duration::seconds(1)),
            ..Default::default()
        }));
        assert!(bad(AuditFilter {
            patient_id: Some(ID::from("nope")),
            ..Default::default()
        }));
        let ok = AuditFilter {
            action: Some("read".into()),
            outcome: Some("ALLOWED".into()),
            from: Some(now),
            to: Some(now),
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!(ok.action, Some(AuditAction::Read));
    }
}
