use caregraph_tests::{full_patient, on_both_databases};
use serde_json::json;

const CHART: &str = "query($id: ID!) {
    patient(id: $id) {
        id mrn givenName familyName dateOfBirth sex phone address email nationalId
        observations { kind value unit }
        assignedNurses { id name }
    }
}";

on_both_databases! {
    async fn a_doctor_registers_a_patient_and_reads_the_full_chart(app) {
        let doctor = app.user("DOCTOR", "Reg Istrar").await;
        let reply = app
            .as_user(&doctor, "mutation($input: CreatePatientInput!) { createPatient(input: $input) { id mrn givenName dateOfBirth nationalId } }", json!({ "input": full_patient("Ana", "Silva") }))
            .await;
        let created = reply.ok()["createPatient"].clone();
        assert_eq!(created["givenName"], "Ana");
        assert_eq!(created["dateOfBirth"], "1961-07-04");
        let id = created["id"].as_str().unwrap();
        app.record_vital(&doctor, id, "BODY_TEMPERATURE", 37.2).await.ok();
        let chart = app.as_user(&doctor, CHART, json!({ "id": id })).await;
        let patient = &chart.ok()["patient"];
        assert_eq!(patient["nationalId"], "NID-Ana-Silva");
        assert_eq!(patient["email"], "ana.silva@patient.test");
        assert_eq!(patient["observations"][0]["unit"], "Cel");
        assert_eq!(patient["assignedNurses"], json!([]));
    }

    async fn a_doctor_updates_only_what_they_send(app) {
        let doctor = app.user("DOCTOR", "Up Dater").await;
        let id = app.patient(&doctor, "Ben", "Before").await;
        let update = "mutation($id: ID!, $input: UpdatePatientInput!) { updatePatient(id: $id, input: $input) { familyName phone address } }";
        let reply = app.as_user(&doctor, update, json!({ "id": id, "input": { "familyName": "After", "phone": null } })).await;
        let patient = &reply.ok()["updatePatient"];
        assert_eq!(patient["familyName"], "After");
        assert!(patient["phone"].is_null());
        assert_eq!(patient["address"], "Ben Before Street 1");
        let empty = app.as_user(&doctor, update, json!({ "id": id, "input": {} })).await;
        empty.assert_code("BAD_USER_INPUT");
        let future = app.as_user(&doctor, update, json!({ "id": id, "input": { "dateOfBirth": "2999-01-01" } })).await;
        future.assert_code("BAD_USER_INPUT");
        assert!(!future.text.contains("2999"), "the message quotes the value: {}", future.text);
    }

    async fn another_doctors_patient_does_not_exist_for_me(app) {
        let mine = app.user("DOCTOR", "Mine Doc").await;
        let other = app.user("DOCTOR", "Other Doc").await;
        let id = app.patient(&other, "Not", "Mine").await;
        let chart = app.as_user(&mine, CHART, json!({ "id": id })).await;
        chart.assert_code("NOT_FOUND");
        assert!(chart.data()["patient"].is_null());
        let random = app.as_user(&mine, CHART, json!({ "id": uuid::Uuid::new_v4().to_string() })).await;
        assert_eq!(chart.body, random.body, "existence oracle");
        let update = app
            .as_user(&mine, "mutation($id: ID!) { updatePatient(id: $id, input: { familyName: \"Hijack\" }) { id } }", json!({ "id": id }))
            .await;
        update.assert_code("NOT_FOUND");
        let list = app.as_user(&mine, "{ patients { nodes { id } } }", json!({})).await;
        assert_eq!(list.ok()["patients"]["nodes"], json!([]));
        let still = app.as_user(&other, CHART, json!({ "id": id })).await;
        assert_eq!(still.ok()["patient"]["familyName"], "Mine");
    }

    async fn a_doctor_assigns_a_nurse_who_then_sees_the_patient(app) {
        let doctor = app.user("DOCTOR", "Assign Er").await;
        let nurse = app.user("NURSE", "Nia Nurse").await;
        let id = app.patient(&doctor, "Cara", "Cared").await;
        let assign = "mutation($p: ID!, $n: ID!) { assignPatient(patientId: $p, nurseId: $n) { id kind patientId staff { id name role } } }";
        let reply = app.as_user(&doctor, assign, json!({ "p": id, "n": nurse.id })).await;
        let assignment = reply.ok()["assignPatient"].clone();
        assert_eq!(assignment["kind"], "NURSE");
        assert_eq!(assignment["staff"]["id"], nurse.id.as_str());
        let twice = app.as_user(&doctor, assign, json!({ "p": id, "n": nurse.id })).await;
        assert_eq!(twice.ok()["assignPatient"]["id"], assignment["id"]);
        let chart = app.as_user(&doctor, CHART, json!({ "id": id })).await;
        assert_eq!(chart.ok()["patient"]["assignedNurses"][0]["name"], "Nia Nurse");
        let seen = app.as_user(&nurse, "query($id: ID!) { patient(id: $id) { givenName } }", json!({ "id": id })).await;
        assert_eq!(seen.ok()["patient"]["givenName"], "Cara");
        let colleague = app.user("DOCTOR", "Not Anurse").await;
        let not_a_nurse = app.as_user(&doctor, assign, json!({ "p": id, "n": colleague.id })).await;
        not_a_nurse.assert_code("BAD_USER_INPUT");
    }

    async fn patients_are_paged_with_cursors(app) {
        let doctor = app.user("DOCTOR", "Page Doc").await;
        for family in ["Adams", "Baker", "Clark", "Davis", "Evans"] {
            app.patient(&doctor, "Pat", family).await;
        }
        let page = "query($after: String) { patients(first: 2, after: $after) { nodes { familyName } pageInfo { hasNextPage endCursor } edges { cursor } } }";
        let mut seen = Vec::new();
        let mut after = serde_json::Value::Null;
        loop {
            let reply = app.as_user(&doctor, page, json!({ "after": after })).await;
            let patients = reply.ok()["patients"].clone();
            for node in patients["nodes"].as_array().unwrap() {
                seen.push(node["familyName"].as_str().unwrap().to_owned());
            }
            if patients["pageInfo"]["hasNextPage"] == false {
                break;
            }
            after = patients["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen, ["Adams", "Baker", "Clark", "Davis", "Evans"]);
        let too_many = app.as_user(&doctor, "{ patients(first: 101) { nodes { id } } }", json!({})).await;
        too_many.assert_code("BAD_USER_INPUT");
        let bad_cursor = app.as_user(&doctor, page, json!({ "after": "garbage" })).await;
        bad_cursor.assert_code("BAD_USER_INPUT");
    }
}
