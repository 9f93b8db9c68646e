//! The one door through which patient data leaves `access/`.
//!
//! Every read of PHI — a field of a patient, a chart relation, vitals, the
//! care team, research rows, an explanation of access — is decided here,
//! with the actor, the patient, the field class and the decision. What is
//! allowed comes out as a [`Disclosed`] value, which nothing outside this
//! module can make, so a resolver that skipped the door would have nothing
//! to serialise. Today the door counts and logs (ids and classes only, at
//! debug level, target `caregraph::access`); the audit trail will record
//! its events.
//!
//! ```compile_fail
//! // Outside `access/`, a disclosed value cannot be made up:
//! let forged = caregraph::access::Disclosed(vec![1, 2, 3]);
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use uuid::Uuid;

use super::Caller;
use crate::policy::FieldClass;

/// A value of patient data that passed the door. Constructed only here.
#[derive(Clone, Debug)]
pub struct Disclosed<T>(T);

impl<T> Disclosed<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// What the door decided.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Denied,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "ALLOWED",
            Decision::Denied => "DENIED",
        }
    }
}

/// Whose data: one patient, or the clinic as a whole (research rows).
#[derive(Copy, Clone, Debug)]
pub enum Subject {
    Patient(Uuid),
    Clinic,
}

/// How many reads the door allowed and denied, server-wide; tests read it.
#[derive(Clone, Debug, Default)]
pub struct DisclosureCounter(Arc<[AtomicU64; 2]>);

impl DisclosureCounter {
    pub fn allowed(&self) -> u64 {
        self.0[0].load(Ordering::Relaxed)
    }

    pub fn denied(&self) -> u64 {
        self.0[1].load(Ordering::Relaxed)
    }

    fn count(&self, decision: Decision) {
        let slot = match decision {
            Decision::Allowed => 0,
            Decision::Denied => 1,
        };
        self.0[slot].fetch_add(1, Ordering::Relaxed);
    }
}

impl Caller {
    /// The door. `value` is computed only when the read is allowed.
    pub(super) fn disclose<T>(
        &self,
        subject: Subject,
        class: FieldClass,
        allowed: bool,
        value: impl FnOnce() -> T,
    ) -> Option<Disclosed<T>> {
        let decision = if allowed {
            Decision::Allowed
        } else {
            Decision::Denied
        };
        self.record(subject, class, decision);
        allowed.then(|| Disclosed(value()))
    }

    /// The door for a read the caller's role was already checked for.
    pub(super) fn disclose_allowed<T>(&self, subject: Subject, class: FieldClass, value: T) -> Disclosed<T> {
        self.record(subject, class, Decision::Allowed);
        Disclosed(value)
    }

    /// Counts and logs one decision: ids and classes only, never a value.
    fn record(&self, subject: Subject, class: FieldClass, decision: Decision) {
        self.disclosures.count(decision);
        let patient = match subject {
            Subject::Patient(id) => Some(id),
            Subject::Clinic => None,
        };
        tracing::debug!(
            target: "caregraph::access",
            actor = ?self.principal.map(|p| p.user_id),
            patient = ?patient,
            class = class.as_str(),
            decision = decision.as_str(),
            "phi read"
        );
    }
}
