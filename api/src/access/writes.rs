//! A write and the audit event that describes it commit in one transaction:
//! no write without its event, no event for a write that was rolled back.
//! Events name the record and the fields changed, never their values.
//! A refused write is recorded with the request's other events.

use sea_orm::{
    ActiveModelTrait, DatabaseTransaction, EntityTrait, IdenStatic, Iterable, ModelTrait, TransactionTrait,
};
use uuid::Uuid;

use super::Caller;
use crate::audit::{AuditAction, AuditEvent, Detail, Outcome};
use crate::auth::Principal;
use crate::error::{AppError, AppResult};

impl Caller {
    pub(super) async fn begin_write(&self) -> AppResult<DatabaseTransaction> {
        Ok(self.db.begin().await?)
    }

    /// Appends `event` inside `txn` and commits both.
    pub(super) async fn commit_write(&self, txn: DatabaseTransaction, event: AuditEvent) -> AppResult<()> {
        self.audit.record_in(&txn, vec![event]).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The event of a write by `principal` about `patient` (if any).
    pub(super) fn write_event(
        &self,
        principal: Principal,
        action: AuditAction,
        patient: Option<Uuid>,
        detail: Detail,
    ) -> AuditEvent {
        AuditEvent::new(action, Outcome::Success)
            .actor(principal.user_id, Some(principal.role))
            .patients(patient)
            .detail(detail)
    }

    /// Passes `result` on; a write it refused (FORBIDDEN or NOT_FOUND) is
    /// recorded with the request's other events first.
    pub(super) fn noting_refusal<T>(
        &self,
        result: AppResult<T>,
        action: AuditAction,
        patient: Option<Uuid>,
        record: &'static str,
    ) -> AppResult<T> {
        if let (Err(error), Some(principal)) = (&result, self.principal) {
            let outcome = match error {
                AppError::Forbidden(_) => Outcome::Denied,
                AppError::NotFound => Outcome::NotFound,
                AppError::Unauthenticated
                | AppError::BadUserInput(_)
                | AppError::RateLimited(_)
                | AppError::MfaRequired(_)
                | AppError::ReauthRequired
                | AppError::Throttled { .. }
                | AppError::Database(_)
                | AppError::Internal(_) => return result,
            };
            self.events.push(
                AuditEvent::new(action, outcome)
                    .actor(principal.user_id, Some(principal.role))
                    .patients(patient)
                    .detail(Detail::new().code("record", record)),
            );
        }
        result
    }
}

/// The columns a change sets, by name.
pub(super) fn changed_columns<A>(change: &A) -> Vec<&'static str>
where
    A: ActiveModelTrait,
{
    <A::Entity as EntityTrait>::Column::iter()
        .filter(|column| change.get(*column).is_set())
        .map(|column| IdenStatic::as_str(&column))
        .filter(|name| !matches!(*name, "updated_at"))
        .collect()
}

/// The id a model's id column holds.
pub(super) fn id_of<M: ModelTrait>(model: &M, column: <M::Entity as EntityTrait>::Column) -> Option<Uuid> {
    <Uuid as sea_orm::sea_query::ValueType>::try_from(model.get(column)).ok()
}
