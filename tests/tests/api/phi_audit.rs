//! Every read of patient data and every write of it is an audit event: a
//! page of patients read alike is one event naming them all, with the field
//! classes read, the grant that allowed them and its purpose; refusals are
//! recorded too; a write's event commits with it and names the fields
//! changed, never their values.

use caregraph_entity::audit_event;
use caregraph_tests::{TestApp, on_both_databases};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

/// The events after `seq`, oldest first.
async fn events_after(app: &TestApp, seq: i64) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::Seq.gt(seq))
        .order_by_asc(audit_event::Column::Seq)
        .all(&app.db)
        .await
        .expect("the test reads the trail")
}

async fn last_seq(app: &TestApp) -> i64 {
    audit_event::Entity::find()
        .order_by_desc(audit_event::Column::Seq)
        .one(&app.db)
        .await
        .expect("the test reads the trail")
        .map_or(0, |e| e.seq)
}

fn patients_of(event: &audit_event::Model) -> Vec<String> {
    let mut ids: Vec<String> = serde_json::from_str(&event.patient_ids).expect("a JSON array of ids");
    ids.sort();
    ids
}

on_both_databases! {
    async fn a_page_of_patients_is_one_read_event_with_grant_and_purpose(app) {
        let doctor = app.user("DOCTOR", "Trail Doc").await;
        let nurse = app.user("NURSE", "Trail Nurse").await;
        let mut ids = Vec::new();
        for family in ["Alder", "Beech", "Cherry"] {
            let id = app.patient(&doctor, "Trail", family).await;
            app.assign(&doctor, &id, &nurse).await;
            ids.push(id);
        }
        ids.sort();
        let before = last_seq(&app).await;
        let reply = app
            .as_user(&nurse, "query Ward { patients { nodes { id familyName observations { value } nationalId } } }", json!({}))
            .await;
        assert_eq!(reply.codes(), ["FORBIDDEN"; 3]);
        let events = events_after(&app, before).await;
        let reads: Vec<_> = events.iter().filter(|e| e.action == "READ").collect();
        assert_eq!(reads.len(), 2, "one allowed and one denied event: {events:?}");
        let allowed = reads.iter().find(|e| e.outcome == "ALLOWED").expect("an allowed read");
        assert_eq!(patients_of(allowed), ids);
        assert_eq!(allowed.field_classes, r#"["DIRECTORY","VITALS"]"#);
        assert_eq!(allowed.purpose.as_deref(), Some("TREATMENT"));
        assert!(allowed.grant_no.is_some());
        assert_eq!(allowed.actor_id, Some(nurse.id.parse().unwrap()));
        assert_eq!(allowed.actor_role.as_deref(), Some("NURSE"));
        assert_eq!(allowed.operation_name.as_deref(), Some("Ward"));
        let denied = reads.iter().find(|e| e.outcome == "DENIED").expect("a denied read");
        assert_eq!(patients_of(denied), ids);
        assert_eq!(denied.field_classes, r#"["IDENTIFIERS"]"#);
        assert_eq!(denied.grant_no, None);
    }

    async fn a_patient_outside_the_scope_is_recorded_as_not_found(app) {
        let doctor = app.user("DOCTOR", "Scope Doc").await;
        let other = app.user("DOCTOR", "Other Doc").await;
        let id = app.patient(&doctor, "Scoped", "Rowan").await;
        let before = last_seq(&app).await;
        app.as_user(&other, "query($id: ID!) { patient(id: $id) { givenName } }", json!({ "id": id }))
            .await
            .assert_code("NOT_FOUND");
        let events = events_after(&app, before).await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!((events[0].action.as_str(), events[0].outcome.as_str()), ("READ", "NOT_FOUND"));
        assert_eq!(patients_of(&events[0]), [id]);
        assert_eq!(events[0].actor_id, Some(other.id.parse().unwrap()));
    }

    async fn a_write_is_recorded_with_the_fields_it_changed_and_no_values(app) {
        let doctor = app.user("DOCTOR", "Write Doc").await;
        let other = app.user("DOCTOR", "Stranger Doc").await;
        let id = app.patient(&doctor, "Written", "Hazel").await;
        let before = last_seq(&app).await;
        let reply = app
            .as_user(&doctor, "mutation($p: ID!) { recordDiagnosis(patientId: $p, input: { icd10Code: \"J45\", description: \"Asthma, secret words\" }) { id } }", json!({ "p": id }))
            .await;
        let diagnosis = reply.ok()["recordDiagnosis"]["id"].as_str().unwrap().to_owned();
        app.as_user(&doctor, "mutation($d: ID!) { updateDiagnosis(id: $d, input: { description: \"More secret words\" }) { id } }", json!({ "d": diagnosis }))
            .await
            .ok();
        // Someone else's patient: refused, and recorded as such.
        app.as_user(&other, "mutation($d: ID!) { updateDiagnosis(id: $d, input: { description: \"x y z\" }) { id } }", json!({ "d": diagnosis }))
            .await
            .assert_code("NOT_FOUND");
        let events = events_after(&app, before).await;
        let kinds: Vec<(&str, &str)> = events.iter().map(|e| (e.action.as_str(), e.outcome.as_str())).collect();
        assert_eq!(kinds, [("CREATE", "SUCCESS"), ("WRITE", "SUCCESS"), ("WRITE", "NOT_FOUND")], "{events:?}");
        assert_eq!(patients_of(&events[0]), vec![id.clone()]);
        assert!(events[0].detail.contains(&diagnosis), "{}", events[0].detail);
        assert!(events[1].detail.contains("\"changed\":[\"description\"]"), "{}", events[1].detail);
        for event in &events {
            assert!(!event.detail.contains("secret"), "a value in {}", event.detail);
        }
        assert_eq!(events[2].actor_id, Some(other.id.parse().unwrap()));
    }
}
