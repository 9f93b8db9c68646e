//! Pages of the patient list: the cursor codec, and the relations a list
//! query loads up front.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use super::view::PatientView;
use crate::error::{AppError, AppResult};

pub(super) const DEFAULT_PAGE: u64 = 50;
pub(super) const MAX_PAGE: u64 = 100;

/// Relations (Patient field names) a list query will resolve for every
/// patient, known from the query before resolving it, so each is loaded in
/// one statement up front rather than in whatever batches the loaders form.
#[derive(Clone, Debug, Default)]
pub struct Prefetch(pub Vec<&'static str>);

/// The Patient fields that are relations loaded per patient.
pub const RELATIONS: &[&str] = &[
    "observations",
    "assignedNurses",
    "diagnoses",
    "medications",
    "allergies",
    "notes",
    "coverage",
    "invoices",
];

pub struct PatientPage {
    pub nodes: Vec<PatientView>,
    pub has_next_page: bool,
}

impl PatientPage {
    pub fn cursor_of(view: &PatientView) -> String {
        URL_SAFE_NO_PAD.encode(view.id().as_bytes())
    }
}

pub(super) fn parse_cursor(cursor: &str) -> AppResult<Uuid> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| Uuid::from_slice(&b).ok())
        .ok_or_else(|| AppError::bad_input("after is not a cursor of this list"))
}
