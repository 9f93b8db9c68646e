//! The research data set and the access explanation.

use async_graphql::{Context, ID, Object, SimpleObject};

use super::errors::ApiResult;
use super::types::caller;
use super::visibility;
use crate::access::{DeidentifiedPatient as Record, Explanation};
use crate::policy::{Action, FieldClass, Role, Scope};

#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_deidentified")]
pub struct DeidentifiedObservation {
    kind: String,
    value: f64,
    /// The year only: no finer date leaves the data set.
    year: i32,
}

/// One patient under HIPAA Safe Harbor: no names, contact data, identifiers
/// or dates finer than a year.
#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_deidentified")]
pub struct DeidentifiedPatient {
    /// Stable within this server, unlinkable to the patient's id.
    pseudonym: String,
    /// Null for ages over 89.
    birth_year: Option<i32>,
    /// Whole years, or "90+".
    age: String,
    sex: String,
    /// First three digits of the ZIP code; 000 for sparsely populated areas.
    zip3: Option<String>,
    diagnosis_codes: Vec<String>,
    observations: Vec<DeidentifiedObservation>,
}

impl From<Record> for DeidentifiedPatient {
    fn from(r: Record) -> Self {
        DeidentifiedPatient {
            pseudonym: r.pseudonym,
            birth_year: r.birth_year,
            age: r.age,
            sex: r.sex,
            zip3: r.zip3,
            diagnosis_codes: r.diagnosis_codes,
            observations: r
                .observations
                .into_iter()
                .map(|o| DeidentifiedObservation {
                    kind: o.kind,
                    value: o.value,
                    year: o.year,
                })
                .collect(),
        }
    }
}

#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_deidentified")]
pub struct DeidentifiedPatientPage {
    nodes: Vec<DeidentifiedPatient>,
    has_next_page: bool,
    end_cursor: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(visible = "visibility::reviews_access")]
pub struct AccessDecision {
    field_class: FieldClass,
    action: Action,
    allowed: bool,
    /// The grant that allowed it (number, line, holder, reason), or why not.
    rule: String,
}

#[derive(SimpleObject)]
#[graphql(visible = "visibility::reviews_access")]
pub struct AccessExplanation {
    user_id: ID,
    role: Role,
    patient_id: ID,
    restricted: bool,
    /// The relationship scopes that hold between the user and the patient now.
    scopes: Vec<Scope>,
    attending: bool,
    decisions: Vec<AccessDecision>,
    /// Attribute rules that narrow the decisions further.
    conditions: Vec<String>,
}

impl From<Explanation> for AccessExplanation {
    fn from(e: Explanation) -> Self {
        AccessExplanation {
            user_id: ID(e.user_id.to_string()),
            role: e.role,
            patient_id: ID(e.patient_id.to_string()),
            restricted: e.restricted,
            scopes: e.scopes,
            attending: e.attending,
            decisions: e
                .decisions
                .into_iter()
                .map(|d| AccessDecision {
                    field_class: d.class,
                    action: d.action,
                    allowed: d.allowed,
                    rule: d.rule,
                })
                .collect(),
            conditions: e.conditions,
        }
    }
}

#[derive(Default)]
pub struct ReviewQuery;

#[Object]
impl ReviewQuery {
    /// The de-identified research data set (restricted patients excluded).
    #[graphql(visible = "visibility::reads_deidentified")]
    async fn deidentified_patients(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0 to 500 (default 100).")] first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<DeidentifiedPatientPage> {
        let page = caller(ctx).deidentified_patients(first, after.as_deref()).await?;
        Ok(DeidentifiedPatientPage {
            nodes: page.patients.into_iter().map(DeidentifiedPatient::from).collect(),
            has_next_page: page.has_next_page,
            end_cursor: page.end_cursor,
        })
    }

    /// Per field class and action: may this user do it for this patient,
    /// and which policy rule decides.
    #[graphql(visible = "visibility::reviews_access")]
    async fn explain_access(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        patient_id: ID,
    ) -> ApiResult<AccessExplanation> {
        Ok(caller(ctx).explain_access(&user_id, &patient_id).await?.into())
    }
}
