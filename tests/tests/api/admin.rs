use caregraph_tests::{STAFF_PASSWORD, on_both_databases};
use serde_json::json;

const CREATE_USER: &str = "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id email name role active } code } }";

on_both_databases! {
    async fn an_admin_creates_accounts_of_every_role_and_lists_them(app) {
        let admin = app.login_admin().await;
        let registrar = app.user("DOCTOR", "Regi Strar").await;
        let record = app.patient(&registrar, "Own", "Record").await;
        let roles = ["ADMIN", "DOCTOR", "NURSE", "BILLING", "RECEPTION", "COMPLIANCE_OFFICER", "RESEARCHER"];
        let approver = app.login_approver().await;
        for role in roles {
            let email = format!("{}@Clinic.Test", role.to_lowercase());
            let reply = app
                .as_user(&admin, CREATE_USER, json!({ "input": { "email": email, "name": format!("A {role}"), "role": role } }))
                .await;
            let created = &reply.ok()["createUser"];
            let user = &created["user"];
            assert_eq!(user["role"], role);
            assert_eq!(user["email"], email.to_lowercase());
            assert_eq!(user["active"], false, "a requested account cannot log in yet");
            let id = user["id"].as_str().unwrap();
            let code = format!("{}{}", created["code"].as_str().unwrap(), app.approve(&approver, id).await);
            app.enrol(&code, None, STAFF_PASSWORD).await.ok();
            let session = app.login(&email, STAFF_PASSWORD).await;
            let me = app.as_user(&session, "{ me { role active } }", json!({})).await;
            assert_eq!(me.ok()["me"], json!({ "role": role, "active": true }));
        }
        let nurses = app.as_user(&admin, "{ users(role: NURSE) { role } }", json!({})).await;
        let nurses = nurses.ok()["users"].as_array().unwrap().clone();
        assert_eq!(nurses.len(), 1);
        let all = app.as_user(&admin, "{ users { id } }", json!({})).await;
        // The roles above, the two administrators and the registrar.
        assert_eq!(all.ok()["users"].as_array().unwrap().len(), roles.len() + 3);
        // A doctor's staff directory shows no patient accounts and no e-mails.
        let seen_by_doctor = app.as_user(&registrar, "{ users { name role } }", json!({})).await;
        let listed = seen_by_doctor.ok()["users"].as_array().unwrap().clone();
        assert!(listed.iter().all(|u| u["role"] != "PATIENT"), "{listed:?}");
        let emails = app.as_user(&registrar, "{ users(role: NURSE) { email } }", json!({})).await;
        emails.assert_code("FORBIDDEN");
        // Nobody on staff chooses a patient's password: no PATIENT accounts here.
        let before = app.stored().await;
        let patient_login = app
            .as_user(&admin, CREATE_USER, json!({ "input": { "email": "p2@clinic.test", "name": "P Two", "role": "PATIENT" } }))
            .await;
        patient_login.assert_code("BAD_USER_INPUT");
        assert_eq!(app.stored().await, before, "a refused PATIENT account was stored");
        let own = app.patient_account(&record, "NID-Own-Record").await;
        let me = app.as_user(&own, "{ me { role } }", json!({})).await;
        assert_eq!(me.ok()["me"]["role"], "PATIENT");
    }

    async fn an_admin_reads_the_directory_and_nothing_of_a_chart(app) {
        let admin = app.login_admin().await;
        let doctor = app.user("DOCTOR", "Dora Doc").await;
        let id = app.patient(&doctor, "Ivy", "Directory").await;
        app.record_vital(&doctor, &id, "HEART_RATE", 80.0).await.ok();
        let reply = app
            .as_user(&admin, "query($id: ID!) { patient(id: $id) { id mrn givenName familyName dateOfBirth phone observations { value } } }", json!({ "id": id }))
            .await;
        let patient = &reply.data()["patient"];
        assert_eq!(patient["givenName"], "Ivy");
        assert!(patient["mrn"].as_str().unwrap().starts_with("MRN"));
        for hidden in ["dateOfBirth", "phone", "observations"] {
            assert!(patient.get(hidden).is_some(), "{hidden} key missing");
            assert!(patient[hidden].is_null(), "{hidden} leaked");
        }
        assert_eq!(reply.codes(), ["FORBIDDEN", "FORBIDDEN", "FORBIDDEN"]);
        // The whole phone number: "555" alone can occur in an id or MRN.
        assert!(!reply.text.contains("1961-07-04") && !reply.text.contains("+1 555 Ivy phone"));
        let list = app.as_user(&admin, "{ patients { nodes { givenName } } }", json!({})).await;
        assert_eq!(list.ok()["patients"]["nodes"].as_array().unwrap().len(), 1);
    }

    async fn an_admin_deletes_a_patient_and_a_doctor_cannot(app) {
        let admin = app.login_admin().await;
        let doctor = app.user("DOCTOR", "Del Doc").await;
        let id = app.patient(&doctor, "Gone", "Soon").await;
        let delete = "mutation($id: ID!) { deletePatient(id: $id) }";
        let before = app.stored().await;
        app.as_user(&doctor, delete, json!({ "id": id })).await.assert_code("FORBIDDEN");
        assert_eq!(app.stored().await, before, "a refused deletion deleted");
        let reply = app.as_user(&admin, delete, json!({ "id": id })).await;
        assert_eq!(reply.ok()["deletePatient"], true);
        app.as_user(&doctor, "query($id: ID!) { patient(id: $id) { id } }", json!({ "id": id }))
            .await
            .assert_code("NOT_FOUND");
        app.as_user(&admin, delete, json!({ "id": id })).await.assert_code("NOT_FOUND");
    }

    async fn the_last_admin_and_ones_own_account_cannot_be_removed(app) {
        let admin = app.login_admin().await;
        let before = app.stored().await;
        let reply = app.as_user(&admin, "mutation($id: ID!) { deleteUser(id: $id) }", json!({ "id": admin.id })).await;
        reply.assert_code("BAD_USER_INPUT");
        assert_eq!(app.stored().await, before, "a refused deletion deleted");
        app.as_user(&admin, "{ me { id } }", json!({})).await.ok();
    }

    async fn duplicate_and_invalid_emails_are_refused_and_nothing_is_stored(app) {
        let admin = app.login_admin().await;
        let input = |email: &str| json!({ "input": { "email": email, "name": "Dupe", "role": "NURSE" } });
        app.as_user(&admin, CREATE_USER, input("dupe@clinic.test")).await.ok();
        let before = app.stored().await;
        let again = app.as_user(&admin, CREATE_USER, input(" DUPE@clinic.test ")).await;
        again.assert_code("BAD_USER_INPUT");
        assert!(again.text.contains("already exists"), "{}", again.text);
        for bad in ["not-an-email", "two@@clinic.test", "spaces in@clinic.test", ""] {
            let reply = app.as_user(&admin, CREATE_USER, input(bad)).await;
            reply.assert_code("BAD_USER_INPUT");
            assert!(reply.text.contains("email"), "{}", reply.text);
        }
        // One request stands, and no account exists before its owner enrols.
        let requests = app.as_user(&admin, "{ accountRequests { email role } }", json!({})).await;
        assert_eq!(requests.ok()["accountRequests"], json!([{ "email": "dupe@clinic.test", "role": "NURSE" }]));
        let users = app.as_user(&admin, "{ users(role: NURSE) { email } }", json!({})).await;
        assert_eq!(users.ok()["users"], json!([]));
        // Read from the database: no account and no enrolment stored.
        assert_eq!(app.stored().await, before);
    }
}
