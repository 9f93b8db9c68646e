//! Enrolment: every account that can log in is created (or re-opened) when
//! the person it belongs to redeems a one-time code and chooses their own
//! password. Nobody who hands out a code ever knows the password.
//!
//! Four eyes with split knowledge: a staff account, a re-activation and the
//! re-invitation of a patient who had an account are requested by one person
//! and approved by a different one (an ADMIN or a COMPLIANCE_OFFICER); each
//! holds half of the code, and only both halves together enrol. A first
//! patient invitation needs no second person: the patient proves who they
//! are with the national id on their record, which the desk cannot read;
//! the desk's guesses are capped per record, not per code, so fresh
//! invitations buy no more guesses without a second person.
//!
//! Requests are never deleted once issued, only superseded (expired): who
//! asked for an account is remembered, and nobody who ever asked approves it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use caregraph_entity::{account_enrolment, patient, user};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use uuid::Uuid;

use super::Caller;
use crate::audit::{AuditAction, AuditEvent, Detail, Outcome};
use crate::auth::{password, password_policy};
use crate::domain::{Email, Password, parse_id, sha256_hex};
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass, Role};

pub const CODE_LIFETIME_HOURS: i64 = 72;
/// Redemptions evaluated per code, whatever the concurrency.
pub const MAX_ATTEMPTS: i32 = 5;
/// 16 random bytes, URL-safe base64: 22 characters per half.
const HALF_BYTES: usize = 16;
const HALF_LEN: usize = 22;

/// Why a code was issued; stored as text and read back strictly.
#[derive(Copy, Clone, Debug, PartialEq, Eq, async_graphql::Enum)]
pub enum EnrolmentKind {
    /// A new staff account, requested by an administrator.
    StaffAccount,
    /// A patient invited by the desk to read their own record.
    PatientAccount,
    /// A deactivated (or never enrolled) staff account opened again.
    Reactivation,
}

impl EnrolmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EnrolmentKind::StaffAccount => "STAFF_ACCOUNT",
            EnrolmentKind::PatientAccount => "PATIENT_ACCOUNT",
            EnrolmentKind::Reactivation => "REACTIVATION",
        }
    }

    fn parse(stored: &str) -> AppResult<EnrolmentKind> {
        [
            EnrolmentKind::StaffAccount,
            EnrolmentKind::PatientAccount,
            EnrolmentKind::Reactivation,
        ]
        .into_iter()
        .find(|k| k.as_str() == stored)
        .ok_or_else(|| AppError::Internal(format!("stored enrolment kind {stored:?} is unknown")))
    }
}

/// What the requester receives: their half of the code (the whole code when
/// no approval is needed).
pub struct EnrolmentCode {
    pub account_id: Uuid,
    pub code: String,
    pub expires_at: DateTime<Utc>,
    pub needs_approval: bool,
}

/// An open request waiting for (or holding) a second person's approval,
/// with what the approver needs to judge it.
pub struct AccountRequest {
    pub account_id: Uuid,
    pub kind: EnrolmentKind,
    /// The role the account will have.
    pub role: Role,
    /// Staff accounts: the name; `None` for a patient (see `patient_id`).
    pub name: Option<String>,
    /// The address the account will log in with: the approver checks it is
    /// the owner's, not the requester's.
    pub email: String,
    pub patient_id: Option<Uuid>,
    pub requested_by: Uuid,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Re-activations: when the account was closed.
    pub deactivated_at: Option<DateTime<Utc>>,
    pub approved: bool,
}

fn new_half() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; HALF_BYTES]>())
}

fn half_hash(half: &str) -> String {
    sha256_hex(half.as_bytes())
}

