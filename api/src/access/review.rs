//! explainAccess: for one user and one patient, every decision the policy
//! would take and the rule that takes it. It reveals no patient data, only
//! decisions, so it looks the pair up without the caller's own scope.

use caregraph_entity::{care_assignment, patient, user};
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::Caller;
use super::disclosure::{Disclosed, Subject};
use super::scope::{active_assignment, standing};
use crate::domain::parse_id;
use crate::error::{AppError, AppResult};
use crate::policy::{Action, Decision, FieldClass, Role, Scope};

pub struct ExplainedDecision {
    pub class: FieldClass,
    pub action: Action,
    pub allowed: bool,
    pub rule: String,
}

pub struct Explanation {
    pub user_id: uuid::Uuid,
    pub role: Role,
    pub patient_id: uuid::Uuid,
    pub restricted: bool,
    pub scopes: Vec<Scope>,
    pub attending: bool,
    pub decisions: Vec<ExplainedDecision>,
    pub conditions: Vec<String>,
}

impl Caller {
    /// Explaining access reveals relationships to the patient (CARE_TEAM-like
    /// facts): it passes the door as an ACCESS_REVIEW read of that patient.
    pub async fn explain_access(&self, user_id: &str, patient_id: &str) -> AppResult<Disclosed<Explanation>> {
        let patient = parse_id("patientId", patient_id)?;
        let explanation = self.explanation(user_id, patient_id).await?;
        Ok(self.disclose_allowed(
            crate::audit::AuditAction::ExplainAccess,
            Subject::Patient(patient),
            FieldClass::AccessReview,
            explanation,
        ))
    }

    async fn explanation(&self, user_id: &str, patient_id: &str) -> AppResult<Explanation> {
        let principal = self.require(Action::Read, FieldClass::AccessReview)?;
        let user_id = parse_id("userId", user_id)?;
        let patient_id = parse_id("patientId", patient_id)?;
        // Only patients the reviewer can see at all: a restricted patient is
        // NOT_FOUND here as everywhere, so this is no VIP oracle.
        self.visible_patient(principal, patient_id).await?;
        let user = user::Entity::find_by_id(user_id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound)?;
        let patient = patient::Entity::find_by_id(patient_id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound)?;
        let role =
            Role::parse(&user.role).ok_or_else(|| AppError::Internal("stored role is unknown".into()))?;
        let now = Utc::now();
        let mut kinds: Vec<String> = care_assignment::Entity::find()
            .filter(care_assignment::Column::StaffId.eq(user.id))
            .filter(care_assignment::Column::PatientId.eq(patient.id))
            .filter(active_assignment(now))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|a| a.kind)
            .collect();
        let broken_glass = caregraph_entity::break_glass_grant::Entity::find()
            .filter(caregraph_entity::break_glass_grant::Column::UserId.eq(user.id))
            .filter(caregraph_entity::break_glass_grant::Column::PatientId.eq(patient.id))
            .filter(super::scope::active_grant(now))
            .count(&self.db)
            .await?;
        if broken_glass > 0 {
            kinds.push(super::scope::BREAK_GLASS.to_owned());
        }
        let standing = standing(user.id, user.patient_id, &patient, &kinds);
        let mut decisions = Vec::new();
        for class in FieldClass::ALL {
            for action in Action::ALL {
                let (allowed, rule) = match self.policy.decide(role, action, class, standing.relationships) {
                    Decision::Allow { grant } => {
                        let described = self
                            .policy
                            .grants()
                            .iter()
                            .find(|g| g.number == grant)
                            .map(|g| g.describe());
                        (true, described.unwrap_or_else(|| format!("grant #{grant}")))
                    }
                    Decision::Deny => (false, "no grant applies: denied by default".to_owned()),
                };
                decisions.push(ExplainedDecision {
                    class,
                    action,
                    allowed,
                    rule,
                });
            }
        }
        let mut conditions = Vec::new();
        if !user.active {
            conditions.push("the account is deactivated: it cannot log in, so nothing applies".to_owned());
        }
        if patient.restricted {
            conditions.push(
                "restricted patient: ANY and having registered the patient do not count; only an explicit active assignment or SELF".to_owned(),
            );
        }
        if decisions
            .iter()
            .any(|d| d.allowed && d.class == FieldClass::SensitiveNotes && d.action == Action::Read)
        {
            conditions.push(if standing.attending {
                "SENSITIVE_NOTES: as attending doctor, all sensitive notes".to_owned()
            } else {
                "SENSITIVE_NOTES: only the sensitive notes this user wrote (not attending)".to_owned()
            });
        }
        tracing::info!(target: "caregraph::security", user_id = %principal.user_id, explained_user_id = %user.id, patient_id = %patient.id, "access explained");
        Ok(Explanation {
            user_id: user.id,
            role,
            patient_id: patient.id,
            restricted: patient.restricted,
            scopes: standing.relationships.scopes(),
            attending: standing.attending,
            decisions,
            conditions,
        })
    }
}
