//! Staff and patient accounts: administered by whoever the policy grants
//! ACCOUNTS to; listed to whoever it grants STAFF_DIRECTORY to.
//!
//! No single person can mint a login that reads patient data: a staff
//! account (or its re-activation) is only a request until a second person
//! approves it (see `enrolment`), and its owner chooses the password.

use std::collections::HashSet;

use caregraph_entity::{account_enrolment, patient, user};
use chrono::Utc;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use uuid::Uuid;

use super::Caller;
use super::enrolment::{
    AccountRow, EnrolmentCode, EnrolmentKind, NewEnrolment, StaffDetails, insert_account, issue, open,
    supersede,
};
use super::scope::patient_filter;
use super::values::Account;
use crate::audit::{AuditAction, Detail};
use crate::auth::sessions::SessionStore;
use crate::auth::{password, password_policy};
use crate::domain::{Email, parse_name};
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass, Role};

/// A staff account as requested by an administrator: no password, which
/// only its owner ever chooses.
pub struct StaffAccountRequest {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub department_id: Option<Uuid>,
}

/// Which e-mail domains staff accounts may use; empty: any.
#[derive(Clone, Debug, Default)]
pub struct AccountRules {
    pub staff_email_domains: Vec<String>,
}

impl AccountRules {
    fn check_staff_email(&self, email: &Email) -> AppResult<()> {
        if self.staff_email_domains.is_empty() {
            return Ok(());
        }
        let domain = email.as_str().rsplit_once('@').map_or("", |(_, d)| d);
        if self.staff_email_domains.iter().any(|allowed| allowed == domain) {
            Ok(())
        } else {
            Err(AppError::bad_input(format!(
                "staff accounts use an e-mail address at {}",
                self.staff_email_domains.join(", ")
            )))
        }
    }
}

impl Caller {
    pub async fn me(&self) -> AppResult<Account> {
        let principal = self.principal()?;
        let account = user::Entity::find_by_id(principal.user_id)
            .one(&self.db)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        Ok(self.account_view(account))
    }

    /// How the caller sees one account met outside the account list (a care
    /// team member, a freshly requested account): staff e-mails with
    /// ACCOUNTS, patients' e-mails to nobody but the patient.
    /// An account as the caller may see it: the e-mail only where the caller
    /// may read it (own account; staff e-mails with ACCOUNTS; a patient's
    /// login e-mail is that patient's CONTACT data).
    pub(super) fn account_view(&self, account: user::Model) -> Account {
        let own = self.principal.is_some_and(|p| p.user_id == account.id);
        let email_readable = own
            || (account.patient_id.is_none()
                && account.role != Role::Patient.as_str()
                && self.could_ever(Action::Read, FieldClass::Accounts));
        Account::new(account, email_readable)
    }

    /// With ACCOUNTS: every staff account, and the accounts of the patients
    /// whose record the caller may find (never a restricted one reached by
    /// ANY). With only STAFF_DIRECTORY: active staff, never patients'
    /// accounts (being a patient here is itself PHI).
    pub async fn users(&self, role: Option<Role>) -> AppResult<Vec<Account>> {
        let principal = self.require(Action::Read, FieldClass::StaffDirectory)?;
        let staff = user::Column::Role.ne(Role::Patient.as_str());
        let now = Utc::now();
        let mut query = user::Entity::find();
        if self
            .policy
            .could_ever(principal.role, Action::Read, FieldClass::Accounts)
        {
            let mut shown = Condition::any().add(staff);
            if let Ok(findable) =
                patient_filter(&self.policy, principal, Action::Read, FieldClass::Directory, now)
            {
                shown = shown.add(
                    user::Column::PatientId.in_subquery(
                        Query::select()
                            .column(patient::Column::Id)
                            .from(patient::Entity)
                            .cond_where(findable)
                            .to_owned(),
                    ),
                );
            }
            query = query.filter(shown);
        } else {
            query = query.filter(staff).filter(user::Column::Active.eq(true));
        }
        if let Some(role) = role {
            query = query.filter(user::Column::Role.eq(role.as_str()));
        }
        let accounts = query
            .order_by_asc(user::Column::Name)
            .order_by_asc(user::Column::Id)
            .all(&self.db)
            .await?;
        let contact = self.patients_with_readable_contact(&accounts).await?;
        Ok(accounts
            .into_iter()
            .map(|account| match account.patient_id {
                Some(patient_id) => {
                    let readable = contact.contains(&patient_id)
                        || self.principal.is_some_and(|p| p.user_id == account.id);
                    Account::new(account, readable)
                }
                None => self.account_view(account),
            })
            .collect())
    }

