//! Who is calling: passwords, tokens and server-side sessions. This module
//! answers "who"; the policy module answers "may they".

pub mod password;
pub mod password_policy;
pub mod sessions;
pub mod throttle;
pub mod token;

use uuid::Uuid;

use crate::policy::Role;

/// An authenticated caller, as established from a live session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    pub role: Role,
    pub session_id: Uuid,
    /// For PATIENT accounts: their own record (the SELF scope).
    pub patient_id: Option<Uuid>,
}
