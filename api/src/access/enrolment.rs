//! Enrolment: every account that can log in is enrolled by the person it
//! belongs to, who redeems a one-time code and chooses their own password.
//! Nobody who hands out a code ever knows the password.
//!
//! Four eyes with split knowledge: a staff account, a re-activation and the
//! re-invitation of a patient who had an account are requested by one person
//! and approved by a different one (an ADMIN or a COMPLIANCE_OFFICER); each
//! holds half of the code, and only both halves together enrol. A first
//! patient invitation needs no second person: the patient proves who they
//! are with the national id on their record, which the desk cannot read.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use caregraph_entity::{account_enrolment, patient, user};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    Set, TransactionTrait,
};
use uuid::Uuid;

use super::Caller;
use crate::auth::password;
use crate::domain::{Email, Password, parse_id, sha256_hex};
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass};

pub const CODE_LIFETIME_HOURS: i64 = 72;
/// Redemptions evaluated per code, whatever the concurrency.
pub const MAX_ATTEMPTS: i32 = 5;
/// 16 random bytes, URL-safe base64: 22 characters per half.
const HALF_BYTES: usize = 16;
const HALF_LEN: usize = 22;
/// Stored instead of a hash until the owner enrols: matches no password.
pub(super) const NOT_ENROLLED: &str = "!not-enrolled";

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

/// An open request waiting for a second person's approval.
pub struct AccountRequest {
    pub account_id: Uuid,
    pub kind: EnrolmentKind,
    pub patient_id: Option<Uuid>,
    pub requested_by: Uuid,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
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
fn open(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(account_enrolment::Column::UsedAt.is_null())
        .add(account_enrolment::Column::ExpiresAt.gt(now))
}

pub(super) struct NewEnrolment {
    pub kind: EnrolmentKind,
    pub account_id: Uuid,
    pub patient_id: Option<Uuid>,
    pub email: Option<String>,
    pub requested_by: Uuid,
    pub needs_approval: bool,
}

/// Issues a code. An account has at most one open code: a new request
/// replaces the old one, whose halves stop working.
pub(super) async fn issue(db: &impl ConnectionTrait, new: NewEnrolment) -> AppResult<EnrolmentCode> {
    if new.kind != EnrolmentKind::PatientAccount {
        account_enrolment::Entity::delete_many()
            .filter(account_enrolment::Column::AccountId.eq(new.account_id))
            .filter(account_enrolment::Column::UsedAt.is_null())
            .exec(db)
            .await?;
    }
    let code = new_half();
    let now = Utc::now();
    let expires_at = now + Duration::hours(CODE_LIFETIME_HOURS);
    account_enrolment::ActiveModel {
        id: Set(Uuid::new_v4()),
        kind: Set(new.kind.as_str().to_owned()),
        account_id: Set(new.account_id),
        patient_id: Set(new.patient_id),
        email: Set(new.email),
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

impl Caller {
    /// Invites a patient to read their own record. The answer never says
    /// what the desk may not know (whether the record has a national id, or
    /// whether the e-mail is taken): the patient learns it when enrolling.
    /// A patient who has had an account before needs a second approval.
    pub async fn invite_patient(&self, patient_id: &str, email: &str) -> AppResult<EnrolmentCode> {
        let principal = self.require(Action::Create, FieldClass::PatientAccounts)?;
        let patient_id = parse_id("patientId", patient_id)?;
        let email = Email::parse(email)?;
        // Only a patient the desk can see; a restricted one is NOT_FOUND.
        self.visible_patient(principal, patient_id).await?;
        let had_account = patient::Entity::find_by_id(patient_id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound)?
            .had_account;
        let code = issue(
            &self.db,
            NewEnrolment {
                kind: EnrolmentKind::PatientAccount,
                account_id: Uuid::new_v4(),
                patient_id: Some(patient_id),
                email: Some(email.as_str().to_owned()),
                requested_by: principal.user_id,
                needs_approval: had_account,
            },
        )
        .await?;
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
        if pending.requested_by == principal.user_id || account_id == principal.user_id {
            return Err(AppError::forbidden(
                "a request must be approved by someone other than who made it",
            ));
        }
        let half = new_half();
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
            .exec(&self.db)
            .await?;
        if approved.rows_affected != 1 {
            return Err(AppError::bad_input("this request has already been approved"));
        }
        tracing::info!(
            target: "caregraph::security",
            user_id = %principal.user_id,
            account_id = %account_id,
            kind = EnrolmentKind::parse(&pending.kind)?.as_str(),
            "account request approved"
        );
        Ok(half)
    }

    /// Requests waiting for (or holding) an approval and not yet redeemed.
    pub async fn account_requests(&self) -> AppResult<Vec<AccountRequest>> {
        self.require(Action::Read, FieldClass::AccountApprovals)?;
        account_enrolment::Entity::find()
            .filter(account_enrolment::Column::NeedsApproval.eq(true))
            .filter(open(Utc::now()))
            .order_by_asc(account_enrolment::Column::RequestedAt)
            .order_by_asc(account_enrolment::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| {
                Ok(AccountRequest {
                    account_id: row.account_id,
                    kind: EnrolmentKind::parse(&row.kind)?,
                    patient_id: row.patient_id,
                    requested_by: row.requested_by,
                    requested_at: row.requested_at,
                    expires_at: row.expires_at,
                    approved: row.approved_by.is_some(),
                })
            })
            .collect()
    }

    /// Redeems a code: the whole code (both halves, concatenated, where an
    /// approval was needed), the national id on the record for a patient,
    /// and the password the owner chooses. Every mismatch gets one answer.
    pub async fn enrol(&self, code: &str, national_id: Option<&str>, new_password: String) -> AppResult<()> {
        self.one_credential_per_request()?;
        let password = Password::parse(new_password)?;
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
            EnrolmentKind::StaffAccount | EnrolmentKind::Reactivation => {
                self.enrol_staff(enrolment, password, now).await
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
        let hash = password::hash(password).await?;
        let txn = self.db.begin().await?;
        claim(&txn, &enrolment, now).await?;
        user::ActiveModel {
            id: Set(enrolment.account_id),
            email: Set(email),
            name: Set(format!("{} {}", record.given_name, record.family_name)),
            role: Set(crate::policy::Role::Patient.as_str().to_owned()),
            password_hash: Set(hash),
            active: Set(true),
            department_id: Set(None),
            patient_id: Set(Some(record.id)),
            created_at: Set(now),
            deactivated_at: Set(None),
        }
        .insert(&txn)
        .await
        .map_err(|e| {
            AppError::unique_or_database(
                e,
                "an account with this e-mail address already exists: ask the desk for an invitation to another address",
            )
        })?;
        mark_had_account(&txn, record.id).await?;
        txn.commit().await?;
        tracing::info!(target: "caregraph::security", patient_account_id = %enrolment.account_id, "patient enrolled");
        Ok(())
    }

    async fn enrol_staff(
        &self,
        enrolment: account_enrolment::Model,
        password: Password,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let hash = password::hash(password).await?;
        let txn = self.db.begin().await?;
        claim(&txn, &enrolment, now).await?;
        let enrolled = user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(hash))
            .col_expr(user::Column::Active, Expr::value(true))
            .col_expr(
                user::Column::DeactivatedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(user::Column::Id.eq(enrolment.account_id))
            .filter(user::Column::Active.eq(false))
            .exec(&txn)
            .await?;
        if enrolled.rows_affected != 1 {
            return Err(refused());
        }
        txn.commit().await?;
        tracing::info!(target: "caregraph::security", account_id = %enrolment.account_id, "account enrolled");
        Ok(())
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