    /// Of the patients these accounts belong to, those whose CONTACT data the
    /// caller may read: one statement, with the scope as its filter.
    async fn patients_with_readable_contact(&self, accounts: &[user::Model]) -> AppResult<HashSet<Uuid>> {
        let principal = self.principal()?;
        let ids: Vec<Uuid> = accounts.iter().filter_map(|a| a.patient_id).collect();
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let Ok(readable) = patient_filter(
            &self.policy,
            principal,
            Action::Read,
            FieldClass::Contact,
            Utc::now(),
        ) else {
            return Ok(HashSet::new());
        };
        Ok(patient::Entity::find()
            .select_only()
            .column(patient::Column::Id)
            .filter(patient::Column::Id.is_in(ids))
            .filter(readable)
            .into_tuple::<Uuid>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect())
    }

    /// Requests a staff account. Nothing can log in until a different ADMIN
    /// or a COMPLIANCE_OFFICER approves it and its owner enrols with both
    /// halves of the code, which creates the account; the requester receives
    /// the first half. A clash with a staff address is refused at once (the
    /// requester may see those); one with a patient's login address is told
    /// only to the owner at enrolment, so a request reveals nothing of who
    /// is a patient.
    #[tracing::instrument(skip_all)]
    pub async fn request_account(&self, request: StaffAccountRequest) -> AppResult<(Account, EnrolmentCode)> {
        let principal = self.require(Action::Create, FieldClass::Accounts)?;
        if request.role == Role::Patient {
            return Err(AppError::bad_input(
                "patient accounts are created with invitePatient: the patient chooses the password",
            ));
        }
        let email = Email::parse(&request.email)?;
        self.account_rules.check_staff_email(&email)?;
        let name = parse_name("name", &request.name)?;
        super::departments::existing_department(&self.db, request.department_id).await?;
        let staff_clash = user::Entity::find()
            .filter(user::Column::Email.eq(email.as_str()))
            .filter(user::Column::Role.ne(Role::Patient.as_str()))
            .count(&self.db)
            .await?;
        let open_request = account_enrolment::Entity::find()
            .filter(account_enrolment::Column::Email.eq(email.as_str()))
            .filter(account_enrolment::Column::Kind.eq(EnrolmentKind::StaffAccount.as_str()))
            .filter(open(Utc::now()))
            .count(&self.db)
            .await?;
        if staff_clash + open_request > 0 {
            return Err(AppError::bad_input(
                "an account or an open request with this email already exists",
            ));
        }
        let account_id = Uuid::new_v4();
        let txn = self.begin_write().await?;
        let code = issue(
            &txn,
            NewEnrolment {
                kind: EnrolmentKind::StaffAccount,
                account_id,
                patient_id: None,
                email: Some(email.as_str().to_owned()),
                staff: Some(StaffDetails {
                    name: name.clone(),
                    role: request.role,
                    department_id: request.department_id,
                }),
                requested_by: principal.user_id,
                needs_approval: true,
            },
        )
        .await?;
        let detail = Detail::new()
            .code("kind", EnrolmentKind::StaffAccount.as_str())
            .id("account", account_id)
            .code("role", request.role.as_str());
        let event = self.write_event(principal, AuditAction::AccountRequest, None, detail);
        self.commit_write(txn, event).await?;
        tracing::info!(
            target: "caregraph::security",
            user_id = %principal.user_id,
            requested_user_id = %account_id,
            role = request.role.as_str(),
            "account requested"
        );
        // The account as it will be once enrolled; not stored until then.
        let requested = user::Model {
            id: account_id,
            email: email.as_str().to_owned(),
            name,
            role: request.role.as_str().to_owned(),
            password_hash: String::new(),
            active: false,
            department_id: request.department_id,
            patient_id: None,
            created_at: Utc::now(),
            deactivated_at: None,
        };
        Ok((self.account_view(requested), code))
    }

