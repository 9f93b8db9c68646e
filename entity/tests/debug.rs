//! A row printed with `{:?}` (a log line, a panic message) shows ids only.

use caregraph_entity::{patient, server_key, user};
use chrono::{NaiveDate, Utc};
use uuid::Uuid;

#[test]
fn debug_output_hides_secrets_and_patient_data() {
    let account = user::Model {
        id: Uuid::nil(),
        email: "someone@patients.example".into(),
        name: "Secret Name".into(),
        role: "PATIENT".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        active: true,
        department_id: None,
        patient_id: None,
        created_at: Utc::now(),
        deactivated_at: None,
    };
    let key = server_key::Model {
        name: "jwt_hs256".into(),
        value: "c2lnbmluZy1rZXktYnl0ZXM=".into(),
        created_at: Utc::now(),
    };
    let record = patient::Model {
        id: Uuid::nil(),
        mrn: "MRN-123".into(),
        given_name: "Given".into(),
        family_name: "Family".into(),
        date_of_birth: NaiveDate::from_ymd_opt(1961, 7, 4).unwrap(),
        sex: "FEMALE".into(),
        phone: Some("+1 555 0100".into()),
        address: Some("1 Main Street".into()),
        postal_code: Some("10001".into()),
        email: Some("given@family.example".into()),
        national_id: Some("NID-42".into()),
        restricted: false,
        department_id: None,
        research_id: None,
        had_account: false,
        registered_by: Uuid::nil(),
        created_at: Utc::now(),
        updated_at: Utc::now(),
    };
    let printed = format!("{account:?} {key:?} {record:?}");
    for hidden in [
        "argon2",
        "someone@",
        "Secret Name",
        "c2lnbmluZy1rZXktYnl0ZXM",
        "MRN-123",
        "Given",
        "Family",
        "1961",
        "555",
        "Main Street",
        "10001",
        "NID-42",
    ] {
        assert!(!printed.contains(hidden), "{hidden} printed in {printed}");
    }
    assert!(
        printed.contains("jwt_hs256") && printed.contains("PATIENT"),
        "{printed}"
    );
}
