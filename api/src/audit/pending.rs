//! The events of one request, gathered while it executes and recorded
//! before its response leaves (`http` flushes them after execution). This
//! is where code that cannot await (the door, a resolver in the middle of
//! serialising) puts its events; they are durable before the client sees
//! anything they describe.

use std::sync::{Arc, Mutex, MutexGuard};

use super::event::AuditEvent;

/// Shared by the request's GraphQL context (`ctx.data::<RequestEvents>()`)
/// and the HTTP handler that flushes it. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct RequestEvents(Arc<Mutex<Vec<AuditEvent>>>);

impl RequestEvents {
    fn events(&self) -> MutexGuard<'_, Vec<AuditEvent>> {
        // A panic elsewhere while holding the lock leaves a valid Vec.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, event: AuditEvent) {
        self.events().push(event);
    }

    pub fn extend(&self, events: impl IntoIterator<Item = AuditEvent>) {
        self.events().extend(events);
    }

    /// Everything gathered so far, in order; the request's list is empty after.
    pub fn take(&self) -> Vec<AuditEvent> {
        std::mem::take(&mut *self.events())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditAction, Outcome};

    #[test]
    fn events_are_taken_once_in_the_order_they_came() {
        let events = RequestEvents::default();
        let shared = events.clone();
        shared.push(AuditEvent::new(AuditAction::Read, Outcome::Allowed));
        events.extend([AuditEvent::new(AuditAction::Read, Outcome::Denied)]);
        let taken = events.take();
        assert_eq!(
            taken.iter().map(|e| e.outcome).collect::<Vec<_>>(),
            [Outcome::Allowed, Outcome::Denied]
        );
        assert!(shared.take().is_empty());
    }
}