    /// Opens a deactivated staff account again, by the same four-eyes
    /// enrolment as a new one: its owner sets a new password.
    #[tracing::instrument(skip_all)]
    pub async fn reactivate_user(&self, id: &str) -> AppResult<(Account, EnrolmentCode)> {
        let principal = self.require(Action::Write, FieldClass::Accounts)?;
        let target = self.other_account(principal.user_id, id, "reactivate").await?;
        if target.active {
            return Err(AppError::bad_input("this account is active"));
        }
        if target.patient_id.is_some() || target.role == Role::Patient.as_str() {
            return Err(AppError::bad_input(
                "a patient's account is opened again by a new invitation from the desk",
            ));
        }
        let txn = self.begin_write().await?;
        let code = issue(
            &txn,
            NewEnrolment {
                kind: EnrolmentKind::Reactivation,
                account_id: target.id,
                patient_id: None,
                email: None,
                staff: None,
                requested_by: principal.user_id,
                needs_approval: true,
            },
        )
        .await?;
        let detail = Detail::new()
            .code("kind", EnrolmentKind::Reactivation.as_str())
            .id("account", target.id);
        let event = self.write_event(principal, AuditAction::AccountRequest, None, detail);
        self.commit_write(txn, event).await?;
        tracing::info!(target: "caregraph::security", user_id = %principal.user_id, reactivated_user_id = %target.id, "account re-activation requested");
        Ok((self.account_view(target), code))
    }

    /// Deletes an account; on a requested account not yet enrolled, cancels
    /// the request.
    #[tracing::instrument(skip_all)]
    pub async fn delete_user(&self, id: &str) -> AppResult<()> {
        let principal = self.require(Action::Delete, FieldClass::Accounts)?;
        self.sessions.require_recent_authentication(&principal)?;
        let now = Utc::now();
        let target = match self.other_account(principal.user_id, id, "delete").await {
            Err(AppError::NotFound) => {
                let id = crate::domain::parse_id("id", id)?;
                let request = Condition::all()
                    .add(account_enrolment::Column::AccountId.eq(id))
                    .add(account_enrolment::Column::Kind.eq(EnrolmentKind::StaffAccount.as_str()));
                let txn = self.begin_write().await?;
                if supersede(&txn, request, now).await? == 0 {
                    return Err(AppError::NotFound);
                }
                let detail = Detail::new()
                    .id("account", id)
                    .code("change", "REQUEST_CANCELLED");
                let event = self.write_event(principal, AuditAction::AccountChange, None, detail);
                self.commit_write(txn, event).await?;
                tracing::info!(target: "caregraph::security", user_id = %principal.user_id, cancelled_user_id = %id, "account request cancelled");
                return Ok(());
            }
            other => other?,
        };
        let txn = self.db.begin().await?;
        keep_an_admin(&txn, &target).await?;
        // Sessions go with the account (foreign key), so its tokens die with
        // it; so do codes that could still re-open it.
        supersede(&txn, account_enrolment::Column::AccountId.eq(target.id), now).await?;
        user::Entity::delete_by_id(target.id).exec(&txn).await?;
        let detail = Detail::new().id("account", target.id).code("change", "DELETED");
        let event = self.write_event(principal, AuditAction::AccountChange, target.patient_id, detail);
        self.commit_write(txn, event).await?;
        tracing::info!(target: "caregraph::security", user_id = %principal.user_id, deleted_user_id = %target.id, "account deleted");
        Ok(())
    }

    /// Closes an account: its sessions end, any code that could re-open it
    /// stops working, and requests it made and nobody approved yet lapse.
    #[tracing::instrument(skip_all)]
    pub async fn deactivate_user(&self, id: &str) -> AppResult<Account> {
        let principal = self.require(Action::Write, FieldClass::Accounts)?;
        let target = self.other_account(principal.user_id, id, "deactivate").await?;
        let now = Utc::now();
        let txn = self.db.begin().await?;
        keep_an_admin(&txn, &target).await?;
        let mut row: user::ActiveModel = target.into();
        row.active = Set(false);
        row.deactivated_at = Set(Some(now));
        let updated = row.update(&txn).await?;
        supersede(&txn, account_enrolment::Column::AccountId.eq(updated.id), now).await?;
        supersede(
            &txn,
            Condition::all()
                .add(account_enrolment::Column::RequestedBy.eq(updated.id))
                .add(account_enrolment::Column::ApprovedBy.is_null()),
            now,
        )
        .await?;
        SessionStore::revoke_all_for_user(&txn, updated.id).await?;
        let detail = Detail::new()
            .id("account", updated.id)
            .code("change", "DEACTIVATED");
        let event = self.write_event(principal, AuditAction::AccountChange, updated.patient_id, detail);
        self.commit_write(txn, event).await?;
        tracing::info!(target: "caregraph::security", user_id = %principal.user_id, deactivated_user_id = %updated.id, "account deactivated");
        Ok(self.account_view(updated))
    }

