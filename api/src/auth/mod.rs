//! Who is calling: passwords, tokens and server-side sessions. This module
//! answers "who"; the policy module answers "may they".

pub mod mfa;
pub mod password;
pub mod password_policy;
pub mod sessions;
pub mod throttle;
pub mod token;

use chrono::{DateTime, Utc};
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
    /// The role must use a second factor and this session has not passed
    /// one (the account has not set MFA up yet): it may enrol and log out,
    /// nothing else (`MFA_REQUIRED`).
    pub mfa_pending: bool,
    /// When this session last proved its credentials (login or
    /// `reauthenticate`); high-risk actions need it recent (step-up).
    pub authenticated_at: Option<DateTime<Utc>>,
    /// While a just-in-time elevation is in force, `role` is the elevated
    /// role (what the policy sees) and this is the account's own.
    pub elevated_from: Option<Role>,
}
