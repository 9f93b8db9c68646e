//! The one door through which patient data leaves `access/`.
//!
//! Every read of PHI — a field of a patient, a chart relation, vitals, the
//! care team, research rows, an explanation of access — is decided here,
//! with the actor, the patient, the field classes the query asked for and
//! the decision. A page of patients passes at once (`disclose_patients`):
//! one decision per class asked of each patient, and a relation's rows later
//! come out only under the decision made then. What is allowed comes out as
//! a [`Disclosed`] value, which nothing outside this module can make, so a
//! resolver that skipped the door would have nothing to serialise. The door
//! counts and logs (ids and classes only, at debug level, target
//! `caregraph::access`) and hands its events to the audit trail.
//!
//! ```compile_fail
//! // Outside `access/`, a disclosed value cannot be made up:
//! let forged = caregraph::access::Disclosed(vec![1, 2, 3]);
//! ```
//!
//! ```compile_fail
//! // Nor can a patient's record: only the door builds one.
//! let forged = caregraph::access::PatientRecord { id: None, mrn: None };
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use uuid::Uuid;

use super::Caller;
use crate::audit::{AuditAction, AuditEvent, Outcome};
use crate::policy::{Action, ClassSet, Decision as PolicyDecision, FieldClass, Relationships};

/// A value of patient data that passed the door. Constructed only here.
#[derive(Clone, Debug)]
pub struct Disclosed<T>(T);

impl<T> Disclosed<T> {
    pub fn get(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }

    /// The same disclosed data in another form.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Disclosed<U> {
        Disclosed(f(self.0))
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

    fn count(&self, outcome: Outcome) {
        let slot = match outcome {
            Outcome::Allowed | Outcome::Success => 0,
            // A patient not found is a refused read too.
            Outcome::Denied | Outcome::NotFound | Outcome::Failure => 1,
        };
        self.0[slot].fetch_add(1, Ordering::Relaxed);
    }
}

/// What the door lets out of one patient's fields: handed out only after
/// the door recorded the read, and able to wrap only the classes it allowed.
pub(super) struct Reveal {
    patient: Uuid,
    allowed: ClassSet,
    identified: bool,
    relationships: Relationships,
}

impl Reveal {
    pub(super) fn allows(&self, class: FieldClass) -> bool {
        self.allowed.contains(class)
    }

    /// The patient's id, when the query asked for it: always readable to
    /// one who holds the patient at all (found in their scope, or just
    /// written by them), and recorded as a DIRECTORY read.
    pub(super) fn id(&self) -> Option<Disclosed<Uuid>> {
        self.identified.then_some(Disclosed(self.patient))
    }

    /// The value of a field of class `class`, or `None` (withheld).
    pub(super) fn field<T>(&self, class: FieldClass, value: impl FnOnce() -> T) -> Option<Disclosed<T>> {
        self.allowed.contains(class).then(|| Disclosed(value()))
    }
}

/// One patient's part of a read: the classes a query asked for, which of
/// them the policy allows this caller for this patient, and how the caller
/// stands to the patient (which names the grant that allowed each).
pub(super) struct PatientRead {
    pub patient: Uuid,
    pub asked: ClassSet,
    pub allowed: ClassSet,
    /// The query asked for the patient's id.
    pub identified: bool,
    pub relationships: Relationships,
}

/// What one audit event of reads stands for: the patients read alike.
type EventKey = (AuditAction, Outcome, Option<usize>, ClassSet);

/// One decision of the door about one subject.
struct Read {
    action: AuditAction,
    subject: Subject,
    classes: ClassSet,
    outcome: Outcome,
    relationships: Relationships,
}

impl Caller {
    /// The door for patients, for a whole list at once: records, for each
    /// patient, the classes read and the classes refused, and hands back
    /// what may be revealed of each.
    pub(super) fn disclose_patients(&self, reads: &[PatientRead]) -> Vec<Reveal> {
        let mut decisions = Vec::with_capacity(reads.len() * 2);
        let reveals = reads
            .iter()
            .map(|read| {
                let allowed: ClassSet = read.asked.iter().filter(|c| read.allowed.contains(*c)).collect();
                let denied: ClassSet = read.asked.iter().filter(|c| !read.allowed.contains(*c)).collect();
                let subject = Subject::Patient(read.patient);
                let mut read_now = allowed;
                if read.identified {
                    read_now.insert(FieldClass::Directory);
                }
                for (classes, outcome) in [(read_now, Outcome::Allowed), (denied, Outcome::Denied)] {
                    if !classes.is_empty() {
                        decisions.push(Read {
                            action: AuditAction::Read,
                            subject,
                            classes,
                            outcome,
                            relationships: read.relationships,
                        });
                    }
                }
                Reveal {
                    patient: read.patient,
                    allowed,
                    identified: read.identified,
                    relationships: read.relationships,
                }
            })
            .collect();
        self.record(&decisions);
        reveals
    }

