//! Just-in-time elevation: a staff member asks for another role for up to
//! eight hours (`requestElevation`), and a different ADMIN approves or
//! refuses it (`decideElevation`). Every step is an ELEVATION event.
//!
//! How it fits the rest. The policy decides on the `Principal`'s role, and
//! while an elevation is approved and unexpired that role *is* the elevated
//! one: approval writes the role and its end onto the account's live
//! sessions (`sessions.elevated_role`, `elevated_until`), a login copies an
//! active one onto its new session, and `SessionStore::authenticate` takes
//! it from the session row it reads anyway, so the request path costs no
//! extra statement and the elevation ends by itself, on every instance, at
//! the first request after `elevated_until`. The access token's `role` claim
//! stays the account's own role (`users.role`): an elevation is not a role
//! change, so "a role change ends the session" keeps comparing the claim
//! with `users.role` and tokens live on across an elevation's start and end;
//! a real role change still ends them, elevation or not. The elevated
//! principal keeps its own role in `elevated_from`, and an elevated
//! principal may not decide elevations (nobody approves their own, nor
//! through a role approved for them).

use async_graphql::{ID, SimpleObject};
use caregraph_entity::{elevation, session, user};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::Caller;
use super::break_glass::checked_reason;
use crate::audit::{AuditAction, Detail};
use crate::auth::sessions::ELEVATION_APPROVED as APPROVED;
use crate::domain::{UnknownStored, parse_id};
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass, Role};

/// The longest elevation that can be asked for: eight hours.
pub const MAX_ELEVATION_MINUTES: i32 = 480;

const REQUESTED: &str = "REQUESTED";
const REFUSED: &str = "REFUSED";

/// A request for another role, as its requester and the administrators see it.
#[derive(SimpleObject)]
#[graphql(visible = "super::visibility::staff")]
pub struct Elevation {
    #[graphql(skip_output, derived(owned, name = "id", into = "ID", with = "to_id"))]
    pub id: Uuid,
    /// Who asked.
    #[graphql(
        skip_output,
        derived(owned, name = "requester_id", into = "ID", with = "to_id")
    )]
    pub requester_id: Uuid,
    /// The role asked for.
    pub role: Result<Role, UnknownStored>,
    /// Why, in the requester's words.
    pub reason: String,
    pub minutes: i32,
    pub requested_at: DateTime<Utc>,
    /// REQUESTED, APPROVED or REFUSED.
    pub status: String,
    /// Approved: when the elevation ends by itself.
    pub expires_at: Option<DateTime<Utc>>,
    /// Approved and not yet ended.
    pub active: bool,
}

fn to_id(id: Uuid) -> ID {
    ID(id.to_string())
}

fn value(row: elevation::Model, now: DateTime<Utc>) -> Elevation {
    Elevation {
        active: row.status == APPROVED && row.expires_at.is_some_and(|end| now < end),
        id: row.id,
        requester_id: row.user_id,
        role: Role::parse(&row.role).ok_or(UnknownStored("role")),
        reason: row.reason,
        minutes: row.minutes,
        requested_at: row.requested_at,
        status: row.status,
        expires_at: row.expires_at,
    }
}

impl Caller {
    /// Asks for `role` for `minutes` (1 to 480), with a reason (a sentence).
    /// Staff only; not one's own role, never PATIENT.
    #[tracing::instrument(skip_all)]
    pub async fn request_elevation(&self, role: Role, reason: &str, minutes: i32) -> AppResult<Elevation> {
        let principal = self.principal()?;
        let own_role = principal.elevated_from.unwrap_or(principal.role);
        if own_role == Role::Patient {
            return Err(AppError::forbidden("only staff may ask for elevation"));
        }
        if role == Role::Patient || role == own_role {
            return Err(AppError::bad_input("ask for a staff role other than your own"));
        }
        if !(1..=MAX_ELEVATION_MINUTES).contains(&minutes) {
            return Err(AppError::bad_input(format!(
                "an elevation lasts 1 to {MAX_ELEVATION_MINUTES} minutes"
            )));
        }
        let reason = checked_reason(reason)?;
        let now = Utc::now();
        let txn = self.begin_write().await?;
        let row = elevation::ActiveModel {
            id: Set(Uuid::new_v4()),
            user_id: Set(principal.user_id),
            role: Set(role.as_str().to_owned()),
            reason: Set(reason),
            minutes: Set(minutes),
            requested_at: Set(now),
            decided_by: Set(None),
            decided_at: Set(None),
            status: Set(REQUESTED.to_owned()),
            expires_at: Set(None),
        }
        .insert(&txn)
        .await?;
        let detail = Detail::new()
            .id("elevation", row.id)
            .code("step", REQUESTED)
            .code("role", role.as_str())
            .count("minutes", i64::from(minutes));
        let event = self.write_event(principal, AuditAction::Elevation, None, detail);
        self.commit_write(txn, event).await?;
        tracing::info!(target: "caregraph::security", user_id = %principal.user_id, elevation_id = %row.id, role = role.as_str(), "elevation requested");
        Ok(value(row, now))
    }

