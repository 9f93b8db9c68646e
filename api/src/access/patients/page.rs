//! Pages of the patient list and their cursors.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use std::sync::Arc;

use super::view::PatientRecord;
use crate::error::{AppError, AppResult};

pub(super) const DEFAULT_PAGE: u64 = 50;
pub(super) const MAX_PAGE: u64 = 100;

pub struct PatientPage {
    pub nodes: Vec<Arc<PatientRecord>>,
    pub has_next_page: bool,
}

impl PatientPage {
    /// A patient's place in the list. It encodes the id, so a query that
    /// reads cursors asks for the id too (and the door records it).
    pub fn cursor_of(patient: &PatientRecord) -> String {
        URL_SAFE_NO_PAD.encode(patient.key().as_bytes())
    }
}

pub(super) fn parse_cursor(cursor: &str) -> AppResult<Uuid> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| Uuid::from_slice(&b).ok())
        .ok_or_else(|| AppError::bad_input("after is not a cursor of this list"))
}