    async fn other_account(&self, own_id: Uuid, id: &str, verb: &str) -> AppResult<user::Model> {
        let id = crate::domain::parse_id("id", id)?;
        if id == own_id {
            return Err(AppError::bad_input(format!("you cannot {verb} your own account")));
        }
        user::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound)
    }
}

/// The clinic must never be left without an active administrator. Runs in
/// the transaction that removes `target`: the active administrators' rows are
/// written first (a no-op update), which makes two removals wait for each
/// other, so two administrators removing each other at once cannot both
/// succeed. On PostgreSQL the update takes the rows' locks as `SELECT ... FOR
/// UPDATE` would; the second removal waits, then re-reads the rows under READ
/// COMMITTED and counts one. On SQLite, SeaORM begins a transaction with a
/// plain (deferred) `BEGIN`; its first statement being this write, it takes
/// the database's write lock before reading anything, as `BEGIN IMMEDIATE`
/// would, and the other writer waits (busy timeout) and then reads the
/// committed state. Nothing may be read in the transaction before this.
async fn keep_an_admin(txn: &impl ConnectionTrait, target: &user::Model) -> AppResult<()> {
    if target.role != Role::Admin.as_str() || !target.active {
        return Ok(());
    }
    let active_admins = || {
        Condition::all()
            .add(user::Column::Role.eq(Role::Admin.as_str()))
            .add(user::Column::Active.eq(true))
    };
    user::Entity::update_many()
        .col_expr(user::Column::Active, Expr::col(user::Column::Active))
        .filter(active_admins())
        .exec(txn)
        .await?;
    let admins = user::Entity::find().filter(active_admins()).count(txn).await?;
    if admins <= 1 {
        return Err(AppError::bad_input(
            "the last active administrator cannot be removed",
        ));
    }
    Ok(())
}

/// An account with a password, for those who act for no caller: the
/// operator on the server host (`caregraph create-admin`, the first
/// administrator from the environment) and the demo seed. It bypasses
/// four-eyes provisioning by design, so it is named to be found.
pub struct UnrestrictedAccount {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: String,
    /// PATIENT accounts only: the record the account belongs to.
    pub patient_id: Option<Uuid>,
}

pub async fn unrestricted_create_account(
    db: &sea_orm::DatabaseConnection,
    account: UnrestrictedAccount,
) -> AppResult<user::Model> {
    let email = Email::parse(&account.email)?;
    match (account.role, account.patient_id) {
        (Role::Patient, None) => {
            return Err(AppError::bad_input(
                "a PATIENT account needs the patientId of its record",
            ));
        }
        (Role::Patient, Some(patient_id)) => {
            let exists = patient::Entity::find_by_id(patient_id).count(db).await? > 0;
            let linked = user::Entity::find()
                .filter(user::Column::PatientId.eq(patient_id))
                .count(db)
                .await?;
            if !exists || linked > 0 {
                return Err(AppError::bad_input(
                    "patientId must name a patient without an account",
                ));
            }
        }
        (_, Some(_)) => {
            return Err(AppError::bad_input(
                "only a PATIENT account is linked to a patient record",
            ));
        }
        (_, None) => {}
    }
    let name = parse_name("name", &account.name)?;
    // The same rules as a password chosen at enrolment (no MFA yet).
    let password = password_policy::check(&account.password, email.as_str(), false)?;
    let password_hash = password::hash(password).await?;
    if let Some(patient_id) = account.patient_id {
        super::enrolment::mark_had_account(db, patient_id).await?;
    }
    insert_account(
        db,
        AccountRow {
            id: Uuid::new_v4(),
            email,
            name,
            role: account.role,
            password_hash,
            patient_id: account.patient_id,
            department_id: None,
            clash: "an account with this email already exists",
        },
    )
    .await
}
