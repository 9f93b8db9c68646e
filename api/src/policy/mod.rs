//! The policy decision point: the only code that answers "may this caller do
//! this action on this class of data, standing as they do to this patient?".
//!
//! The rules come from the policy file (`policy/policy.toml`), loaded and
//! validated at start-up. Everything not granted there is denied.

mod file;
pub mod matrix;
mod vocabulary;

use std::collections::{BTreeMap, HashMap};

pub use file::PolicyError;
pub use vocabulary::{Action, ClassSet, FieldClass, Permissions, Purpose, Relationships, Role, Scope};

/// The policy shipped with the server, used unless `CAREGRAPH_POLICY_FILE` names another.
pub const BUILT_IN: &str = include_str!("../../../policy/policy.toml");
pub const BUILT_IN_NAME: &str = "policy/policy.toml (built in)";

/// Who a grant is given to: a role, or a profile that roles inherit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    Role(Role),
    Profile(String),
}

/// One `[[grant]]` of the policy file.
#[derive(Clone, Debug)]
pub struct Grant {
    /// 1-based position in the file, stable while the file is unchanged.
    pub number: usize,
    pub line: usize,
    pub holder: Holder,
    pub actions: Vec<Action>,
    pub classes: Vec<FieldClass>,
    pub scope: Scope,
    /// Why the data is used: recorded with every read this grant allows.
    pub purpose: Purpose,
    pub why: String,
}

impl Grant {
    fn covers(&self, action: Action, class: FieldClass) -> bool {
        self.actions.contains(&action) && self.classes.contains(&class)
    }

    /// `grant #7 (line 52, profile RECORD_LOOKUP)`: what an auditor looks up.
    pub fn describe(&self) -> String {
        let holder = match &self.holder {
            Holder::Role(role) => format!("role {}", role.as_str()),
            Holder::Profile(name) => format!("profile {name}"),
        };
        format!(
            "grant #{} (line {}, {holder}): {}",
            self.number, self.line, self.why
        )
    }
}

/// The outcome of one decision, with the rule that decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow {
        grant: usize,
    },
    /// Nothing granted it: deny by default.
    Deny,
}

#[derive(Debug)]
pub struct Policy {
    source: String,
    digest: String,
    grants: Vec<Grant>,
    /// Per role: indexes into `grants` of its own and inherited grants.
    effective: BTreeMap<Role, Vec<usize>>,
    inherits: BTreeMap<Role, Vec<String>>,
    /// (GraphQL type, field) -> class, for every field of a patient-data type.
    fields: BTreeMap<(String, String), FieldClass>,
    /// Per role, per scope: what the grants of that scope allow.
    by_role: HashMap<Role, Vec<(Scope, Permissions)>>,
    /// How long a break-glass grant stays open (`[break_glass] grant_hours`).
    break_glass_hours: u32,
}

impl Policy {
    /// Parses and validates a policy text; `source` names it in error messages.
    pub fn parse(source: &str, text: &str) -> Result<Policy, PolicyError> {
        let parsed = file::parse(source, text)?;
        let mut by_role: HashMap<Role, Vec<(Scope, Permissions)>> = HashMap::new();
        for (role, indexes) in &parsed.effective {
            for grant in indexes.iter().map(|i| &parsed.grants[*i]) {
                let mut permissions = Permissions::default();
                for &action in &grant.actions {
                    for &class in &grant.classes {
                        permissions.insert(action, class);
                    }
                }
                by_role.entry(*role).or_default().push((grant.scope, permissions));
            }
        }
        Ok(Policy {
            source: source.to_owned(),
            digest: file::digest(text),
            grants: parsed.grants,
            effective: parsed.effective,
            inherits: parsed.inherits,
            fields: parsed.fields,
            by_role,
            break_glass_hours: parsed.break_glass_hours,
        })
    }

    pub fn built_in() -> Policy {
        Policy::parse(BUILT_IN_NAME, BUILT_IN).expect("the built-in policy is validated by tests")
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// SHA-256 of the policy text, logged at start so an auditor knows which rules ran.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// How long a break-glass grant stays open.
    pub fn break_glass_window(&self) -> chrono::Duration {
        chrono::Duration::hours(i64::from(self.break_glass_hours))
    }

    /// Whether the role may break glass at all: it holds some grant of scope BREAK_GLASS.
    pub fn may_break_glass(&self, role: Role) -> bool {
        self.grants_of(role).any(|g| g.scope == Scope::BreakGlass)
    }

    /// The classes a break-glass grant opens to this role for `action`.
    pub fn break_glass_classes(&self, role: Role, action: Action) -> Vec<FieldClass> {
        let mut classes: Vec<FieldClass> = Vec::new();
        for grant in self.grants_of(role).filter(|g| g.scope == Scope::BreakGlass) {
            if grant.actions.contains(&action) {
                for class in &grant.classes {
                    if !classes.contains(class) {
                        classes.push(*class);
                    }
                }
            }
        }
        classes
    }

    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// The grants a role holds, its own and inherited, in file order.
    pub fn grants_of(&self, role: Role) -> impl Iterator<Item = &Grant> + '_ {
        self.effective
            .get(&role)
            .into_iter()
            .flatten()
            .map(|i| &self.grants[*i])
    }

