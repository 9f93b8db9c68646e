//! The GraphQL schema: types, limits against hostile queries, and the SDL.

mod account;
mod break_glass;
mod chart;
mod common;
mod compliance;
mod elevation;
pub mod errors;
pub mod limits;
mod mfa;
mod mutation;
mod organisation;
mod patient;
mod provisioning;
mod query;
mod review;
pub use crate::access::visibility;

use std::collections::BTreeMap;

use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
use async_graphql::{MergedObject, Schema};

pub use break_glass::{Subscription, SubscriptionToken};

use crate::config::QueryLimits;

#[derive(MergedObject, Default)]
pub struct Query(
    query::CoreQuery,
    organisation::OrganisationQuery,
    review::ReviewQuery,
    provisioning::ProvisioningQuery,
    compliance::ComplianceQuery,
    break_glass::BreakGlassQuery,
    elevation::ElevationQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    mutation::CoreMutation,
    chart::ChartMutation,
    organisation::OrganisationMutation,
    provisioning::ProvisioningMutation,
    review::ReviewMutation,
    compliance::ComplianceMutation,
    break_glass::BreakGlassMutation,
    mfa::MfaMutation,
    elevation::ElevationMutation,
);

pub type CaregraphSchema = Schema<Query, Mutation, Subscription>;

/// The GraphQL types whose every field carries patient data and therefore a
/// field class in the policy.
pub const PATIENT_DATA_TYPES: &[&str] = &[crate::access::PATIENT_TYPE];

/// The schema with the default limits and introspection on (the SDL, the
/// policy's check of the field table).
pub fn build() -> CaregraphSchema {
    build_with(QueryLimits::default(), true)
}

/// The schema as served: the configured limits, checked before execution
/// (`limits`), and introspection on or off.
pub fn build_with(query_limits: QueryLimits, introspection: bool) -> CaregraphSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), Subscription)
        .limit_depth(query_limits.depth)
        .limit_complexity(query_limits.complexity)
        .limit_recursive_depth(limits::RECURSIVE_DEPTH)
        .extension(limits::Limits {
            limits: query_limits,
            introspection,
        })
        // "Did you mean ...?" would name fields hidden from the caller.
        .disable_suggestions();
    if !introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The whole schema as SDL, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    build().sdl()
}

/// The fields of every patient-data type, read from the schema itself, so the
/// policy check at start-up sees exactly what clients can query.
pub fn patient_data_fields(schema: &CaregraphSchema) -> BTreeMap<String, Vec<String>> {
    let document = async_graphql::parser::parse_schema(schema.sdl()).expect("the generated SDL parses");
    let mut fields = BTreeMap::new();
    for definition in document.definitions {
        if let TypeSystemDefinition::Type(ty) = definition {
            let name = ty.node.name.node.to_string();
            if let (true, TypeKind::Object(object)) =
                (PATIENT_DATA_TYPES.contains(&name.as_str()), &ty.node.kind)
            {
                fields.insert(
                    name,
                    object
                        .fields
                        .iter()
                        .map(|f| f.node.name.node.to_string())
                        .collect(),
                );
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{PATIENT_TYPE, PatientField};

    /// A field added to `Patient` has to be added to `PatientField` too (and
    /// so to the record the door builds, and to the policy's field table),
    /// or it has no way to reach data: the door is the only way in.
    #[test]
    fn the_schemas_patient_fields_are_exactly_the_doors() {
        let schema = patient_data_fields(&build());
        let in_schema: Vec<&str> = schema[PATIENT_TYPE].iter().map(String::as_str).collect();
        let at_the_door: Vec<&str> = PatientField::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(in_schema, at_the_door);
    }
}
