//! Break-glass: a clinician opens a patient outside their care in an
//! emergency, stating why. The grant reads what the policy's BREAK_GLASS
//! grants allow (every read recorded under purpose EMERGENCY, the purpose of
//! those grants), for `[break_glass] grant_hours`, then nothing. Each grant
//! is pushed at once to subscribed compliance officers and waits for their
//! review.
//!
//! The reason is the clinician's own words: it is stored with the grant and
//! shown to reviewers, never written to the audit trail or a log line.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{ID, SimpleObject};
use caregraph_entity::{break_glass_grant, patient, user};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::Caller;
use super::disclosure::{Disclosed, Subject};
use super::loaders::CareRelationLoader;
use super::scope::{active_grant, standing};
use super::visibility;
use crate::audit::{Audit, AuditAction, AuditEvent, Detail, Outcome};
use crate::auth::sessions::SessionStore;
use crate::domain::{BreakGlassOutcome, UnknownStored, parse_id};
use crate::error::{AppError, AppResult};
use crate::policy::{Action, FieldClass, Policy, Role};

/// The shortest reason accepted, in characters.
const MIN_REASON: usize = 20;
const MAX_REASON: usize = 2000;
const MAX_NOTE: usize = 4000;

/// New grants, as reviewers see them, pushed to every open subscription.
///
/// In-process only: with several server instances behind a load balancer a
/// subscriber sees only the grants opened through its own instance. Carrying
/// them across instances would take PostgreSQL LISTEN/NOTIFY on the
/// `break_glass_grants` insert; that is left out for now (the list and its
/// review are complete on every instance, being read from the database).
#[derive(Clone)]
pub struct BreakGlassFeed(broadcast::Sender<BreakGlassGrant>);

impl Default for BreakGlassFeed {
    fn default() -> Self {
        BreakGlassFeed(broadcast::channel(256).0)
    }
}

/// Whether a grant still waits for a compliance officer.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(visible = "visibility::reviews_break_glass")]
pub enum BreakGlassStatus {
    AwaitingReview,
    Reviewed,
}

/// Your own emergency access to one patient, while it lasts.
#[derive(SimpleObject, Clone)]
#[graphql(visible = "visibility::breaks_glass")]
pub struct BreakGlassAccess {
    #[graphql(skip_output, derived(owned, name = "id", into = "ID", with = "to_id"))]
    pub id: Uuid,
    /// The patient opened.
    #[graphql(skip_output, derived(owned, name = "patient_id", into = "ID", with = "to_id"))]
    pub patient_id: Uuid,
    /// Why, in your words, as the reviewers will read it.
    pub reason: String,
    pub opened_at: DateTime<Utc>,
    /// After this, the grant opens nothing.
    pub expires_at: DateTime<Utc>,
}

/// Who opened a grant, or reviewed one.
#[derive(SimpleObject, Clone)]
#[graphql(visible = "visibility::reviews_break_glass")]
pub struct BreakGlassStaff {
    #[graphql(skip_output, derived(owned, name = "id", into = "ID", with = "to_id"))]
    pub id: Uuid,
    pub name: String,
    pub role: Result<Role, UnknownStored>,
}

/// A compliance officer's retrospective review of a grant.
#[derive(SimpleObject, Clone)]
#[graphql(visible = "visibility::reviews_break_glass")]
pub struct BreakGlassReview {
    pub outcome: Result<BreakGlassOutcome, UnknownStored>,
    pub note: Option<String>,
    pub reviewed_at: DateTime<Utc>,
    pub reviewer: Option<BreakGlassStaff>,
}