    /// Requests waiting for a decision, oldest first (ADMIN).
    pub async fn elevation_requests(&self) -> AppResult<Vec<Elevation>> {
        self.require(Action::Write, FieldClass::Accounts)?;
        let now = Utc::now();
        Ok(elevation::Entity::find()
            .filter(elevation::Column::Status.eq(REQUESTED))
            .order_by_asc(elevation::Column::RequestedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| value(row, now))
            .collect())
    }

    /// Approves or refuses a request: an ADMIN (by their own role, not an
    /// elevated one) other than the requester, with a recent authentication
    /// (step-up). Approval starts the elevation now, on the requester's
    /// live sessions and on those they open until it ends.
    #[tracing::instrument(skip_all)]
    pub async fn decide_elevation(&self, id: &str, approve: bool) -> AppResult<Elevation> {
        let principal = self.require(Action::Write, FieldClass::Accounts)?;
        if principal.elevated_from.is_some() {
            return Err(AppError::forbidden("an elevated role may not decide elevations"));
        }
        self.sessions.require_recent_authentication(&principal)?;
        let id = parse_id("id", id)?;
        let row = elevation::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound)?;
        if row.user_id == principal.user_id {
            return Err(AppError::forbidden("nobody decides their own elevation"));
        }
        if row.status != REQUESTED {
            return Err(AppError::bad_input("this request was already decided"));
        }
        let requester_active = user::Entity::find_by_id(row.user_id)
            .one(&self.db)
            .await?
            .is_some_and(|u| u.active);
        if approve && !requester_active {
            return Err(AppError::bad_input("the requester's account is not active"));
        }
        let now = Utc::now();
        let (status, expires_at) = if approve {
            (APPROVED, Some(now + Duration::minutes(i64::from(row.minutes))))
        } else {
            (REFUSED, None)
        };
        let txn = self.begin_write().await?;
        let decided = elevation::Entity::update_many()
            .col_expr(elevation::Column::Status, Expr::value(status))
            .col_expr(elevation::Column::DecidedBy, Expr::value(principal.user_id))
            .col_expr(elevation::Column::DecidedAt, Expr::value(now))
            .col_expr(elevation::Column::ExpiresAt, Expr::value(expires_at))
            .filter(elevation::Column::Id.eq(row.id))
            .filter(elevation::Column::Status.eq(REQUESTED))
            .exec(&txn)
            .await?;
        if decided.rows_affected != 1 {
            return Err(AppError::bad_input("this request was already decided"));
        }
        if let Some(end) = expires_at {
            session::Entity::update_many()
                .col_expr(session::Column::ElevatedRole, Expr::value(row.role.clone()))
                .col_expr(session::Column::ElevatedUntil, Expr::value(end))
                .filter(session::Column::UserId.eq(row.user_id))
                .filter(session::Column::RevokedAt.is_null())
                .exec(&txn)
                .await?;
        }
        let role = Role::parse(&row.role).ok_or(UnknownStored("role"))?;
        let detail = Detail::new()
            .id("elevation", row.id)
            .id("account", row.user_id)
            .code("step", status)
            .code("role", role.as_str())
            .count("minutes", i64::from(row.minutes));
        let event = self.write_event(principal, AuditAction::Elevation, None, detail);
        self.commit_write(txn, event).await?;
        tracing::info!(target: "caregraph::security", user_id = %principal.user_id, elevation_id = %row.id, status, "elevation decided");
        let updated = elevation::Model {
            status: status.to_owned(),
            decided_by: Some(principal.user_id),
            decided_at: Some(now),
            expires_at,
            ..row
        };
        Ok(value(updated, now))
    }
}
