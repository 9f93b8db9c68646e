//! Patient accounts. Nobody on staff ever knows a patient's password: the
//! desk invites the patient (after checking who they are) and gets a one-time
//! code; the patient redeems it with the national id on their record, which
//! the desk cannot read, and chooses the password.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use caregraph_entity::{enrolment, patient, user};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use uuid::Uuid;

use super::Caller;
use super::accounts::{NewAccount, create_account};
use crate::auth::password;
use crate::domain::{Password, parse_id, sha256_hex};
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass, Role};

const CODE_LIFETIME_HOURS: i64 = 72;
const MAX_FAILED_ATTEMPTS: i32 = 5;
/// Stored instead of a hash until the patient enrols: matches no password.
const NOT_ENROLLED: &str = "!not-enrolled";

pub struct Invitation {
    pub account: user::Model,
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

fn code_hash(code: &str) -> String {
    sha256_hex(code.trim().as_bytes())
}

fn normalised(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

impl Caller {
    pub async fn invite_patient(&self, patient_id: &str, email: &str) -> AppResult<Invitation> {
        let principal = self.require(Action::Create, FieldClass::PatientAccounts)?;
        let patient_id = parse_id("patientId", patient_id)?;
        // Only a patient the desk can see; a restricted one is NOT_FOUND.
        self.visible_patient(principal, patient_id).await?;
        let record = patient::Entity::find_by_id(patient_id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound)?;
        if record.national_id.is_none() {
            return Err(AppError::bad_input(
                "the record has no national id, which the patient needs to prove who they are when enrolling",
            ));
        }
        let linked = user::Entity::find()
            .filter(user::Column::PatientId.eq(patient_id))
            .count(&self.db)
            .await?;
        if linked > 0 {
            return Err(AppError::bad_input("this patient already has an account"));
        }
        let placeholder = crate::domain::Secret::new(URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>()));
        let mut account = create_account(
            &self.db,
            NewAccount {
                email: email.to_owned(),
                name: format!("{} {}", record.given_name, record.family_name),
                role: Role::Patient,
                password: placeholder.expose_secret().clone(),
                patient_id: Some(patient_id),
                department_id: None,
            },
        )
        .await?;
        // The account cannot log in until the patient sets a password.
        let mut row: user::ActiveModel = account.clone().into();
        row.password_hash = Set(NOT_ENROLLED.to_owned());
        account = row.update(&self.db).await?;
        let code = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 18]>());
        let now = Utc::now();
        let expires_at = now + Duration::hours(CODE_LIFETIME_HOURS);
        enrolment::ActiveModel {
            id: Set(Uuid::new_v4()),
            user_id: Set(account.id),
            code_hash: Set(code_hash(&code)),
            created_by: Set(principal.user_id),
            created_at: Set(now),
            expires_at: Set(expires_at),
            used_at: Set(None),
            failed_attempts: Set(0),
        }
        .insert(&self.db)
        .await?;
        tracing::info!(target: "caregraph::security", user_id = %principal.user_id, patient_account_id = %account.id, "patient invited");
        Ok(Invitation {
            account,
            code,
            expires_at,
        })
    }

    /// Redeems an invitation: the code, the national id on the record, and
    /// the password the patient chooses. Any mismatch is the same answer.
    pub async fn enrol(&self, code: &str, national_id: &str, new_password: String) -> AppResult<()> {
        self.one_credential_per_request()?;
        let password = Password::parse(new_password)?;
        let refused = || {
            AppError::bad_input("the enrolment code is invalid or has expired, or the details do not match")
        };
        let now = Utc::now();
        let invitation = enrolment::Entity::find()
            .filter(enrolment::Column::CodeHash.eq(code_hash(code)))
            .one(&self.db)
            .await?
            .filter(|e| e.used_at.is_none() && e.expires_at > now && e.failed_attempts < MAX_FAILED_ATTEMPTS)
            .ok_or_else(refused)?;
        let account = user::Entity::find_by_id(invitation.user_id)
            .one(&self.db)
            .await?
            .ok_or_else(refused)?;
        let record = match account.patient_id {
            Some(id) => patient::Entity::find_by_id(id).one(&self.db).await?,
            None => None,
        }
        .ok_or_else(refused)?;
        let matches = record
            .national_id
            .as_deref()
            .is_some_and(|on_record| normalised(on_record) == normalised(national_id));
        if !matches {
            enrolment::Entity::update_many()
                .col_expr(
                    enrolment::Column::FailedAttempts,
                    Expr::col(enrolment::Column::FailedAttempts).add(1),
                )
                .filter(enrolment::Column::Id.eq(invitation.id))
                .exec(&self.db)
                .await?;
            tracing::warn!(target: "caregraph::security", patient_account_id = %account.id, "enrolment refused: details do not match");
            return Err(refused());
        }
        // Single use, even against a concurrent redemption.
        let claimed = enrolment::Entity::update_many()
            .col_expr(enrolment::Column::UsedAt, Expr::value(now))
            .filter(enrolment::Column::Id.eq(invitation.id))
            .filter(enrolment::Column::UsedAt.is_null())
            .exec(&self.db)
            .await?;
        if claimed.rows_affected != 1 {
            return Err(refused());
        }
        let hash = password::hash(password).await?;
        let mut row: user::ActiveModel = account.into();
        row.password_hash = Set(hash);
        let account = row.update(&self.db).await?;
        tracing::info!(target: "caregraph::security", patient_account_id = %account.id, "patient enrolled");
        Ok(())
    }
}