/// One break-glass, as compliance officers review it.
#[derive(SimpleObject, Clone)]
#[graphql(visible = "visibility::reviews_break_glass")]
pub struct BreakGlassGrant {
    #[graphql(skip_output, derived(owned, name = "id", into = "ID", with = "to_id"))]
    pub id: Uuid,
    /// The clinician who broke glass.
    pub opened_by: Option<BreakGlassStaff>,
    #[graphql(skip_output, derived(owned, name = "patient_id", into = "ID", with = "to_id"))]
    pub patient_id: Uuid,
    /// The clinician's stated reason.
    pub reason: String,
    pub opened_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Still opening the patient's record right now.
    pub active: bool,
    /// Null while the grant awaits review.
    pub review: Option<BreakGlassReview>,
}

/// How often one clinician broke glass, and how it was judged.
#[derive(SimpleObject, Clone)]
#[graphql(visible = "visibility::reviews_break_glass")]
pub struct BreakGlassCount {
    pub staff: Option<BreakGlassStaff>,
    /// Every grant this person ever opened.
    pub opened: i32,
    pub awaiting_review: i32,
    pub inappropriate: i32,
}

/// The grants asked for, newest first, and per-user counts over all grants.
#[derive(SimpleObject)]
#[graphql(visible = "visibility::reviews_break_glass")]
pub struct BreakGlassReport {
    pub grants: Vec<BreakGlassGrant>,
    /// One entry per clinician who ever broke glass, most grants first.
    pub per_user: Vec<BreakGlassCount>,
}

fn to_id(id: Uuid) -> ID {
    ID(id.to_string())
}

fn staff_of(model: &user::Model) -> BreakGlassStaff {
    BreakGlassStaff {
        id: model.id,
        name: model.name.clone(),
        role: Role::parse(&model.role).ok_or(UnknownStored("role")),
    }
}

fn grant_value(
    row: break_glass_grant::Model,
    staff: &HashMap<Uuid, user::Model>,
    now: DateTime<Utc>,
) -> BreakGlassGrant {
    let review = match (row.reviewed_at, row.review_outcome) {
        (Some(reviewed_at), Some(outcome)) => Some(BreakGlassReview {
            outcome: BreakGlassOutcome::parse(&outcome),
            note: row.review_note,
            reviewed_at,
            reviewer: row.reviewed_by.and_then(|id| staff.get(&id)).map(staff_of),
        }),
        _ => None,
    };
    BreakGlassGrant {
        id: row.id,
        opened_by: staff.get(&row.user_id).map(staff_of),
        patient_id: row.patient_id,
        reason: row.reason,
        opened_at: row.opened_at,
        expires_at: row.expires_at,
        active: row.opened_at <= now && now < row.expires_at,
        review,
    }
}

fn access_value(row: break_glass_grant::Model) -> BreakGlassAccess {
    BreakGlassAccess {
        id: row.id,
        patient_id: row.patient_id,
        reason: row.reason,
        opened_at: row.opened_at,
        expires_at: row.expires_at,
    }
}

/// A reason a reviewer can read: a sentence, not a placeholder.
pub(super) fn checked_reason(reason: &str) -> AppResult<String> {
    let reason = reason.trim();
    let chars = reason.chars().count();
    if chars < MIN_REASON {
        return Err(AppError::bad_input(format!(
            "state the reason for emergency access in a sentence of at least {MIN_REASON} characters"
        )));
    }
    if chars > MAX_REASON {
        return Err(AppError::bad_input(format!(
            "the reason is longer than {MAX_REASON} characters"
        )));
    }
    let words = reason
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .count();
    let mut letters: Vec<char> = reason
        .chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect();
    letters.sort_unstable();
    letters.dedup();
    if words < 3 || letters.len() < 6 {
        return Err(AppError::bad_input(
            "the reason must be a real sentence saying why emergency access is needed, not repeated characters",
        ));
    }
    Ok(reason.to_owned())
}

