//! The research data set and the access explanation.

use async_graphql::{Context, ID, Object, SimpleObject};

use super::common::{Date, caller};
use super::errors::ApiResult;
use super::visibility;
use crate::access::{DeidentifiedPatient as Record, Explanation, ResearchRelease as Release};
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

/// A dated release of the research data set: a frozen snapshot of it,
/// published by a compliance officer or on the server host, at most once per
/// configured interval (a day by default). Changes to the chart after a
/// release show only in the next one.
#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_or_publishes_research")]
pub struct ResearchRelease {
    /// 1 for the first release, then 2, 3, ...
    number: i32,
    /// The day (UTC) of publication; no finer time is shown.
    released_on: Date,
    /// How many patients the release holds.
    patient_count: i32,
}

impl From<Release> for ResearchRelease {
    fn from(r: Release) -> Self {
        ResearchRelease {
            number: r.number,
            released_on: Date(r.released_on),
            patient_count: r.patient_count,
        }
    }
}

/// A page of the latest research release.
#[derive(SimpleObject)]
#[graphql(visible = "visibility::reads_deidentified")]
pub struct DeidentifiedPatientPage {
    /// The release these patients come from; null before the first release.
    release: Option<ResearchRelease>,
    nodes: Vec<DeidentifiedPatient>,
    has_next_page: bool,
    /// Pass as `after` for the next page; valid within this release only.
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
    /// The de-identified research data set (restricted patients excluded),
    /// as of the latest release: changes to the chart show only once the
    /// next release is published. Before the first release: an empty list
    /// with a null `release`, not an error.
    #[graphql(visible = "visibility::reads_deidentified")]
    async fn deidentified_patients(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0 to 500 (default 100).")] first: Option<i32>,
        #[graphql(desc = "`endCursor` of the previous page of the same release.")] after: Option<String>,
    ) -> ApiResult<DeidentifiedPatientPage> {
        let page = caller(ctx)
            .deidentified_patients(first, after.as_deref())
            .await?
            .into_inner();
        Ok(DeidentifiedPatientPage {
            release: page.release.map(ResearchRelease::from),
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
        Ok(caller(ctx)
            .explain_access(&user_id, &patient_id)
            .await?
            .into_inner()
            .into())
    }
}

#[derive(Default)]
pub struct ReviewMutation;

#[Object]
impl ReviewMutation {
    /// Publishes a release of the research data set as the chart is now;
    /// researchers read it from then on. At most one release per configured
    /// interval (`CAREGRAPH_RESEARCH_RELEASE_MIN_HOURS`, a day by default):
    /// an earlier attempt is BAD_USER_INPUT naming when the next is possible.
    #[graphql(visible = "visibility::publishes_research")]
    async fn publish_research_release(&self, ctx: &Context<'_>) -> ApiResult<ResearchRelease> {
        Ok(caller(ctx).publish_research_release().await?.into())
    }
}
