//! Hostile queries are refused before anything runs: an extension that walks
//! the parsed document (fragments expanded where they are spread) and counts
//! what async-graphql does not — aliases, a field repeated in one selection
//! set, directives, fragment spreads, the nesting of an introspection query —
//! and that gives async-graphql's own depth and complexity refusals the same
//! code. Every refusal is `QUERY_TOO_COMPLEX` (introspection switched off is
//! `FORBIDDEN`) with a message naming the limit and its variable; no message
//! quotes the query.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, ValidationResult, Variables};

use crate::config::QueryLimits;
use crate::error::ErrorCode;

/// async-graphql's own guard against deep recursion while parsing (fragments
/// included); far above `CAREGRAPH_MAX_DEPTH`, it only keeps the walk below
/// from recursing without end.
pub const RECURSIVE_DEPTH: usize = 32;

/// The fields of the introspection types that list types; nesting them is
/// what makes an introspection query grow without bound.
const TYPE_LISTS: &[&str] = &["types", "fields", "inputFields", "interfaces", "possibleTypes"];

/// The extension; one per schema, holding the configured limits.
pub struct Limits {
    pub limits: QueryLimits,
    pub introspection: bool,
}

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsExtension {
            limits: self.limits,
            introspection: self.introspection,
        })
    }
}

struct LimitsExtension {
    limits: QueryLimits,
    introspection: bool,
}

#[async_trait::async_trait]
impl Extension for LimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await.map_err(|e| {
            if e.message.starts_with("The recursion depth") {
                refusal(format!(
                    "the query nests selections more than {RECURSIVE_DEPTH} levels deep, fragments included"
                ))
            } else {
                e
            }
        })?;
        check(&document, &self.limits, self.introspection)?;
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| match e.message.as_str() {
                    "Query is too complex." => refusal(format!(
                        "the query's complexity is over {} (CAREGRAPH_MAX_COMPLEXITY)",
                        self.limits.complexity
                    )),
                    "Query is nested too deep." => refusal(format!(
                        "the query nests fields more than {} levels deep (CAREGRAPH_MAX_DEPTH)",
                        self.limits.depth
                    )),
                    _ => e,
                })
                .collect()
        })
    }
}

fn coded(message: String, code: ErrorCode) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
    error
}

fn refusal(message: String) -> ServerError {
    coded(message, ErrorCode::QueryTooComplex)
}

/// Checks every operation of the document; the first limit exceeded is the
/// answer.
pub fn check(document: &ExecutableDocument, limits: &QueryLimits, introspection: bool) -> ServerResult<()> {
    for (_, operation) in document.operations.iter() {
        let mut walk = Walk {
            document,
            limits,
            introspection,
            aliases: 0,
            spreads: 0,
        };
        let mut keys = HashMap::new();
        walk.selection_set(&operation.node.selection_set.node, None, &mut keys)?;
    }
    Ok(())
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    limits: &'a QueryLimits,
    introspection: bool,
    aliases: usize,
    spreads: usize,
}

