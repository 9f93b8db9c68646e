//! A row printed with `{:?}` (a log line, a panic message) shows ids only.

use caregraph_entity::{patient, server_key, user};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

#[test]
fn debug_output_hides_secrets_and_patient_data() {
    // A fixed time: digits of a clock reading could match a hidden value.
    let at = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
    let account = user::Model {
        id: Uuid::nil(),
        email: "someone@patients.example".into(),
        name: "Secret Name".into(),
        role: "PATIENT".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        active: true,
        department_id: None,
        patient_id: None,
        created_at: at,
        deactivated_at: None,
    };
    let key = server_key::Model {
        name: "jwt_hs256".into(),
        value: "c2lnbmluZy1rZXktYnl0ZXM=".into(),
        created_at: at,
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
        created_at: at,
        updated_at: at,
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
        "555 0100",
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

#[test]
fn an_audit_event_prints_its_position_and_codes_not_its_client_or_detail() {
    let event = caregraph_entity::audit_event::Model {
        seq: 7,
        id: Uuid::nil(),
        at: Utc::now(),
        actor_id: None,
        actor_role: Some("NURSE".into()),
        action: "READ".into(),
        outcome: "ALLOWED".into(),
        patient_ids: "[]".into(),
        field_classes: r#"["VITALS"]"#.into(),
        purpose: None,
        grant_no: None,
        operation_name: Some("NursePage".into()),
        request_id: None,
        client_addr: Some("203.0.113.9".into()),
        detail: r#"{"changed":["phone"]}"#.into(),
        prev_hash: "0".repeat(64),
        hash: "ab".repeat(32),
    };
    let printed = format!("{event:?}");
    assert!(
        printed.contains("seq: 7") && printed.contains("READ"),
        "{printed}"
    );
    for hidden in ["203.0.113.9", "phone", "NursePage"] {
        assert!(!printed.contains(hidden), "{hidden} printed in {printed}");
    }
}
