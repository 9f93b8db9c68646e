//! Every read of patient data passes one door, which decides and counts it:
//! each class of data a query asks of each patient, allowed or denied, and
//! nothing that was not asked for.

use caregraph_tests::on_both_databases;
use serde_json::json;

on_both_databases! {
    async fn every_patient_field_and_relation_read_passes_the_door(app) {
        let doctor = app.user("DOCTOR", "Door Doc").await;
        let nurse = app.user("NURSE", "Door Nurse").await;
        for family in ["Ash", "Birch", "Cedar"] {
            let patient = app.patient(&doctor, "Tree", family).await;
            app.assign(&doctor, &patient, &nurse).await;
            app.record_vital(&nurse, &patient, "HEART_RATE", 70.0).await.ok();
            app.record_vital(&nurse, &patient, "HEART_RATE", 72.0).await.ok();
        }
        let (allowed, denied) = (app.disclosures.allowed(), app.disclosures.denied());
        // Per patient: id, givenName, familyName (through an alias) are
        // DIRECTORY and observations VITALS, allowed; nationalId
        // (IDENTIFIERS) is denied to a nurse. Each class is one decision.
        let reply = app
            .as_user(&nurse, "{ patients { nodes { id givenName last: familyName observations { value } nationalId } } }", json!({}))
            .await;
        assert_eq!(reply.codes(), ["FORBIDDEN"; 3]);
        assert_eq!(reply.data()["patients"]["nodes"].as_array().unwrap().len(), 3);
        assert_eq!(app.disclosures.allowed() - allowed, 3 * 2, "{}", reply.text);
        assert_eq!(app.disclosures.denied() - denied, 3);

        // The chart relations of a single patient: CLINICAL (diagnoses,
        // medications, allergies), NOTES and CARE_TEAM, one decision each.
        let one = app.as_user(&doctor, "query($q: String) { patients(filter: { familyName: $q }) { nodes { id } } }", json!({ "q": "Ash" })).await;
        let id = one.ok()["patients"]["nodes"][0]["id"].as_str().unwrap().to_owned();
        let allowed = app.disclosures.allowed();
        let reply = app
            .as_user(&doctor, "query($id: ID!) { patient(id: $id) { diagnoses { id } medications { id } allergies { id } notes { id } assignedNurses { id } } }", json!({ "id": id }))
            .await;
        reply.ok();
        assert_eq!(app.disclosures.allowed() - allowed, 3);

        // Research rows and explanations pass it as well.
        let compliance = app.user("COMPLIANCE_OFFICER", "Door Co").await;
        let researcher = app.user("RESEARCHER", "Door Re").await;
        app.as_user(&compliance, "mutation { publishResearchRelease { number } }", json!({})).await.ok();
        let allowed = app.disclosures.allowed();
        app.as_user(&researcher, "{ deidentifiedPatients { nodes { pseudonym } } }", json!({})).await.ok();
        assert_eq!(app.disclosures.allowed() - allowed, 1);
        let admin = app.login_admin().await;
        let allowed = app.disclosures.allowed();
        app.as_user(&admin, "query($u: ID!, $p: ID!) { explainAccess(userId: $u, patientId: $p) { scopes } }", json!({ "u": nurse.id, "p": id }))
            .await
            .ok();
        assert_eq!(app.disclosures.allowed() - allowed, 1);
    }

    async fn the_door_records_what_was_asked_through_fragments_and_cursors_only(app) {
        let doctor = app.user("DOCTOR", "Asked Doc").await;
        let nurse = app.user("NURSE", "Asked Nurse").await;
        let patient = app.patient(&doctor, "Asked", "Aspen").await;
        app.assign(&doctor, &patient, &nurse).await;
        app.record_vital(&nurse, &patient, "HEART_RATE", 70.0).await.ok();

        // A fragment is read like the fields it spreads: DIRECTORY and VITALS.
        let (allowed, denied) = (app.disclosures.allowed(), app.disclosures.denied());
        let reply = app
            .as_user(&nurse, "query { patients { nodes { ...Bedside } } } fragment Bedside on Patient { familyName observations { value } }", json!({}))
            .await;
        assert_eq!(reply.ok()["patients"]["nodes"][0]["observations"][0]["value"], 70.0);
        assert_eq!((app.disclosures.allowed() - allowed, app.disclosures.denied() - denied), (2, 0));

        // A cursor encodes the id: reading only cursors reads DIRECTORY.
        let allowed = app.disclosures.allowed();
        let reply = app.as_user(&nurse, "{ patients { edges { cursor } } }", json!({})).await;
        reply.ok();
        assert_eq!(app.disclosures.allowed() - allowed, 1);

        // Nothing the query does not ask for is read, even where allowed:
        // a page of names only discloses no vitals.
        let allowed = app.disclosures.allowed();
        app.as_user(&nurse, "{ patients { pageInfo { hasNextPage } } }", json!({})).await.ok();
        assert_eq!(app.disclosures.allowed() - allowed, 0);
    }

    async fn a_query_without_patient_data_opens_no_door(app) {
        let nurse = app.user("DOCTOR", "Quiet Doctor").await;
        let (allowed, denied) = (app.disclosures.allowed(), app.disclosures.denied());
        app.as_user(&nurse, "{ me { id name role } users { name } departments { name } }", json!({})).await.ok();
        assert_eq!((app.disclosures.allowed(), app.disclosures.denied()), (allowed, denied));
    }
}