    /// The rows of a relation of class `class`, which the door decided when
    /// it disclosed the patient: `None` unless it allowed the class then.
    /// `extra` names classes the rows turned out to carry beyond the
    /// relation's own (a sensitive note among notes), recorded now.
    pub(super) fn disclose_rows<T>(
        &self,
        reveal: &Reveal,
        class: FieldClass,
        extra: ClassSet,
        rows: Vec<T>,
    ) -> Option<Disclosed<Vec<T>>> {
        if !reveal.allows(class) {
            return None;
        }
        if !extra.is_empty() {
            self.record(&[Read {
                action: AuditAction::Read,
                subject: Subject::Patient(reveal.patient),
                classes: extra,
                outcome: Outcome::Allowed,
                relationships: reveal.relationships,
            }]);
        }
        Some(Disclosed(rows))
    }

    /// The door for a read the caller's role was already checked for (a
    /// clinic-wide class: research rows as READ, an explanation of access
    /// as EXPLAIN_ACCESS).
    pub(super) fn disclose_allowed<T>(
        &self,
        action: AuditAction,
        subject: Subject,
        class: FieldClass,
        value: T,
    ) -> Disclosed<T> {
        self.disclose_class(action, subject, class, Relationships::none_but_any(), value)
    }

    /// The door for a read of the caller's own record, where only SELF
    /// applies (a patient's accounting of disclosures, ACCESS_LOG): the role
    /// was checked, and the grant recorded is the one SELF finds.
    pub(super) fn disclose_own<T>(
        &self,
        action: AuditAction,
        subject: Subject,
        class: FieldClass,
        value: T,
    ) -> Disclosed<T> {
        let own = Relationships::none().with(crate::policy::Scope::OwnRecord);
        self.disclose_class(action, subject, class, own, value)
    }

    /// One allowed read of one class, under `relationships`.
    fn disclose_class<T>(
        &self,
        action: AuditAction,
        subject: Subject,
        class: FieldClass,
        relationships: Relationships,
        value: T,
    ) -> Disclosed<T> {
        self.record(&[Read {
            action,
            subject,
            classes: ClassSet::from_iter([class]),
            outcome: Outcome::Allowed,
            relationships,
        }]);
        Disclosed(value)
    }

    /// A patient asked for by id who is not there for this caller (missing,
    /// or outside the scope: the two stay indistinguishable to the caller,
    /// not to the trail).
    pub(super) fn record_not_found(&self, patient: Uuid, asked: ClassSet) {
        self.record(&[Read {
            action: AuditAction::Read,
            subject: Subject::Patient(patient),
            classes: asked,
            outcome: Outcome::NotFound,
            relationships: Relationships::none(),
        }]);
    }

    /// Counts and logs each decision (ids and classes only, never a value)
    /// and gathers them into the request's audit events: one event per
    /// outcome, grant and set of classes, naming every patient it covers,
    /// so a page of 25 patients read alike is one event.
    fn record(&self, reads: &[Read]) {
        let Some(principal) = self.principal else {
            // Nobody reads patient data anonymously; nothing to attribute.
            return;
        };
        let mut groups: Vec<(EventKey, Vec<Uuid>)> = Vec::new();
        for read in reads {
            for _ in read.classes.iter() {
                self.disclosures.count(read.outcome);
            }
            let patient = match read.subject {
                Subject::Patient(id) => Some(id),
                Subject::Clinic => None,
            };
            tracing::debug!(
                target: "caregraph::access",
                actor = %principal.user_id,
                patient = ?patient,
                classes = %read.classes,
                decision = read.outcome.as_str(),
                "phi read"
            );
            // The classes of one read may come from different grants.
            let mut by_grant: Vec<(Option<usize>, ClassSet)> = Vec::new();
            for class in read.classes.iter() {
                let grant = match read.outcome {
                    Outcome::Allowed => {
                        match self
                            .policy
                            .decide(principal.role, Action::Read, class, read.relationships)
                        {
                            PolicyDecision::Allow { grant } => Some(grant),
                            PolicyDecision::Deny => None,
                        }
                    }
                    Outcome::Denied | Outcome::NotFound | Outcome::Success | Outcome::Failure => None,
                };
                match by_grant.iter_mut().find(|(g, _)| *g == grant) {
                    Some((_, classes)) => classes.insert(class),
                    None => by_grant.push((grant, ClassSet::from_iter([class]))),
                }
            }
            for (grant, classes) in by_grant {
                let key = (read.action, read.outcome, grant, classes);
                let group = match groups.iter().position(|(k, _)| *k == key) {
                    Some(i) => &mut groups[i],
                    None => {
                        groups.push((key, Vec::new()));
                        groups.last_mut().expect("just pushed")
                    }
                };
                group.1.extend(patient);
            }
        }
        let events = groups
            .into_iter()
            .map(|((action, outcome, grant, classes), patients)| {
                let event = AuditEvent::new(action, outcome)
                    .actor(principal.user_id, Some(principal.role))
                    .patients(patients)
                    .classes(classes.iter());
                match grant.and_then(|n| self.policy.grants().get(n - 1)) {
                    Some(grant) => event.grant(grant.number as u32).purpose(grant.purpose),
                    None => event,
                }
            });
        self.events.extend(events);
    }
}
