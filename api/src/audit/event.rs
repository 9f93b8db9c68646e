//! What one audit event says, typed: who, what, to which patients, which
//! classes of data, why, with what outcome, from which request. Ids, codes
//! and field names only; nothing here can hold a value of patient data
//! (`Detail` takes only ids, counts and names known at compile time).

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::meta::RequestMeta;
use crate::policy::{FieldClass, Purpose, Role};

/// A closed vocabulary stored as text: each variant with its code.
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $code:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The code stored in the trail (and covered by its hash).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code),*
                }
            }

            pub fn parse(code: &str) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// What happened.
    AuditAction {
        Read => "READ",
        Write => "WRITE",
        Create => "CREATE",
        Delete => "DELETE",
        Export => "EXPORT",
        Login => "LOGIN",
        LoginFailed => "LOGIN_FAILED",
        Logout => "LOGOUT",
        Refresh => "REFRESH",
        TokenRefused => "TOKEN_REFUSED",
        AccountChange => "ACCOUNT_CHANGE",
        RoleChange => "ROLE_CHANGE",
        AssignmentChange => "ASSIGNMENT_CHANGE",
        PolicyChange => "POLICY_CHANGE",
        ExplainAccess => "EXPLAIN_ACCESS",
        AccountRequest => "ACCOUNT_REQUEST",
        AccountApproval => "ACCOUNT_APPROVAL",
        Enrolment => "ENROLMENT",
        BreakGlass => "BREAK_GLASS",
        BreakGlassReview => "BREAK_GLASS_REVIEW",
        AuditSearch => "AUDIT_SEARCH",
        ResearchRelease => "RESEARCH_RELEASE",
        MfaEnrolment => "MFA_ENROLMENT",
        Reauthentication => "REAUTHENTICATION",
        Elevation => "ELEVATION",
    }
}

vocabulary! {
    /// How it ended. Reads of patient data are ALLOWED, DENIED or NOT_FOUND
    /// (the door's decision); everything else SUCCESS or FAILURE.
    Outcome {
        Allowed => "ALLOWED",
        Denied => "DENIED",
        NotFound => "NOT_FOUND",
        Success => "SUCCESS",
        Failure => "FAILURE",
    }
}

/// One value of an event's `detail`: never free text from a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum DetailValue {
    Id(Uuid),
    Ids(Vec<Uuid>),
    Count(i64),
    /// A code or a field name, fixed in the source.
    Code(&'static str),
    Codes(Vec<&'static str>),
}

/// The `detail` of an event: a JSON object of ids, counts, codes and field
/// names (e.g. `{"changed":["phone","address"],"record":"<uuid>"}`). Keys and
/// names are `&'static str`, so nothing a client typed can end up here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Detail(BTreeMap<&'static str, DetailValue>);

impl Detail {
    pub fn new() -> Detail {
        Detail::default()
    }

    pub fn id(mut self, key: &'static str, id: Uuid) -> Detail {
        self.0.insert(key, DetailValue::Id(id));
        self
    }

    pub fn ids(mut self, key: &'static str, ids: impl IntoIterator<Item = Uuid>) -> Detail {
        self.0.insert(key, DetailValue::Ids(ids.into_iter().collect()));
        self
    }

    pub fn count(mut self, key: &'static str, count: i64) -> Detail {
        self.0.insert(key, DetailValue::Count(count));
        self
    }

    pub fn code(mut self, key: &'static str, code: &'static str) -> Detail {
        self.0.insert(key, DetailValue::Code(code));
        self
    }

    /// Field names (e.g. which fields a write changed), never their values.
    pub fn names(mut self, key: &'static str, names: impl IntoIterator<Item = &'static str>) -> Detail {
        self.0
            .insert(key, DetailValue::Codes(names.into_iter().collect()));
        self
    }

    /// The stored form: compact JSON, keys in byte order.
    pub fn to_json(&self) -> String {
        // A map of &str keys to ids, numbers and strings always serialises.
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// One audit event, before the writer gives it its place in the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: Uuid,
    /// When it happened, to the microsecond (what both databases store).
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<Role>,
    pub action: AuditAction,
    pub outcome: Outcome,
    /// Every patient the event is about: a list read of 25 patients is one
    /// event naming 25 patients.
    pub patient_ids: Vec<Uuid>,
    pub field_classes: Vec<FieldClass>,
    pub purpose: Option<Purpose>,
    /// The number of the policy grant that allowed it.
    pub grant_no: Option<u32>,
    pub operation_name: Option<String>,
    pub request_id: Option<Uuid>,
    pub client_addr: Option<IpAddr>,
    pub detail: Detail,
}

impl AuditEvent {
    /// A new event, now, with the current request's metadata (request id,
    /// client address, operation name) when called while serving one.
    pub fn new(action: AuditAction, outcome: Outcome) -> AuditEvent {
        let event = AuditEvent {
            id: Uuid::new_v4(),
            at: Utc::now().trunc_subsecs(6),
            actor_id: None,
            actor_role: None,
            action,
            outcome,
            patient_ids: Vec::new(),
            field_classes: Vec::new(),
            purpose: None,
            grant_no: None,
            operation_name: None,
            request_id: None,
            client_addr: None,
            detail: Detail::new(),
        };
        match RequestMeta::current() {
            Some(meta) => event.request(&meta),
            None => event,
        }
    }

    pub fn actor(mut self, user_id: Uuid, role: Option<Role>) -> AuditEvent {
        self.actor_id = Some(user_id);
        self.actor_role = role;
        self
    }

    pub fn patients(mut self, ids: impl IntoIterator<Item = Uuid>) -> AuditEvent {
        self.patient_ids = ids.into_iter().collect();
        self
    }

    pub fn classes(mut self, classes: impl IntoIterator<Item = FieldClass>) -> AuditEvent {
        self.field_classes = classes.into_iter().collect();
        self
    }

    pub fn purpose(mut self, purpose: Purpose) -> AuditEvent {
        self.purpose = Some(purpose);
        self
    }

    pub fn grant(mut self, number: u32) -> AuditEvent {
        self.grant_no = Some(number);
        self
    }

    pub fn detail(mut self, detail: Detail) -> AuditEvent {
        self.detail = detail;
        self
    }

    /// Takes the request id, client address and operation name of `meta`.
    pub fn request(mut self, meta: &RequestMeta) -> AuditEvent {
        self.request_id = Some(meta.request_id);
        self.client_addr = meta.client_addr;
        self.operation_name = meta.operation_name.clone();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_parses_back_to_its_variant() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(*action));
        }
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(*outcome));
        }
        for purpose in Purpose::ALL {
            assert_eq!(Purpose::parse(purpose.as_str()), Some(*purpose));
        }
        assert_eq!(AuditAction::parse("read"), None);
    }

    #[test]
    fn detail_is_compact_json_with_sorted_keys() {
        let id = Uuid::nil();
        let detail = Detail::new()
            .names("changed", ["phone", "address"])
            .id("record", id)
            .count("rows", 2)
            .code("reason", "password");
        assert_eq!(
            detail.to_json(),
            format!(r#"{{"changed":["phone","address"],"reason":"password","record":"{id}","rows":2}}"#)
        );
        assert_eq!(Detail::new().to_json(), "{}");
    }

    #[test]
    fn a_new_event_is_stamped_to_the_microsecond() {
        let event = AuditEvent::new(AuditAction::Login, Outcome::Success);
        assert_eq!(event.at.timestamp_subsec_nanos() % 1000, 0);
        assert!(event.request_id.is_none(), "no request is being served");
    }
}
