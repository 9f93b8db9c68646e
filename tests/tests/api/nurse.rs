use caregraph_tests::on_both_databases;
use serde_json::json;

on_both_databases! {
    async fn a_nurse_lists_exactly_her_assigned_patients(app) {
        let doctor = app.user("DOCTOR", "Ward Doc").await;
        let nurse = app.user("NURSE", "Nell Ward").await;
        let other_nurse = app.user("NURSE", "Olga Other").await;
        let mine_a = app.patient(&doctor, "Mia", "Assigned").await;
        let mine_b = app.patient(&doctor, "Max", "Assigned").await;
        let theirs = app.patient(&doctor, "Tess", "Elsewhere").await;
        app.patient(&doctor, "Una", "Unassigned").await;
        app.assign(&doctor, &mine_a, &nurse).await;
        app.assign(&doctor, &mine_b, &nurse).await;
        app.assign(&doctor, &theirs, &other_nurse).await;
        let reply = app.as_user(&nurse, "{ patients { nodes { id givenName } } }", json!({})).await;
        let mut ids: Vec<String> = reply.ok()["patients"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        let mut expected = vec![mine_a, mine_b];
        expected.sort();
        assert_eq!(ids, expected);
        assert!(!reply.text.contains("Tess") && !reply.text.contains("Una"));
    }

    async fn a_nurse_cannot_read_an_unassigned_patient(app) {
        let doctor = app.user("DOCTOR", "Ward Doc").await;
        let nurse = app.user("NURSE", "Nell Ward").await;
        let stranger = app.patient(&doctor, "Sam", "Stranger").await;
        let query = "query($id: ID!) { patient(id: $id) { id givenName observations { value } } }";
        let reply = app.as_user(&nurse, query, json!({ "id": stranger })).await;
        reply.assert_code("NOT_FOUND");
        assert!(reply.data()["patient"].is_null());
        assert!(!reply.text.contains("Sam"));
        let random = app.as_user(&nurse, query, json!({ "id": uuid::Uuid::new_v4().to_string() })).await;
        assert_eq!(reply.status, random.status);
        assert_eq!(reply.body, random.body, "an unassigned patient must look like no patient at all");
    }

    async fn a_nurse_records_and_reads_vitals_of_assigned_patients_only(app) {
        let doctor = app.user("DOCTOR", "Ward Doc").await;
        let nurse = app.user("NURSE", "Nell Ward").await;
        let mine = app.patient(&doctor, "Vic", "Vitals").await;
        let stranger = app.patient(&doctor, "Sid", "Stranger").await;
        app.assign(&doctor, &mine, &nurse).await;
        let recorded = app.record_vital(&nurse, &mine, "HEART_RATE", 88.0).await;
        assert_eq!(recorded.ok()["recordObservation"]["unit"], "/min");
        app.record_vital(&nurse, &mine, "HEART_RATE", 1000.0).await.assert_code("BAD_USER_INPUT");
        app.record_vital(&nurse, &stranger, "HEART_RATE", 70.0).await.assert_code("NOT_FOUND");
        let read = app
            .as_user(&nurse, "query($id: ID!) { patient(id: $id) { observations { kind value } } }", json!({ "id": mine }))
            .await;
        assert_eq!(read.ok()["patient"]["observations"], json!([{ "kind": "HEART_RATE", "value": 88.0 }]));
        let doctors_view = app
            .as_user(&doctor, "query($id: ID!) { patient(id: $id) { observations { value } } }", json!({ "id": stranger }))
            .await;
        assert_eq!(doctors_view.ok()["patient"]["observations"], json!([]));
    }

    async fn a_nurse_cannot_register_change_or_assign_and_nothing_is_written(app) {
        let doctor = app.user("DOCTOR", "Ward Doc").await;
        let nurse = app.user("NURSE", "Nell Ward").await;
        let mine = app.patient(&doctor, "Ada", "Assigned").await;
        app.assign(&doctor, &mine, &nurse).await;
        let before = app.stored().await;
        let create = app
            .as_user(&nurse, "mutation($input: CreatePatientInput!) { createPatient(input: $input) { id } }", json!({ "input": caregraph_tests::full_patient("New", "Person") }))
            .await;
        create.assert_code("FORBIDDEN");
        let update = app
            .as_user(&nurse, "mutation($id: ID!) { updatePatient(id: $id, input: { familyName: \"Changed\" }) { id } }", json!({ "id": mine }))
            .await;
        update.assert_code("FORBIDDEN");
        let assign = app
            .as_user(&nurse, "mutation($p: ID!, $n: ID!) { assignPatient(patientId: $p, nurseId: $n) { id } }", json!({ "p": mine, "n": nurse.id }))
            .await;
        assign.assert_code("FORBIDDEN");
        // Read from the database: no patient, change or assignment stored.
        assert_eq!(app.stored().await, before);
        // The same read sees what the nurse may write.
        app.record_vital(&nurse, &mine, "HEART_RATE", 71.0).await.ok();
        assert_ne!(app.stored().await, before, "the check cannot see a nurse's write");
    }

    async fn denied_values_reach_neither_the_response_nor_the_logs(app) {
        let doctor = app.user("DOCTOR", "Ward Doc").await;
        let nurse = app.user("NURSE", "Nell Ward").await;
        let given = format!("Zed{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let id = app.patient(&doctor, &given, "Secretson").await;
        app.assign(&doctor, &id, &nurse).await;
        let reply = app
            .as_user(&nurse, "query($id: ID!) { patient(id: $id) { givenName nationalId } }", json!({ "id": id }))
            .await;
        assert_eq!(reply.data()["patient"]["givenName"], given.as_str());
        assert!(reply.data()["patient"]["nationalId"].is_null());
        assert_eq!(reply.codes(), ["FORBIDDEN"]);
        assert_eq!(reply.errors()[0]["path"], json!(["patient", "nationalId"]));
        let national_id = format!("NID-{given}-Secretson");
        assert!(!reply.text.contains(&national_id));
        let logs = app.logs();
        assert!(!logs.is_empty(), "the server logged nothing at all: the check would be empty");
        for value in [given.as_str(), national_id.as_str(), "Secretson", "1961-07-04", caregraph_tests::STAFF_PASSWORD] {
            assert!(!logs.contains(value), "the log contains {value}");
        }
        assert!(!logs.contains(&nurse.token), "the log contains a token");
    }
}
