//! The audit trail: one row per event, in chain order (see `api/src/audit/`).
//! Ids, codes and field names only; never a value of patient data.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    /// The chain position: 1, 2, 3, ... assigned by the writer.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    #[sea_orm(unique)]
    pub id: Uuid,
    /// When it happened (to the microsecond).
    pub at: DateTimeUtc,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<String>,
    /// READ, WRITE, LOGIN, LOGIN_FAILED, ...
    pub action: String,
    /// ALLOWED, DENIED, NOT_FOUND, SUCCESS, FAILURE.
    pub outcome: String,
    /// JSON array of patient ids.
    pub patient_ids: String,
    /// JSON array of field class names.
    pub field_classes: String,
    /// TREATMENT, PAYMENT, OPERATIONS, EMERGENCY, RESEARCH.
    pub purpose: Option<String>,
    /// The number of the policy grant that allowed it.
    pub grant_no: Option<i32>,
    pub operation_name: Option<String>,
    pub request_id: Option<Uuid>,
    /// The client's IP address as the server's socket saw it.
    pub client_addr: Option<String>,
    /// A JSON object of ids, field names and counts.
    pub detail: String,
    /// The hash of the event before (hex); 64 zeros for the first.
    pub prev_hash: String,
    /// SHA-256 of `prev_hash` and this event's canonical encoding (hex).
    pub hash: String,
}

crate::debug_shows_only!(seq, id, at, actor_id, action, outcome, hash);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
