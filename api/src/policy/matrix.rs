//! `caregraph policy matrix`: the policy as a table a reviewer can read,
//! generated, never edited by hand. A test fails when the committed copy is
//! stale.

use std::fmt::Write as _;

use super::{Action, FieldClass, Policy, Role, Scope};

pub const DEFAULT_PATH: &str = "docs/access-matrix.md";

pub fn render(policy: &Policy) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Access matrix\n");
    let _ = writeln!(
        out,
        "Generated from `policy/policy.toml` by `caregraph policy matrix`: do not edit by hand.\n\
         Policy SHA-256: `{}`.\n",
        policy.digest()
    );
    let _ = writeln!(
        out,
        "Each cell lists the relationship scopes under which the role may take the action on the class; \
         `—` means denied (deny by default). Scopes: ANY (every patient except restricted ones), TREATING \
         (registered the patient, or attends them), ASSIGNED (active nurse assignment), SELF (own record), \
         BREAK_GLASS (active emergency grant).\n\n\
         On top of the cells: assignments count only inside their time window and until revoked; a \
         restricted patient is reachable only through an explicit assignment or SELF; SENSITIVE_NOTES are \
         readable only by their author and the attending doctor.\n"
    );
    for role in Role::ALL {
        let _ = writeln!(out, "## {}\n", role.as_str());
        let inherits = policy.inherits(role);
        if !inherits.is_empty() {
            let _ = writeln!(out, "Inherits: {}.\n", inherits.join(", "));
        }
        let _ = writeln!(out, "| class | READ | WRITE | CREATE | DELETE |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for class in FieldClass::ALL {
            let cells: Vec<String> = Action::ALL
                .iter()
                .map(|&action| cell(&policy.scopes(role, action, class)))
                .collect();
            let _ = writeln!(out, "| {} | {} |", class.as_str(), cells.join(" | "));
        }
        let _ = writeln!(out);
    }
    out
}

fn cell(scopes: &[Scope]) -> String {
    if scopes.is_empty() {
        "—".to_owned()
    } else {
        scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
    }
}
