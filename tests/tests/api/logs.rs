//! The server's log carries ids, never values: after a whole workflow, the
//! app's own log (and whatever no app's span claimed) holds none of the
//! patient data written, no token and no password.

use caregraph_entity::audit_event;
use caregraph_tests::{
    ADMIN_PASSWORD, APPROVER_PASSWORD, STAFF_PASSWORD, on_both_databases, unattributed_logs,
};
use sea_orm::EntityTrait;
use serde_json::json;

on_both_databases! {
    async fn no_patient_data_token_or_password_reaches_the_log(app) {
        let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
        let (given, family) = (format!("Lg{tag}"), format!("Fam{tag}"));
        let doctor = app.user("DOCTOR", "Log Doctor").await;
        let mut input = caregraph_tests::full_patient(&given, &family);
        input["dateOfBirth"] = json!("1937-02-19");
        let created = app
            .as_user(&doctor, "mutation($input: CreatePatientInput!) { createPatient(input: $input) { id } }", json!({ "input": input }))
            .await;
        let patient = created.ok()["createPatient"]["id"].as_str().unwrap().to_owned();
        app.fill_chart(&doctor, &patient, &tag).await;
        let sensitive = format!("psychotherapy {tag} session");
        let note = app
            .as_user(&doctor, "mutation($p: ID!, $i: WriteNoteInput!) { writeNote(patientId: $p, input: $i) { id } }", json!({ "p": patient, "i": { "sensitivity": "PSYCHOTHERAPY", "body": sensitive } }))
            .await;
        let note_id = note.ok()["writeNote"]["id"].clone();
        let amended = format!("amended {tag} body");
        app.as_user(&doctor, "mutation($id: ID!, $b: String!) { amendNote(id: $id, body: $b) { id } }", json!({ "id": note_id, "b": amended }))
            .await
            .ok();
        let new_phone = format!("+1 555 {tag} new");
        app.as_user(&doctor, "mutation($id: ID!, $ph: String!) { updatePatient(id: $id, input: { phone: $ph }) { id } }", json!({ "id": patient, "ph": new_phone }))
            .await
            .ok();
        app.record_vital(&doctor, &patient, "HEART_RATE", 77.0).await.ok();
        let read = app
            .as_user(&doctor, "query($id: ID!) { patient(id: $id) { givenName familyName dateOfBirth phone address email nationalId notes { body } diagnoses { description } } }", json!({ "id": patient }))
            .await;
        assert_eq!(read.ok()["patient"]["nationalId"], format!("NID-{given}-{family}"));

        // The patient enrols with the desk's code and their national id.
        let desk = app.user("RECEPTION", "Log Desk").await;
        let patient_email = format!("patient.{tag}@clinic.test");
        let invitation = app
            .as_user(&desk, "mutation($p: ID!, $e: String!) { invitePatient(patientId: $p, email: $e) { code } }", json!({ "p": patient, "e": patient_email }))
            .await;
        let code = invitation.ok()["invitePatient"]["code"].as_str().unwrap().to_owned();
        let patient_password = format!("patient passphrase {tag}");
        let national_id = format!("NID-{given}-{family}");
        app.enrol(&code, Some("NID-wrong-guess"), &patient_password).await.assert_code("BAD_USER_INPUT");
        app.enrol(&code, Some(&national_id), &patient_password).await.ok();

        // Login (a wrong password too), refresh, logout.
        let wrong_password = format!("wrong passphrase {tag}");
        app.try_login(&patient_email, &wrong_password).await.assert_code("UNAUTHENTICATED");
        let own = app.login(&patient_email, &patient_password).await;
        app.as_user(&own, "query($id: ID!) { patient(id: $id) { givenName nationalId } }", json!({ "id": patient }))
            .await
            .ok();
        let refreshed = app
            .graphql(None, "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }", json!({ "t": own.refresh_token }))
            .await;
        let pair = refreshed.ok()["refreshSession"].clone();
        let (access, refresh) = (pair["accessToken"].as_str().unwrap().to_owned(), pair["refreshToken"].as_str().unwrap().to_owned());
        app.graphql(Some(&access), "mutation { logout }", json!({})).await.ok();
        app.graphql(None, "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }", json!({ "t": own.refresh_token }))
            .await
            .assert_code("UNAUTHENTICATED");

        let log = app.logs();
        let finished = log.lines().filter(|l| l.contains("request finished")).count();
        assert!(finished >= 20, "the app's log did not capture its request lines ({finished}):\n{log}");
        assert!(log.contains(&format!("port={}", app.address.rsplit(':').next().unwrap())), "{log}");
        assert!(log.contains("patient registered") && log.contains("patient enrolled"), "{log}");
        let secrets = [
            ("given name", given.clone()),
            ("family name", family.clone()),
            ("date of birth", "1937-02-19".to_owned()),
            ("national id", national_id.clone()),
            ("phone", format!("+1 555 {given} phone")),
            ("new phone", new_phone),
            ("address", format!("{given} {family} Street 1")),
            ("patient e-mail", format!("{}.{}@patient.test", given.to_lowercase(), family.to_lowercase())),
            ("note body", format!("{tag} note body")),
            ("diagnosis", format!("{tag} asthma")),
            ("medication", format!("{tag}olol")),
            ("allergy", format!("{tag} pollen")),
            ("coverage", format!("M-{tag}")),
            ("invoice", format!("{tag} consultation")),
            ("sensitive note", sensitive),
            ("amended note", amended),
            ("enrolment code", code),
            ("patient password", patient_password),
            ("wrong password", wrong_password),
            ("staff password", STAFF_PASSWORD.to_owned()),
            ("admin password", ADMIN_PASSWORD.to_owned()),
            ("approver password", APPROVER_PASSWORD.to_owned()),
            ("access token", own.token.clone()),
            ("refresh token", own.refresh_token.clone()),
            ("refreshed access token", access),
            ("refreshed refresh token", refresh),
            ("doctor's access token", doctor.token.clone()),
            ("doctor's refresh token", doctor.refresh_token.clone()),
        ];
        let unattributed = unattributed_logs();
        // The audit trail recorded the workflow, by ids and classes only.
        let trail: Vec<String> = audit_event::Entity::find()
            .all(&app.db)
            .await
            .expect("the test reads the trail")
            .into_iter()
            .map(|e| format!("{} {} {} {} {:?} {:?}", e.action, e.patient_ids, e.field_classes, e.detail, e.operation_name, e.client_addr))
            .collect();
        assert!(trail.iter().any(|e| e.starts_with("READ") && e.contains(&patient)), "no read of the patient in the trail");
        assert!(trail.iter().any(|e| e.starts_with("ENROLMENT")), "no enrolment in the trail");
        let trail = trail.join("\n");
        for (what, value) in &secrets {
            assert!(!log.contains(value.as_str()), "the app's log contains the {what} {value}:\n{log}");
            assert!(!unattributed.contains(value.as_str()), "the unattributed log contains the {what} {value}");
            assert!(!trail.contains(value.as_str()), "the audit trail contains the {what} {value}");
        }
    }
}