impl Caller {
    /// Opens `patient_id` for emergency reading. FORBIDDEN for roles without
    /// a BREAK_GLASS grant; NOT_FOUND for an id that names no patient who can
    /// be opened this way; BAD_USER_INPUT for a reason that is no sentence or
    /// a patient the caller can already read.
    #[tracing::instrument(skip_all)]
    pub async fn break_glass(&self, patient_id: &str, reason: &str) -> AppResult<BreakGlassAccess> {
        let asked_for = parse_id("patientId", patient_id).ok();
        let opened = self.open_break_glass(patient_id, reason).await;
        self.noting_refusal(opened, AuditAction::BreakGlass, asked_for, "break_glass_grant")
    }

    async fn open_break_glass(&self, patient_id: &str, reason: &str) -> AppResult<BreakGlassAccess> {
        let principal = self.principal()?;
        if !self.policy.may_break_glass(principal.role) {
            return Err(AppError::forbidden("your role may not break glass"));
        }
        self.sessions.require_recent_authentication(&principal)?;
        let patient_id = parse_id("patientId", patient_id)?;
        let reason = checked_reason(reason)?;
        // Restricted (VIP, staff-as-patient) records are not opened this
        // way: DESIGN §3 makes them reachable only through an explicit
        // assignment or SELF, for every role. Such a record answers NOT_FOUND
        // like an id that does not exist, so this is no VIP oracle either.
        let row = patient::Entity::find_by_id(patient_id)
            .filter(patient::Column::Restricted.eq(false))
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound)?;
        // How the caller stands to the patient now, fresh from the database
        // (not from this request's cache).
        let relations = CareRelationLoader::new(self.db.clone(), Some(principal.user_id), true)
            .load(&[patient_id])
            .await?;
        let kinds = relations.get(&patient_id).cloned().unwrap_or_default();
        let standing = standing(principal.user_id, principal.patient_id, &row, &kinds);
        let permissions = self.policy.permissions(principal.role, standing.relationships);
        let opens = self.policy.break_glass_classes(principal.role, Action::Read);
        if opens.iter().all(|class| permissions.allows(Action::Read, *class)) {
            return Err(AppError::bad_input(
                "you can already read this patient's record: break-glass is not needed",
            ));
        }

        let now = Utc::now();
        let txn = self.begin_write().await?;
        let grant = break_glass_grant::ActiveModel {
            id: Set(Uuid::new_v4()),
            user_id: Set(principal.user_id),
            patient_id: Set(patient_id),
            reason: Set(reason),
            opened_at: Set(now),
            expires_at: Set(now + self.policy.break_glass_window()),
            reviewed_by: Set(None),
            reviewed_at: Set(None),
            review_outcome: Set(None),
            review_note: Set(None),
        }
        .insert(&txn)
        .await?;
        let detail = Detail::new()
            .code("record", "break_glass_grant")
            .id("grant", grant.id);
        let event = self.write_event(principal, AuditAction::BreakGlass, Some(patient_id), detail);
        self.commit_write(txn, event).await?;
        tracing::warn!(
            target: "caregraph::security",
            grant_id = %grant.id,
            patient_id = %patient_id,
            user_id = %principal.user_id,
            "break-glass opened"
        );