fn normalised(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

fn refused() -> AppError {
    AppError::bad_input("the enrolment code is invalid or has expired, or the details do not match")
}

/// Codes that can still be redeemed (or approved) at `now`.
pub(super) fn open(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(account_enrolment::Column::UsedAt.is_null())
        .add(account_enrolment::Column::ExpiresAt.gt(now))
}

pub(super) struct NewEnrolment {
    pub kind: EnrolmentKind,
    pub account_id: Uuid,
    pub patient_id: Option<Uuid>,
    pub email: Option<String>,
    pub staff: Option<StaffDetails>,
    pub requested_by: Uuid,
    pub needs_approval: bool,
}

/// The staff account a request will create at enrolment.
pub(super) struct StaffDetails {
    pub name: String,
    pub role: Role,
    pub department_id: Option<Uuid>,
}

/// Issues a code. An account (or a patient's record) has at most one open
/// code: a new one supersedes the old, whose halves stop working. The old
/// row stays, so that its requester and its attempts are still counted.
pub(super) async fn issue(db: &impl ConnectionTrait, new: NewEnrolment) -> AppResult<EnrolmentCode> {
    let now = Utc::now();
    let same = match new.patient_id {
        Some(patient_id) if new.kind == EnrolmentKind::PatientAccount => {
            account_enrolment::Column::PatientId.eq(patient_id)
        }
        _ => account_enrolment::Column::AccountId.eq(new.account_id),
    };
    supersede(db, same, now).await?;
    let code = new_half();
    let expires_at = now + Duration::hours(CODE_LIFETIME_HOURS);
    account_enrolment::ActiveModel {
        id: Set(Uuid::new_v4()),
        kind: Set(new.kind.as_str().to_owned()),
        account_id: Set(new.account_id),
        patient_id: Set(new.patient_id),
        email: Set(new.email),
        name: Set(new.staff.as_ref().map(|s| s.name.clone())),
        role: Set(new.staff.as_ref().map(|s| s.role.as_str().to_owned())),
        department_id: Set(new.staff.as_ref().and_then(|s| s.department_id)),
        requested_by: Set(new.requested_by),
        requested_at: Set(now),
        request_hash: Set(half_hash(&code)),
        needs_approval: Set(new.needs_approval),
        approved_by: Set(None),
        approved_at: Set(None),
        approval_hash: Set(None),
        expires_at: Set(expires_at),
        used_at: Set(None),
        attempts: Set(0),
    }
    .insert(db)
    .await?;
    Ok(EnrolmentCode {
        account_id: new.account_id,
        code,
        expires_at,
        needs_approval: new.needs_approval,
    })
}

/// Open codes matching `which` stop working now; how many did.
pub(super) async fn supersede(
    db: &impl ConnectionTrait,
    which: impl sea_orm::sea_query::IntoCondition,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    let superseded = account_enrolment::Entity::update_many()
        .col_expr(account_enrolment::Column::ExpiresAt, Expr::value(now))
        .filter(which)
        .filter(open(now))
        .exec(db)
        .await?;
    Ok(superseded.rows_affected)
}

impl Caller {
    /// Invites a patient to read their own record. The answer never says
    /// what the desk may not know (whether the record has a national id, or
    /// whether the e-mail is taken): the patient learns it when enrolling.
    /// A second approval is needed for a patient who has had an account
    /// before, and once this record's unapproved invitations have used up
    /// their guesses.
    #[tracing::instrument(skip_all)]
    pub async fn invite_patient(&self, patient_id: &str, email: &str) -> AppResult<EnrolmentCode> {
        let principal = self.require(Action::Create, FieldClass::PatientAccounts)?;
        let patient_id = parse_id("patientId", patient_id)?;
        let email = Email::parse(email)?;
        // Only a patient the desk can see; a restricted one is NOT_FOUND.
        let record = self.visible_patient(principal, patient_id).await?;
        let needs_approval = record.had_account() || self.guesses_spent(patient_id).await?;
        let txn = self.begin_write().await?;
        let code = issue(
            &txn,
            NewEnrolment {
                kind: EnrolmentKind::PatientAccount,
                account_id: Uuid::new_v4(),
                patient_id: Some(patient_id),
                email: Some(email.as_str().to_owned()),
                staff: None,
                requested_by: principal.user_id,
                needs_approval,
            },
        )
        .await?;
        let detail = Detail::new()
            .code("kind", EnrolmentKind::PatientAccount.as_str())
            .id("account", code.account_id);
        let event = self.write_event(principal, AuditAction::AccountRequest, Some(patient_id), detail);
        self.commit_write(txn, event).await?;
        tracing::info!(
            target: "caregraph::security",
            user_id = %principal.user_id,
            patient_account_id = %code.account_id,
            needs_approval = code.needs_approval,
            "patient invited"
        );
        Ok(code)
    }

    /// The second pair of eyes: approves another person's request and
    /// returns the other half of the code. Nobody approves their own request.
    #[tracing::instrument(skip_all)]
    pub async fn approve_account(&self, account_id: &str) -> AppResult<String> {
        let principal = self.require(Action::Write, FieldClass::AccountApprovals)?;
        let account_id = parse_id("userId", account_id)?;
        let now = Utc::now();
        let pending = account_enrolment::Entity::find()
            .filter(account_enrolment::Column::AccountId.eq(account_id))
            .filter(account_enrolment::Column::NeedsApproval.eq(true))
            .filter(open(now))
            .order_by_desc(account_enrolment::Column::RequestedAt)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound)?;
        // Whoever ever asked for this account, under any request, is not the
        // second pair of eyes for it.
        let asked_before = account_enrolment::Entity::find()
            .filter(account_enrolment::Column::AccountId.eq(account_id))
            .filter(account_enrolment::Column::RequestedBy.eq(principal.user_id))
            .count(&self.db)
            .await?
            > 0;
        if asked_before || account_id == principal.user_id {
            return Err(AppError::forbidden(
                "a request must be approved by someone other than who made it",
            ));
        }
        // A patient's re-invitation is approved only by someone who can find
        // the record (never a restricted one reached by ANY).
        if let Some(patient_id) = pending.patient_id {
            self.visible_patient(principal, patient_id).await?;
        }
        let half = new_half();
        let txn = self.begin_write().await?;
        let approved = account_enrolment::Entity::update_many()
            .col_expr(
                account_enrolment::Column::ApprovedBy,
                Expr::value(principal.user_id),
            )
            .col_expr(account_enrolment::Column::ApprovedAt, Expr::value(now))
            .col_expr(
                account_enrolment::Column::ApprovalHash,
                Expr::value(half_hash(&half)),
            )
            .filter(account_enrolment::Column::Id.eq(pending.id))
            .filter(account_enrolment::Column::ApprovedBy.is_null())
            .exec(&txn)
            .await?;
        if approved.rows_affected != 1 {
            return Err(AppError::bad_input("this request has already been approved"));
        }
        let kind = EnrolmentKind::parse(&pending.kind)?;
        let detail = Detail::new()
            .code("kind", kind.as_str())
            .id("account", account_id);
        let event = self.write_event(
            principal,
            AuditAction::AccountApproval,
            pending.patient_id,
            detail,
        );
        self.commit_write(txn, event).await?;
        tracing::info!(
            target: "caregraph::security",
            user_id = %principal.user_id,
            account_id = %account_id,
            kind = kind.as_str(),
            "account request approved"
        );
        Ok(half)
    }

    /// Requests waiting for (or holding) an approval and not yet redeemed.
    /// A patient's re-invitation shows only if the caller can find the
    /// record (never a restricted one reached by ANY).
    pub async fn account_requests(&self) -> AppResult<Vec<AccountRequest>> {
        let principal = self.require(Action::Read, FieldClass::AccountApprovals)?;
        let mut shown = sea_orm::Condition::any().add(account_enrolment::Column::PatientId.is_null());
        if let Ok(findable) = super::scope::patient_filter(
            &self.policy,
            principal,
            Action::Read,
            FieldClass::Directory,
            Utc::now(),
        ) {
            shown = shown.add(
                account_enrolment::Column::PatientId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(patient::Column::Id)
                        .from(patient::Entity)
                        .cond_where(findable)
                        .to_owned(),
                ),
            );
        }
        let rows = account_enrolment::Entity::find()
            .filter(account_enrolment::Column::NeedsApproval.eq(true))
            .filter(open(Utc::now()))
            .filter(shown)
            .order_by_asc(account_enrolment::Column::RequestedAt)
            .order_by_asc(account_enrolment::Column::Id)
            .all(&self.db)
            .await?;
        // The accounts being re-activated, in one statement.
        let reopened: std::collections::HashMap<Uuid, user::Model> = user::Entity::find()
            .filter(user::Column::Id.is_in(rows.iter().map(|r| r.account_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        rows.into_iter()
            .map(|row| {
                let kind = EnrolmentKind::parse(&row.kind)?;
                let account = reopened.get(&row.account_id);
                let stored_role = match (kind, account) {
                    (EnrolmentKind::Reactivation, Some(account)) => Some(account.role.as_str()),
                    (EnrolmentKind::Reactivation, None) => None,
                    (EnrolmentKind::StaffAccount, _) => row.role.as_deref(),
                    (EnrolmentKind::PatientAccount, _) => Some(Role::Patient.as_str()),
                };
                let role = stored_role
                    .and_then(Role::parse)
                    .ok_or_else(|| AppError::Internal("an account request without a known role".into()))?;
                Ok(AccountRequest {
                    account_id: row.account_id,
                    kind,
                    role,
                    name: account.map(|a| a.name.clone()).or(row.name),
                    email: account
                        .map(|a| a.email.clone())
                        .or(row.email)
                        .ok_or_else(|| AppError::Internal("an account request without an e-mail".into()))?,
                    patient_id: row.patient_id,
                    requested_by: row.requested_by,
                    requested_at: row.requested_at,
                    expires_at: row.expires_at,
                    deactivated_at: account.and_then(|a| a.deactivated_at),
                    approved: row.approved_by.is_some(),
                })
            })
            .collect()
    }

    /// Redeems a code: the whole code (both halves, concatenated, where an
    /// approval was needed), the national id on the record for a patient,
    /// and the password the owner chooses. Every mismatch gets one answer.
    #[tracing::instrument(skip_all)]
    pub async fn enrol(&self, code: &str, national_id: Option<&str>, new_password: String) -> AppResult<()> {
        self.one_credential_per_request()?;
        // Length and the list of common passwords now; the e-mail rule once
        // the code says which account this is. Without MFA until accounts
        // can have it.
        let password = password_policy::check(&new_password, "", false)?;
        let code = code.trim();
        let (request_half, approval_half) = match (code.get(..HALF_LEN), code.get(HALF_LEN..)) {
            (Some(first), Some(rest)) => (first, rest),
            _ => return Err(refused()),
        };
        let now = Utc::now();
        let request_hash = half_hash(request_half);
        // Count the attempt before evaluating it, in one conditional UPDATE:
        // concurrent guesses cannot all read "fewer than five" and proceed.
        let counted = account_enrolment::Entity::update_many()
            .col_expr(
                account_enrolment::Column::Attempts,
                Expr::col(account_enrolment::Column::Attempts).add(1),
            )
            .filter(account_enrolment::Column::RequestHash.eq(request_hash.as_str()))
            .filter(account_enrolment::Column::Attempts.lt(MAX_ATTEMPTS))
            .filter(open(now))
            .exec(&self.db)
            .await?;
        if counted.rows_affected != 1 {
            return Err(refused());
        }
        let enrolment = account_enrolment::Entity::find()
            .filter(account_enrolment::Column::RequestHash.eq(request_hash))
            .one(&self.db)
            .await?
            .ok_or_else(refused)?;
        let halves_match = match (&enrolment.approval_hash, enrolment.needs_approval) {
            (_, false) => approval_half.is_empty(),
            (Some(expected), true) => !approval_half.is_empty() && half_hash(approval_half) == *expected,
            (None, true) => false,
        };
        if !halves_match {
            tracing::warn!(target: "caregraph::security", account_id = %enrolment.account_id, "enrolment refused: code incomplete or wrong");
            return Err(refused());
        }
        match EnrolmentKind::parse(&enrolment.kind)? {
            EnrolmentKind::PatientAccount => self.enrol_patient(enrolment, national_id, password, now).await,
            kind @ (EnrolmentKind::StaffAccount | EnrolmentKind::Reactivation) => {
                self.enrol_staff(enrolment, kind, password, now).await
            }
        }
    }

    async fn enrol_patient(
        &self,
        enrolment: account_enrolment::Model,
        national_id: Option<&str>,
        password: Password,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let record = match enrolment.patient_id {
            Some(id) => patient::Entity::find_by_id(id).one(&self.db).await?,
            None => None,
        }
        .ok_or_else(refused)?;
        let matches = match (record.national_id.as_deref(), national_id) {
            (Some(on_record), Some(given)) => {
                let on_record = normalised(on_record);
                !on_record.is_empty() && on_record == normalised(given)
            }
            _ => false,
        };
        if !matches {
            tracing::warn!(target: "caregraph::security", account_id = %enrolment.account_id, "enrolment refused: details do not match");
            return Err(refused());
        }
        // Checked again now, not only when the code was issued: the record
        // may have had an account, or been restricted, since.
        if (record.had_account || record.restricted) && !enrolment.needs_approval {
            tracing::warn!(target: "caregraph::security", account_id = %enrolment.account_id, "enrolment refused: a second approval is needed now");
            return Err(refused());
        }
        // From here on the caller has proven to be the patient: they may be
        // told what the desk could not be.
        let linked = user::Entity::find()
            .filter(user::Column::PatientId.eq(record.id))
            .count(&self.db)
            .await?;
        if linked > 0 {
            return Err(AppError::bad_input(
                "your record already has an account: log in with it, or ask the desk to remove it first",
            ));
        }
        let email = enrolment.email.clone().ok_or_else(refused)?;
        let password = password_policy::check(password.expose_secret(), &email, false)?;
        let hash = password::hash(password).await?;
        let txn = self.db.begin().await?;
        claim(&txn, &enrolment, now).await?;
        insert_account(
            &txn,
            AccountRow {
                id: enrolment.account_id,
                email: Email::parse(&email)?,
                name: format!("{} {}", record.given_name, record.family_name),
                role: Role::Patient,
                password_hash: hash,
                patient_id: Some(record.id),
                department_id: None,
                clash: "an account with this e-mail address, or for your record, already exists: ask the desk",
            },
        )
        .await?;
        mark_had_account(&txn, record.id).await?;
        let event = AuditEvent::new(AuditAction::Enrolment, Outcome::Success)
            .actor(enrolment.account_id, Some(Role::Patient))
            .patients([record.id])
            .detail(Detail::new().code("kind", EnrolmentKind::PatientAccount.as_str()));
        self.commit_write(txn, event).await?;
        tracing::info!(target: "caregraph::security", patient_account_id = %enrolment.account_id, "patient enrolled");
        Ok(())
    }

    async fn enrol_staff(
        &self,
        enrolment: account_enrolment::Model,
        kind: EnrolmentKind,
        password: Password,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let email = match &enrolment.email {
            Some(email) => Some(email.clone()),
            None => user::Entity::find_by_id(enrolment.account_id)
                .one(&self.db)
                .await?
                .map(|account| account.email),
        };
        let password =
            password_policy::check(password.expose_secret(), email.as_deref().unwrap_or(""), false)?;
        let hash = password::hash(password).await?;
        let txn = self.db.begin().await?;
        claim(&txn, &enrolment, now).await?;
        match kind {
            EnrolmentKind::StaffAccount => {
                let (Some(email), Some(name), Some(role)) =
                    (&enrolment.email, &enrolment.name, &enrolment.role)
                else {
                    return Err(AppError::Internal("a staff request without its account".into()));
                };
                let role = Role::parse(role)
                    .ok_or_else(|| AppError::Internal("stored role of a request is unknown".into()))?;
                insert_account(
                    &txn,
                    AccountRow {
                        id: enrolment.account_id,
                        email: Email::parse(email)?,
                        name: name.clone(),
                        role,
                        password_hash: hash,
                        patient_id: None,
                        department_id: enrolment.department_id,
                        clash: "an account with this e-mail address already exists: ask for a new request with another address",
                    },
                )
                .await?;
            }
            EnrolmentKind::PatientAccount => {
                return Err(AppError::Internal(
                    "a patient's code enrols no staff account".into(),
                ));
            }
            EnrolmentKind::Reactivation => {
                let reopened = user::Entity::update_many()
                    .col_expr(user::Column::PasswordHash, Expr::value(hash))
                    .col_expr(user::Column::Active, Expr::value(true))
                    .col_expr(
                        user::Column::DeactivatedAt,
                        Expr::value(Option::<DateTime<Utc>>::None),
                    )
                    .filter(user::Column::Id.eq(enrolment.account_id))
                    .filter(user::Column::Active.eq(false))
                    .filter(user::Column::PatientId.is_null())
                    .exec(&txn)
                    .await?;
                if reopened.rows_affected != 1 {
                    return Err(refused());
                }
            }
        }
        let event = AuditEvent::new(AuditAction::Enrolment, Outcome::Success)
            .actor(enrolment.account_id, None)
            .detail(Detail::new().code("kind", kind.as_str()));
        self.commit_write(txn, event).await?;
        tracing::info!(target: "caregraph::security", account_id = %enrolment.account_id, kind = kind.as_str(), "account enrolled");
        Ok(())
    }

    /// Whether this record's unapproved invitations of the last 30 days
    /// have used up the guesses one invitation allows.
    async fn guesses_spent(&self, patient_id: Uuid) -> AppResult<bool> {
        let since = Utc::now() - Duration::days(30);
        let attempts: Vec<i32> = account_enrolment::Entity::find()
            .select_only()
            .column(account_enrolment::Column::Attempts)
            .filter(account_enrolment::Column::PatientId.eq(patient_id))
            .filter(account_enrolment::Column::NeedsApproval.eq(false))
            .filter(account_enrolment::Column::UsedAt.is_null())
            .filter(account_enrolment::Column::RequestedAt.gt(since))
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(attempts.iter().sum::<i32>() >= MAX_ATTEMPTS)
    }
}

/// From now on, inviting this patient again needs a second approval.
pub(super) async fn mark_had_account(db: &impl ConnectionTrait, patient_id: Uuid) -> AppResult<()> {
    patient::Entity::update_many()
        .col_expr(patient::Column::HadAccount, Expr::value(true))
        .filter(patient::Column::Id.eq(patient_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Single use, even against a concurrent redemption of the same code.
async fn claim(
    txn: &impl ConnectionTrait,
    enrolment: &account_enrolment::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let claimed = account_enrolment::Entity::update_many()
        .col_expr(account_enrolment::Column::UsedAt, Expr::value(now))
        .filter(account_enrolment::Column::Id.eq(enrolment.id))
        .filter(account_enrolment::Column::UsedAt.is_null())
        .exec(txn)
        .await?;
    if claimed.rows_affected == 1 {
        Ok(())
    } else {
        Err(refused())
    }
}

/// An account to store, with its password hash already made. `active` is
/// always true: an account exists only once its owner has a password.
pub(super) struct AccountRow {
    pub id: Uuid,
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub patient_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
    /// Said when the e-mail (or the patient record) already has an account.
    pub clash: &'static str,
}

/// Stores an account; the one place a `users` row is made.
pub(super) async fn insert_account(db: &impl ConnectionTrait, row: AccountRow) -> AppResult<user::Model> {
    super::departments::existing_department(db, row.department_id).await?;
    let taken = user::Entity::find()
        .filter(user::Column::Email.eq(row.email.as_str()))
        .count(db)
        .await?;
    if taken > 0 {
        return Err(AppError::bad_input(row.clash));
    }
    user::ActiveModel {
        id: Set(row.id),
        email: Set(row.email.as_str().to_owned()),
        name: Set(row.name),
        role: Set(row.role.as_str().to_owned()),
        password_hash: Set(row.password_hash),
        active: Set(true),
        department_id: Set(row.department_id),
        patient_id: Set(row.patient_id),
        created_at: Set(Utc::now()),
        deactivated_at: Set(None),
    }
    .insert(db)
    .await
    .map_err(|e| AppError::unique_or_database(e, row.clash))
}
