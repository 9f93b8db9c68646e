//! One-time enrolment codes with which a person sets the password of their
//! own account. The code is split when a second person must approve: the
//! requester holds one half, the approver the other.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_enrolments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `STAFF_ACCOUNT`, `PATIENT_ACCOUNT` or `REACTIVATION`.
    pub kind: String,
    /// The account being enrolled. A new account (staff or patient) is
    /// created at enrolment, under this id; a re-activation names an
    /// existing one.
    pub account_id: Uuid,
    /// Patient invitations: the record the account will belong to.
    pub patient_id: Option<Uuid>,
    /// New accounts: the e-mail the account will log in with.
    pub email: Option<String>,
    /// Staff requests: the name, role and department of the account.
    pub name: Option<String>,
    pub role: Option<String>,
    pub department_id: Option<Uuid>,
    pub requested_by: Uuid,
    pub requested_at: DateTimeUtc,
    /// SHA-256 of the requester's half of the code; the code is never stored.
    #[sea_orm(unique)]
    pub request_hash: String,
    pub needs_approval: bool,
    pub approved_by: Option<Uuid>,
    pub approved_at: Option<DateTimeUtc>,
    /// SHA-256 of the approver's half.
    pub approval_hash: Option<String>,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
    /// Redemption attempts, counted before each is evaluated.
    pub attempts: i32,
}

crate::debug_shows_only!(
    id,
    kind,
    account_id,
    patient_id,
    needs_approval,
    expires_at,
    used_at,
    attempts
);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
