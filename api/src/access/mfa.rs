//! Setting up the second factor (TOTP): a session may do this even when its
//! role must use MFA and has not yet (everything else is MFA_REQUIRED then).
//! Starting and confirming are MFA_ENROLMENT events; a wrong code at
//! confirmation is one too (FAILURE).

use async_graphql::SimpleObject;
use caregraph_entity::{mfa_credential, mfa_recovery_code, user};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::Caller;
use crate::audit::{AuditAction, AuditEvent, Detail, Outcome};
use crate::auth::mfa::{self, provisioning_uri};
use crate::auth::sessions::mark_second_factor;
use crate::error::{AppError, AppResult};

/// The issuer authenticator apps show next to the account.
const ISSUER: &str = "caregraph";

/// A TOTP secret to put into an authenticator app, shown once.
#[derive(SimpleObject)]
pub struct TotpEnrolment {
    /// The secret in base32 (RFC 4648), for typing in.
    pub secret: String,
    /// `otpauth://totp/...`: the same secret, for a QR code.
    pub provisioning_uri: String,
}

impl Caller {
    /// A new TOTP secret for the caller's account, replacing an enrolment
    /// started and not confirmed. An account whose second factor is already
    /// set up is refused (BAD_USER_INPUT).
    #[tracing::instrument(skip_all)]
    pub async fn start_totp_enrolment(&self) -> AppResult<TotpEnrolment> {
        let principal = self.signed_in()?;
        let account = user::Entity::find_by_id(principal.user_id)
            .one(&self.db)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let already = || AppError::bad_input("this account already has a second factor set up");
        if mfa::confirmed_credential(&self.db, account.id).await?.is_some() {
            return Err(already());
        }
        let new = self.sessions.mfa().new_secret(account.id);
        let txn = self.begin_write().await?;
        mfa_credential::Entity::delete_many()
            .filter(mfa_credential::Column::UserId.eq(account.id))
            .filter(mfa_credential::Column::ConfirmedAt.is_null())
            .exec(&txn)
            .await?;
        mfa_credential::ActiveModel {
            user_id: Set(account.id),
            secret: Set(new.stored),
            confirmed_at: Set(None),
            last_step: Set(None),
            created_at: Set(Utc::now()),
        }
        .insert(&txn)
        .await
        .map_err(|e| AppError::unique_or_database(e, "this account already has a second factor set up"))?;
        let event = self.write_event(
            principal,
            AuditAction::MfaEnrolment,
            None,
            Detail::new().code("step", "STARTED").code("factor", "TOTP"),
        );
        self.commit_write(txn, event).await?;
        tracing::info!(target: "caregraph::security", user_id = %account.id, "TOTP enrolment started");
        Ok(TotpEnrolment {
            provisioning_uri: provisioning_uri(ISSUER, &account.email, &new.base32),
            secret: new.base32,
        })
    }

    /// Confirms the started enrolment with a current code from the app: from
    /// now on the account needs its second factor at every login. Returns
    /// ten single-use recovery codes, shown this once (stored hashed). This
    /// session counts as having passed the second factor.
    #[tracing::instrument(skip_all)]
    pub async fn confirm_totp_enrolment(&self, code: &str) -> AppResult<Vec<String>> {
        let principal = self.signed_in()?;
        let user_id = principal.user_id;
        let pending = mfa_credential::Entity::find_by_id(user_id)
            .filter(mfa_credential::Column::ConfirmedAt.is_null())
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::bad_input("no enrolment is waiting: call startTotpEnrolment first"))?;
        let now = Utc::now();
        let Some(step) = self
            .sessions
            .mfa()
            .matching_step(user_id, &pending.secret, code, now)?
        else {
            self.events.push(
                AuditEvent::new(AuditAction::MfaEnrolment, Outcome::Failure)
                    .actor(user_id, Some(principal.role))
                    .detail(
                        Detail::new()
                            .code("step", "CONFIRMED")
                            .code("reason", "otp_invalid"),
                    ),
            );
            return Err(AppError::bad_input(
                "the code does not match: enter the code your authenticator app shows now",
            ));
        };
        let txn = self.begin_write().await?;
        let confirmed = mfa_credential::Entity::update_many()
            .col_expr(mfa_credential::Column::ConfirmedAt, Expr::value(now))
            .col_expr(mfa_credential::Column::LastStep, Expr::value(step))
            .filter(mfa_credential::Column::UserId.eq(user_id))
            .filter(mfa_credential::Column::ConfirmedAt.is_null())
            .filter(mfa_credential::Column::Secret.eq(pending.secret.as_str()))
            .exec(&txn)
            .await?;
        if confirmed.rows_affected != 1 {
            return Err(AppError::bad_input(
                "the enrolment changed meanwhile: start it again",
            ));
        }
        mfa_recovery_code::Entity::delete_many()
            .filter(mfa_recovery_code::Column::UserId.eq(user_id))
            .exec(&txn)
            .await?;
        let codes = mfa::new_recovery_codes(user_id);
        mfa_recovery_code::Entity::insert_many(codes.iter().map(|(_, hash)| {
            mfa_recovery_code::ActiveModel {
                id: Set(Uuid::new_v4()),
                user_id: Set(user_id),
                code_hash: Set(hash.clone()),
                used_at: Set(None),
                created_at: Set(now),
            }
        }))
        .exec(&txn)
        .await?;
        mark_second_factor(&txn, principal.session_id, now).await?;
        let event = self.write_event(
            principal,
            AuditAction::MfaEnrolment,
            None,
            Detail::new()
                .code("step", "CONFIRMED")
                .code("factor", "TOTP")
                .count("recovery_codes", codes.len() as i64),
        );
        self.commit_write(txn, event).await?;
        tracing::info!(target: "caregraph::security", user_id = %user_id, "TOTP enrolment confirmed");
        Ok(codes.into_iter().map(|(shown, _)| shown).collect())
    }
}