        let holder = user::Entity::find_by_id(principal.user_id).one(&self.db).await?;
        let staff: HashMap<Uuid, user::Model> = holder.into_iter().map(|u| (u.id, u)).collect();
        // No subscriber is not an error: the grant is in the list regardless.
        let _ = self
            .break_glass_feed
            .0
            .send(grant_value(grant.clone(), &staff, now));
        Ok(access_value(grant))
    }

    /// The caller's own grants that are open right now.
    pub async fn active_break_glass(&self) -> AppResult<Vec<BreakGlassAccess>> {
        let principal = self.principal()?;
        let rows = break_glass_grant::Entity::find()
            .filter(break_glass_grant::Column::UserId.eq(principal.user_id))
            .filter(active_grant(Utc::now()))
            .order_by_asc(break_glass_grant::Column::ExpiresAt)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(access_value).collect())
    }

    /// Records a compliance officer's finding on a grant, once. Nobody
    /// reviews their own grant.
    #[tracing::instrument(skip_all)]
    pub async fn review_break_glass(
        &self,
        id: &str,
        outcome: BreakGlassOutcome,
        note: Option<String>,
    ) -> AppResult<BreakGlassGrant> {
        let principal = self.require(Action::Write, FieldClass::BreakGlassReview)?;
        let id = parse_id("id", id)?;
        let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
            return Err(AppError::bad_input(format!(
                "the note is longer than {MAX_NOTE} characters"
            )));
        }
        let grant = break_glass_grant::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound)?;
        if grant.user_id == principal.user_id {
            return Err(AppError::forbidden("you cannot review your own break-glass"));
        }
        if grant.reviewed_at.is_some() {
            return Err(AppError::bad_input("this break-glass has already been reviewed"));
        }
        let now = Utc::now();
        let txn = self.begin_write().await?;
        // Only a grant still unreviewed: two reviewers at once, one wins.
        let updated = break_glass_grant::Entity::update_many()
            .col_expr(
                break_glass_grant::Column::ReviewedBy,
                Expr::value(principal.user_id),
            )
            .col_expr(break_glass_grant::Column::ReviewedAt, Expr::value(now))
            .col_expr(
                break_glass_grant::Column::ReviewOutcome,
                Expr::value(outcome.as_str()),
            )
            .col_expr(break_glass_grant::Column::ReviewNote, Expr::value(note.clone()))
            .filter(break_glass_grant::Column::Id.eq(id))
            .filter(break_glass_grant::Column::ReviewedAt.is_null())
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(AppError::bad_input("this break-glass has already been reviewed"));
        }
        let detail = Detail::new()
            .code("record", "break_glass_grant")
            .id("grant", id)
            .code("outcome", outcome.as_str());
        let event = self.write_event(
            principal,
            AuditAction::BreakGlassReview,
            Some(grant.patient_id),
            detail,
        );
        self.commit_write(txn, event).await?;
        tracing::info!(grant_id = %id, user_id = %principal.user_id, outcome = outcome.as_str(), "break-glass reviewed");

        let reviewed = break_glass_grant::Model {
            reviewed_by: Some(principal.user_id),
            reviewed_at: Some(now),
            review_outcome: Some(outcome.as_str().to_owned()),
            review_note: note,
            ..grant
        };
        let staff = self.staff_by_id([reviewed.user_id, principal.user_id]).await?;
        Ok(grant_value(reviewed, &staff, now))
    }

    /// Grants by review status, newest first, with per-user counts.
    pub async fn break_glass_grants(
        &self,
        status: Option<BreakGlassStatus>,
    ) -> AppResult<Disclosed<BreakGlassReport>> {
        self.require(Action::Read, FieldClass::BreakGlassReview)?;
        let rows = break_glass_grant::Entity::find()
            .order_by_desc(break_glass_grant::Column::OpenedAt)
            .order_by_asc(break_glass_grant::Column::Id)
            .all(&self.db)
            .await?;
        let mut ids: Vec<Uuid> = rows.iter().map(|r| r.user_id).collect();
        ids.extend(rows.iter().filter_map(|r| r.reviewed_by));
        let staff = self.staff_by_id(ids).await?;

        let mut counts: Vec<(Uuid, BreakGlassCount)> = Vec::new();
        for row in &rows {
            let i = match counts.iter().position(|(u, _)| *u == row.user_id) {
                Some(i) => i,
                None => {
                    counts.push((
                        row.user_id,
                        BreakGlassCount {
                            staff: staff.get(&row.user_id).map(staff_of),
                            opened: 0,
                            awaiting_review: 0,
                            inappropriate: 0,
                        },
                    ));
                    counts.len() - 1
                }
            };
            let count = &mut counts[i].1;
            count.opened += 1;
            if row.reviewed_at.is_none() {
                count.awaiting_review += 1;
            }
            if row.review_outcome.as_deref() == Some(BreakGlassOutcome::Inappropriate.as_str()) {
                count.inappropriate += 1;
            }
        }
        let mut per_user: Vec<BreakGlassCount> = counts.into_iter().map(|(_, c)| c).collect();
        per_user.sort_by_key(|c| std::cmp::Reverse(c.opened));

        let now = Utc::now();
        let grants = rows
            .into_iter()
            .filter(|row| match status {
                None => true,
                Some(BreakGlassStatus::AwaitingReview) => row.reviewed_at.is_none(),
                Some(BreakGlassStatus::Reviewed) => row.reviewed_at.is_some(),
            })
            .map(|row| grant_value(row, &staff, now))
            .collect();
        Ok(self.disclose_allowed(
            AuditAction::Read,
            Subject::Clinic,
            FieldClass::BreakGlassReview,
            BreakGlassReport { grants, per_user },
        ))
    }

    async fn staff_by_id(
        &self,
        ids: impl IntoIterator<Item = Uuid>,
    ) -> AppResult<HashMap<Uuid, user::Model>> {
        let mut ids: Vec<Uuid> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(user::Entity::find()
            .filter(user::Column::Id.is_in(ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect())
    }

    /// New grants as they are opened, for a compliance officer's
    /// subscription. `token` is the access token the subscription was opened
    /// with: before each grant is sent it is checked again, as every HTTP
    /// request is (session live, role unchanged), and the feed ends when it
    /// no longer holds. Each grant sent is recorded in the audit trail.
    pub fn break_glass_opened(
        &self,
        token: String,
    ) -> AppResult<impl Stream<Item = BreakGlassGrant> + use<>> {
        let principal = self.require(Action::Read, FieldClass::BreakGlassReview)?;
        let receiver = self.break_glass_feed.0.subscribe();
        let watch = FeedWatch {
            sessions: self.sessions.clone(),
            policy: self.policy.clone(),
            audit: self.audit.clone(),
            token,
        };
        Ok(futures_util::stream::unfold(
            (receiver, watch),
            move |(mut receiver, watch)| async move {
                loop {
                    let grant = match receiver.recv().await {
                        Ok(grant) => grant,
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::warn!(
                                missed,
                                "a break-glass subscriber fell behind; see breakGlassGrants"
                            );
                            continue;
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    };
                    if !watch.still_holds(principal.user_id).await {
                        return None;
                    }
                    let event = AuditEvent::new(AuditAction::Read, Outcome::Allowed)
                        .actor(principal.user_id, Some(principal.role))
                        .patients([grant.patient_id])
                        .classes([FieldClass::BreakGlassReview])
                        .detail(
                            Detail::new()
                                .code("record", "break_glass_grant")
                                .id("grant", grant.id),
                        );
                    if let Err(e) = watch.audit.record(vec![event]).await {
                        tracing::error!(error = %e, "a pushed break-glass was not recorded; the feed ends");
                        return None;
                    }
                    return Some((grant, (receiver, watch)));
                }
            },
        ))
    }
}

/// What a long-lived subscription re-checks before each message.
struct FeedWatch {
    sessions: Arc<SessionStore>,
    policy: Arc<Policy>,
    audit: Audit,
    token: String,
}

impl FeedWatch {
    async fn still_holds(&self, user_id: Uuid) -> bool {
        match self.sessions.authenticate(&self.token).await {
            Ok(now) => {
                now.user_id == user_id
                    && !now.mfa_pending
                    && self
                        .policy
                        .could_ever(now.role, Action::Read, FieldClass::BreakGlassReview)
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::checked_reason;

    #[test]
    fn a_reason_is_a_sentence() {
        assert!(checked_reason("Unconscious patient in ED, no assigned nurse on shift").is_ok());
        for bad in [
            "",
            "emergency",
            "aaaaaaaaaaaaaaaaaaaaaaaaa",
            "abc abc abc abc abc abc abc",
            "12345678901234567890123",
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx yyyy zzz",
        ] {
            assert!(checked_reason(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