impl<'a> Walk<'a> {
    /// One selection set; `keys` counts the response keys of the set it
    /// belongs to (a fragment spread or inline fragment adds to its parent's).
    /// `type_lists` is `Some(n)` inside an introspection field, `n` lists of
    /// types deep.
    fn selection_set(
        &mut self,
        set: &'a SelectionSet,
        type_lists: Option<usize>,
        keys: &mut HashMap<&'a str, usize>,
    ) -> ServerResult<()> {
        for selection in &set.items {
            if selection.node.directives().len() > self.limits.directives {
                return Err(refusal(format!(
                    "a selection carries more than {} directives (CAREGRAPH_MAX_DIRECTIVES)",
                    self.limits.directives
                )));
            }
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    if field.alias.is_some() {
                        self.aliases += 1;
                        if self.aliases > self.limits.aliases {
                            return Err(refusal(format!(
                                "the operation uses more than {} aliases, fragments included (CAREGRAPH_MAX_ALIASES)",
                                self.limits.aliases
                            )));
                        }
                    }
                    let seen = keys.entry(field.response_key().node.as_str()).or_default();
                    *seen += 1;
                    if *seen > self.limits.fields_repeated {
                        return Err(refusal(format!(
                            "a field is selected more than {} times in one selection set (CAREGRAPH_MAX_FIELDS_REPEATED)",
                            self.limits.fields_repeated
                        )));
                    }
                    let name = field.name.node.as_str();
                    let lists = match type_lists {
                        None if name == "__schema" || name == "__type" => {
                            if !self.introspection {
                                return Err(coded(
                                    "introspection is switched off on this server (CAREGRAPH_INTROSPECTION=off); \
                                     the schema is published as schema.graphql"
                                        .to_owned(),
                                    ErrorCode::Forbidden,
                                ));
                            }
                            Some(usize::from(name == "__type"))
                        }
                        None => None,
                        Some(n) => Some(n + usize::from(TYPE_LISTS.contains(&name))),
                    };
                    if lists.is_some_and(|n| n > self.limits.introspection_depth) {
                        return Err(refusal(format!(
                            "the introspection query nests more than {} lists of types (CAREGRAPH_MAX_INTROSPECTION_DEPTH)",
                            self.limits.introspection_depth
                        )));
                    }
                    if !field.selection_set.node.items.is_empty() {
                        let mut inner = HashMap::new();
                        self.selection_set(&field.selection_set.node, lists, &mut inner)?;
                    }
                }
                Selection::FragmentSpread(spread) => {
                    self.spreads += 1;
                    if self.spreads > self.limits.fragments {
                        return Err(refusal(format!(
                            "the operation spreads fragments more than {} times, nested spreads included (CAREGRAPH_MAX_FRAGMENTS)",
                            self.limits.fragments
                        )));
                    }
                    // An unknown fragment is left to validation.
                    if let Some(fragment) = self.document.fragments.get(&spread.node.fragment_name.node) {
                        self.selection_set(&fragment.node.selection_set.node, type_lists, keys)?;
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.selection_set(&inline.node.selection_set.node, type_lists, keys)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(query: &str) -> Option<String> {
        let document = async_graphql::parser::parse_query(query).unwrap();
        check(&document, &QueryLimits::default(), true)
            .err()
            .map(|e| e.message)
    }

    #[test]
    fn graphiqls_introspection_query_passes() {
        let query = include_str!("../../../tests/tests/api/introspection.graphql");
        assert_eq!(refused(query), None);
    }

    #[test]
    fn aliases_count_through_fragments() {
        let thirty: String = (0..30).map(|i| format!("a{i}: __typename ")).collect();
        assert_eq!(refused(&format!("{{ {thirty} }}")), None);
        let ten: String = (0..10).map(|i| format!("a{i}: __typename ")).collect();
        let hidden = format!("{{ ...F ...F ... on Query {{ ...F ...F }} }} fragment F on Query {{ {ten} }}");
        assert!(refused(&hidden).unwrap().contains("CAREGRAPH_MAX_ALIASES"));
        assert!(
            refused(&format!(
                "{{ ...F ...F ...F }} fragment F on Query {{ {ten} x: __typename }}"
            ))
            .unwrap()
            .contains("CAREGRAPH_MAX_ALIASES")
        );
    }

    #[test]
    fn repeated_fields_directives_and_spreads_are_counted() {
        let repeated = format!("{{ {} }}", "__typename ".repeat(11));
        assert!(
            refused(&repeated)
                .unwrap()
                .contains("CAREGRAPH_MAX_FIELDS_REPEATED")
        );
        let directives = format!("{{ __typename {} }}", "@skip(if: false) ".repeat(6));
        assert!(refused(&directives).unwrap().contains("CAREGRAPH_MAX_DIRECTIVES"));
        // A fragment bomb: each level doubles the work, the count stops it.
        let mut bomb = "{ ...F0 } ".to_owned();
        for i in 0..20 {
            bomb.push_str(&format!(
                "fragment F{i} on Query {{ ...F{n} ...F{n} }} ",
                n = i + 1
            ));
        }
        bomb.push_str("fragment F20 on Query { __typename }");
        let document = async_graphql::parser::parse_query(&bomb).unwrap();
        let lenient = QueryLimits {
            fields_repeated: 1000,
            ..QueryLimits::default()
        };
        let error = check(&document, &lenient, true).unwrap_err();
        assert!(
            error.message.contains("CAREGRAPH_MAX_FRAGMENTS"),
            "{}",
            error.message
        );
        assert!(refused(&bomb).is_some());
    }

    #[test]
    fn circular_introspection_is_refused() {
        let circular = "{ __schema { types { fields { type { fields { type { name } } } } } } }";
        assert!(
            refused(circular)
                .unwrap()
                .contains("CAREGRAPH_MAX_INTROSPECTION_DEPTH")
        );
        assert!(refused("{ __type(name: \"Query\") { fields { type { fields { name } } } } }").is_some());
        assert_eq!(
            refused("{ __type(name: \"Query\") { fields { type { name } } } }"),
            None
        );
    }

    #[test]
    fn introspection_can_be_switched_off_and_typename_still_works() {
        let document = async_graphql::parser::parse_query("{ __schema { types { name } } }").unwrap();
        let error = check(&document, &QueryLimits::default(), false).unwrap_err();
        assert!(error.message.contains("CAREGRAPH_INTROSPECTION"));
        let document = async_graphql::parser::parse_query("{ __typename }").unwrap();
        assert!(check(&document, &QueryLimits::default(), false).is_ok());
    }
}
