//! Reading the policy file: TOML in, validated grants out, or an error that
//! names the file, the line and what is wrong.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::{Action, FieldClass, Grant, Holder, Purpose, Role, Scope};

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy file {path}: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{source_name}: {message}")]
    Syntax { source_name: String, message: String },
    #[error("{source_name}{}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Invalid {
        source_name: String,
        line: Option<usize>,
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: Spanned<u32>,
    #[serde(default)]
    roles: BTreeMap<String, Spanned<RawRole>>,
    #[serde(default, rename = "grant")]
    grants: Vec<Spanned<RawGrant>>,
    #[serde(default)]
    fields: BTreeMap<String, BTreeMap<String, Spanned<FieldClass>>>,
    #[serde(default)]
    break_glass: Option<Spanned<RawBreakGlass>>,
}

/// `[break_glass]`: how long an emergency grant stays open.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBreakGlass {
    grant_hours: u32,
}

/// Hours a break-glass grant stays open when the policy does not say.
pub(super) const DEFAULT_BREAK_GLASS_HOURS: u32 = 4;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    /// Roles or profiles whose grants this role also holds.
    #[serde(default)]
    inherits: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrant {
    role: Option<Role>,
    /// A named set of grants that roles inherit, instead of a role.
    profile: Option<String>,
    actions: Vec<Action>,
    classes: Vec<FieldClass>,
    scope: Scope,
    /// Required where the grant reaches patient data.
    purpose: Option<Purpose>,
    why: String,
}