    /// What the role inherits, as written in the policy.
    pub fn inherits(&self, role: Role) -> &[String] {
        self.inherits.get(&role).map_or(&[], Vec::as_slice)
    }

    /// Everything the role may do for a patient to whom it stands in `relationships`.
    pub fn permissions(&self, role: Role, relationships: Relationships) -> Permissions {
        self.by_role
            .get(&role)
            .into_iter()
            .flatten()
            .filter(|(scope, _)| relationships.holds(*scope))
            .fold(Permissions::default(), |all, (_, p)| all.union(*p))
    }

    /// One decision, naming the grant that allowed it.
    pub fn decide(
        &self,
        role: Role,
        action: Action,
        class: FieldClass,
        relationships: Relationships,
    ) -> Decision {
        self.grants_of(role)
            .find(|g| g.covers(action, class) && relationships.holds(g.scope))
            .map_or(Decision::Deny, |g| Decision::Allow { grant: g.number })
    }

    /// The scopes under which the role may do the action on the class at all;
    /// list queries turn these into SQL filters.
    pub fn scopes(&self, role: Role, action: Action, class: FieldClass) -> Vec<Scope> {
        let mut scopes: Vec<Scope> = self
            .grants_of(role)
            .filter(|g| g.covers(action, class))
            .map(|g| g.scope)
            .collect();
        scopes.sort();
        scopes.dedup();
        scopes
    }

    /// Whether any patient, under any scope, could let the role do this. Drives
    /// per-role introspection: a role never sees what it could never use.
    pub fn could_ever(&self, role: Role, action: Action, class: FieldClass) -> bool {
        self.grants_of(role).any(|g| g.covers(action, class))
    }

    /// The class of a field of a patient-data type; `None` means unclassified,
    /// which the schema check at start-up turns into a refusal to run.
    pub fn class_of(&self, type_name: &str, field: &str) -> Option<FieldClass> {
        self.fields
            .get(&(type_name.to_owned(), field.to_owned()))
            .copied()
    }

    /// The classified fields of one type, in name order.
    pub fn classified_fields<'a>(
        &'a self,
        type_name: &'a str,
    ) -> impl Iterator<Item = (&'a str, FieldClass)> + 'a {
        self.fields
            .iter()
            .filter(move |((t, _), _)| t == type_name)
            .map(|((_, f), c)| (f.as_str(), *c))
    }

    /// Checks the field table against the fields the schema really has: every
    /// field of every patient-data type must be classified, and nothing else.
    pub fn check_fields(&self, schema_fields: &BTreeMap<String, Vec<String>>) -> Result<(), PolicyError> {
        let mut problems = Vec::new();
        for (type_name, fields) in schema_fields {
            for field in fields {
                if self.class_of(type_name, field).is_none() {
                    problems.push(format!(
                        "field {type_name}.{field} has no class in [fields.{type_name}] (deny by default: classify it)"
                    ));
                }
            }
        }
        for (type_name, field) in self.fields.keys() {
            let known = schema_fields
                .get(type_name)
                .is_some_and(|f| f.iter().any(|f| f == field));
            if !known {
                problems.push(format!(
                    "[fields.{type_name}] classifies {field}, which is not a field of a patient-data type"
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(PolicyError::Invalid {
                source_name: self.source.clone(),
                line: None,
                message: problems.join("; "),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_policy_is_valid() {
        let policy = Policy::built_in();
        assert!(!policy.grants().is_empty());
    }

    #[test]
    fn an_admin_is_no_medical_authority() {
        let p = Policy::built_in();
        for class in [
            FieldClass::Clinical,
            FieldClass::Demographics,
            FieldClass::Contact,
        ] {
            assert!(!p.could_ever(Role::Admin, Action::Read, class));
        }
    }

    #[test]
    fn a_nurse_reads_clinical_data_only_under_an_assignment() {
        let p = Policy::built_in();
        let stranger = Relationships::none_but_any();
        let assigned = stranger.with(Scope::Assigned);
        assert!(
            !p.permissions(Role::Nurse, stranger)
                .allows(Action::Read, FieldClass::Clinical)
        );
        assert!(
            p.permissions(Role::Nurse, assigned)
                .allows(Action::Read, FieldClass::Clinical)
        );
        assert_eq!(
            p.decide(Role::Nurse, Action::Read, FieldClass::Clinical, stranger),
            Decision::Deny
        );
    }
}