pub(super) struct Parsed {
    pub grants: Vec<Grant>,
    /// Per role, the indexes (into `grants`) of its own and inherited grants.
    pub effective: BTreeMap<Role, Vec<usize>>,
    pub inherits: BTreeMap<Role, Vec<String>>,
    pub fields: BTreeMap<(String, String), FieldClass>,
    pub break_glass_hours: u32,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

pub(super) fn digest(text: &str) -> String {
    crate::domain::sha256_hex(text.as_bytes())
}

fn holder_name(holder: &Holder) -> String {
    match holder {
        Holder::Role(role) => role.as_str().to_owned(),
        Holder::Profile(name) => name.clone(),
    }
}

pub(super) fn parse(source: &str, text: &str) -> Result<Parsed, PolicyError> {
    // toml's message already says "at line L, column C" and quotes the line.
    let raw: RawPolicy = toml::from_str(text).map_err(|e| PolicyError::Syntax {
        source_name: source.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    let invalid = |offset: usize, message: String| PolicyError::Invalid {
        source_name: source.to_owned(),
        line: Some(line_of(text, offset)),
        message,
    };

    if *raw.version.get_ref() != 1 {
        return Err(invalid(
            raw.version.span().start,
            format!(
                "unsupported policy version {} (this server reads version 1)",
                raw.version.get_ref()
            ),
        ));
    }

    let mut grants = Vec::with_capacity(raw.grants.len());
    for (index, spanned) in raw.grants.into_iter().enumerate() {
        let offset = spanned.span().start;
        let raw = spanned.into_inner();
        let holder = match (raw.role, raw.profile) {
            (Some(role), None) => Holder::Role(role),
            (None, Some(profile)) if is_profile_name(&profile) => Holder::Profile(profile),
            (None, Some(profile)) => {
                return Err(invalid(
                    offset,
                    format!("profile `{profile}` must be UPPER_SNAKE_CASE and not a role name"),
                ));
            }
            _ => {
                return Err(invalid(
                    offset,
                    "a grant names exactly one `role` or one `profile`".into(),
                ));
            }
        };
        if raw.actions.is_empty() || raw.classes.is_empty() {
            return Err(invalid(
                offset,
                "a grant needs at least one action and one class".into(),
            ));
        }
        if raw.why.trim().is_empty() {
            return Err(invalid(
                offset,
                "a grant needs a `why`: the reason a reviewer reads".into(),
            ));
        }
        if raw.scope == Scope::BreakGlass && raw.actions.iter().any(|a| *a != Action::Read) {
            return Err(invalid(
                offset,
                "a BREAK_GLASS grant can only READ: emergency access changes nothing".into(),
            ));
        }
        for &class in &raw.classes {
            if !class.is_patient_data() && raw.scope != Scope::Any {
                return Err(invalid(
                    offset,
                    format!("{} is not patient data: its only scope is ANY", class.as_str()),
                ));
            }
            if raw.actions.contains(&Action::Create)
                && class == FieldClass::PatientRecord
                && raw.scope != Scope::Any
            {
                return Err(invalid(
                    offset,
                    "CREATE of a PATIENT_RECORD can only be scoped ANY: a new patient has no relationship yet".into(),
                ));
            }
        }
        let purpose = match raw.purpose {
            Some(purpose) => purpose,
            None if raw.classes.iter().any(|c| c.is_patient_data()) => {
                return Err(invalid(
                    offset,
                    "a grant on patient data needs a `purpose` (TREATMENT, PAYMENT, OPERATIONS, EMERGENCY or RESEARCH): every read it allows is recorded under it".into(),
                ));
            }
            // Clinic-wide data (accounts, departments): running the clinic.
            None => Purpose::Operations,
        };
        grants.push(Grant {
            number: index + 1,
            line: line_of(text, offset),
            holder,
            actions: raw.actions,
            classes: raw.classes,
            scope: raw.scope,
            purpose,
            why: raw.why,
        });
    }

    let profiles: Vec<String> = grants
        .iter()
        .filter_map(|g| match &g.holder {
            Holder::Profile(p) => Some(p.clone()),
            Holder::Role(_) => None,
        })
        .collect();
    let mut inherits: BTreeMap<Role, Vec<String>> = BTreeMap::new();
    for (name, spanned) in &raw.roles {
        let offset = spanned.span().start;
        let role = Role::parse(name)
            .ok_or_else(|| invalid(offset, format!("[roles.{name}]: unknown role `{name}`")))?;
        for parent in &spanned.get_ref().inherits {
            if Role::parse(parent).is_none() && !profiles.contains(parent) {
                return Err(invalid(
                    offset,
                    format!("{name} inherits `{parent}`, which is neither a role nor a profile with grants"),
                ));
            }
            if parent == name {
                return Err(invalid(offset, format!("{name} inherits itself")));
            }
        }
        inherits.insert(role, spanned.get_ref().inherits.clone());
    }

    let mut effective = BTreeMap::new();
    for role in Role::ALL {
        // Walk the inheritance graph; a role met twice on one path is a cycle.
        let mut holders: Vec<String> = Vec::new();
        let mut stack: Vec<(String, Vec<String>)> = vec![(role.as_str().to_owned(), Vec::new())];
        while let Some((name, path)) = stack.pop() {
            if path.contains(&name) {
                let offset = raw.roles.get(role.as_str()).map_or(0, |r| r.span().start);
                return Err(invalid(
                    offset,
                    format!("inheritance cycle: {} -> {name}", path.join(" -> ")),
                ));
            }
            if !holders.contains(&name) {
                holders.push(name.clone());
            }
            if let Some(parents) = Role::parse(&name).and_then(|r| inherits.get(&r)) {
                let mut next = path.clone();
                next.push(name.clone());
                for parent in parents {
                    stack.push((parent.clone(), next.clone()));
                }
            }
        }
        let indexes = grants
            .iter()
            .enumerate()
            .filter(|(_, g)| holders.contains(&holder_name(&g.holder)))
            .map(|(i, _)| i)
            .collect();
        effective.insert(role, indexes);
    }

    let mut fields = BTreeMap::new();
    for (type_name, table) in raw.fields {
        for (field, class) in table {
            fields.insert((type_name.clone(), field), class.into_inner());
        }
    }
    let break_glass_hours = match raw.break_glass {
        None => DEFAULT_BREAK_GLASS_HOURS,
        Some(spanned) => {
            let hours = spanned.get_ref().grant_hours;
            if !(1..=24).contains(&hours) {
                return Err(invalid(
                    spanned.span().start,
                    format!("[break_glass] grant_hours = {hours}: an emergency grant lasts 1 to 24 hours"),
                ));
            }
            hours
        }
    };
    Ok(Parsed {
        grants,
        effective,
        inherits,
        fields,
        break_glass_hours,
    })
}

fn is_profile_name(name: &str) -> bool {
    !name.is_empty()
        && Role::parse(name).is_none()
        && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
}

#[cfg(test)]
mod tests {
    use crate::policy::Policy;

    fn error_of(text: &str) -> String {
        Policy::parse("test.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn an_unknown_role_is_named_with_its_line() {
        let msg = error_of(
            "version = 1\n\n[[grant]]\nrole = \"JANITOR\"\nactions = [\"READ\"]\nclasses = [\"DIRECTORY\"]\nscope = \"ANY\"\nwhy = \"x\"\n",
        );
        assert!(msg.contains("test.toml"), "{msg}");
        assert!(msg.contains("line 4"), "{msg}");
        assert!(msg.contains("JANITOR"), "{msg}");
    }

    #[test]
    fn an_unknown_scope_class_or_action_is_refused() {
        for (key, bad) in [
            ("scope", "\"SOMETIMES\""),
            ("classes", "[\"GOSSIP\"]"),
            ("actions", "[\"PEEK\"]"),
        ] {
            let mut grant = [
                ("role", "\"NURSE\""),
                ("actions", "[\"READ\"]"),
                ("classes", "[\"CLINICAL\"]"),
                ("scope", "\"ASSIGNED\""),
                ("why", "\"care\""),
            ];
            for entry in grant.iter_mut() {
                if entry.0 == key {
                    entry.1 = bad;
                }
            }
            let body: String = grant.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
            let msg = error_of(&format!("version = 1\n[[grant]]\n{body}"));
            assert!(msg.contains("line"), "{msg}");
        }
    }

    #[test]
    fn accounts_cannot_be_scoped_to_a_patient() {
        let msg = error_of(
            "version = 1\n[[grant]]\nrole = \"DOCTOR\"\nactions = [\"READ\"]\nclasses = [\"ACCOUNTS\"]\nscope = \"TREATING\"\nwhy = \"x\"\n",
        );
        assert!(msg.contains("line 2") && msg.contains("ACCOUNTS"), "{msg}");
    }

    #[test]
    fn inheritance_cycles_and_unknown_parents_are_refused() {
        let cycle = error_of(
            "version = 1\n[roles.NURSE]\ninherits = [\"DOCTOR\"]\n[roles.DOCTOR]\ninherits = [\"NURSE\"]\n",
        );
        assert!(cycle.contains("cycle"), "{cycle}");
        let unknown = error_of("version = 1\n[roles.NURSE]\ninherits = [\"HEALER\"]\n");
        assert!(
            unknown.contains("HEALER") && unknown.contains("line 2"),
            "{unknown}"
        );
    }

    #[test]
    fn a_grant_on_patient_data_declares_its_purpose() {
        let error = Policy::parse(
            "t.toml",
            "version = 1\n[[grant]]\nrole = \"DOCTOR\"\nactions = [\"READ\"]\nclasses = [\"VITALS\"]\nscope = \"TREATING\"\nwhy = \"care\"\n",
        )
        .unwrap_err();
        assert!(error.to_string().contains("purpose"), "{error}");
    }

    #[test]
    fn a_role_holds_the_grants_of_what_it_inherits() {
        let policy = Policy::parse(
            "t.toml",
            "version = 1\n[roles.ADMIN]\ninherits = [\"LOOKUP\"]\n[[grant]]\nprofile = \"LOOKUP\"\nactions = [\"READ\"]\nclasses = [\"DIRECTORY\"]\nscope = \"ANY\"\npurpose = \"OPERATIONS\"\nwhy = \"find\"\n",
        )
        .unwrap();
        use crate::policy::{Action, FieldClass, Role};
        assert!(policy.could_ever(Role::Admin, Action::Read, FieldClass::Directory));
        assert!(!policy.could_ever(Role::Nurse, Action::Read, FieldClass::Directory));
    }

    #[test]
    fn break_glass_grants_only_read_and_last_a_bounded_time() {
        let write = error_of(
            "version = 1\n[[grant]]\nrole = \"NURSE\"\nactions = [\"WRITE\"]\nclasses = [\"VITALS\"]\nscope = \"BREAK_GLASS\"\npurpose = \"EMERGENCY\"\nwhy = \"x\"\n",
        );
        assert!(
            write.contains("BREAK_GLASS") && write.contains("line 2"),
            "{write}"
        );
        let long = error_of("version = 1\n[break_glass]\ngrant_hours = 72\n");
        assert!(long.contains("grant_hours"), "{long}");
        let policy = Policy::parse("t.toml", "version = 1\n[break_glass]\ngrant_hours = 2\n").unwrap();
        assert_eq!(policy.break_glass_window(), chrono::Duration::hours(2));
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let msg = error_of("version = 1\nallow_everything = true\n");
        assert!(msg.contains("allow_everything"), "{msg}");
    }
}
