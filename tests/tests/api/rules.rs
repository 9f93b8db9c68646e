//! The attribute rules on top of roles, the chart's write rules, the
//! research data set and explainAccess.

use caregraph_tests::{Session, TestApp, on_both_databases};
use serde_json::json;

const SEE: &str = "query($id: ID!) { patient(id: $id) { id givenName } }";

async fn sees(app: &TestApp, who: &Session, patient: &str) -> bool {
    let reply = app.as_user(who, SEE, json!({ "id": patient })).await;
    if reply.body.get("errors").is_some() {
        reply.assert_code("NOT_FOUND");
        false
    } else {
        true
    }
}

fn hours(h: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(h)).to_rfc3339()
}

on_both_databases! {
    async fn an_assignment_grants_nothing_outside_its_window_or_once_revoked(app) {
        let doctor = app.user("DOCTOR", "Window Doc").await;
        let (future, past, now) = (
            app.user("NURSE", "Future Nurse").await,
            app.user("NURSE", "Past Nurse").await,
            app.user("NURSE", "Now Nurse").await,
        );
        let patient = app.patient(&doctor, "Tim", "Window").await;
        app.assign_care_team(&doctor, &patient, &future, "NURSE", (Some(hours(2)), Some(hours(10)))).await;
        app.assign_care_team(&doctor, &patient, &past, "NURSE", (Some(hours(-10)), Some(hours(-2)))).await;
        let current = app.assign_care_team(&doctor, &patient, &now, "NURSE", (Some(hours(-1)), Some(hours(8)))).await;
        assert!(!sees(&app, &future, &patient).await, "a future assignment grants access");
        assert!(!sees(&app, &past, &patient).await, "an ended assignment grants access");
        assert!(sees(&app, &now, &patient).await);
        let listed = app.as_user(&future, "{ patients { nodes { id } } }", json!({})).await;
        assert_eq!(listed.ok()["patients"]["nodes"], json!([]));
        app.as_user(&doctor, "mutation($id: ID!) { revokeAssignment(id: $id) { revokedAt } }", json!({ "id": current })).await.ok();
        assert!(!sees(&app, &now, &patient).await, "a revoked assignment grants access");
        let backwards = app
            .as_user(&doctor, "mutation($i: AssignCareTeamInput!) { assignCareTeam(input: $i) { id } }", json!({ "i": { "patientId": patient, "staffId": now.id, "kind": "NURSE", "startsAt": hours(5), "endsAt": hours(1) } }))
            .await;
        backwards.assert_code("BAD_USER_INPUT");
    }

    async fn a_restricted_patient_is_reachable_only_through_an_explicit_assignment(app) {
        let registrar = app.user("DOCTOR", "Reg Doc").await;
        let attending = app.user("DOCTOR", "Att Doc").await;
        let nurse = app.user("NURSE", "Vip Nurse").await;
        let reception = app.user("RECEPTION", "Front Desk").await;
        let admin = app.login_admin().await;
        let vip = app.patient(&registrar, "Vera", "Important").await;
        app.assign_care_team(&registrar, &vip, &attending, "ATTENDING", (None, None)).await;
        app.assign(&registrar, &vip, &nurse).await;
        assert!(sees(&app, &reception, &vip).await);
        app.as_user(&registrar, "mutation($id: ID!) { updatePatient(id: $id, input: { restricted: true }) { id } }", json!({ "id": vip }))
            .await;
        assert!(!sees(&app, &registrar, &vip).await, "registering is not an explicit assignment");
        assert!(!sees(&app, &reception, &vip).await, "ANY must not reach a restricted patient");
        assert!(!sees(&app, &admin, &vip).await);
        assert!(sees(&app, &attending, &vip).await);
        assert!(sees(&app, &nurse, &vip).await);
        let list = app.as_user(&reception, "{ patients { nodes { givenName } } }", json!({})).await;
        assert!(!list.text.contains("Vera"));
    }

    async fn sensitive_notes_reach_only_their_author_and_the_attending_doctor(app) {
        let registrar = app.user("DOCTOR", "Reg Istrar").await;
        let attending = app.user("DOCTOR", "Attend Ing").await;
        let nurse = app.user("NURSE", "Note Nurse").await;
        let patient = app.patient(&registrar, "Noel", "Notes").await;
        app.assign_care_team(&registrar, &patient, &attending, "ATTENDING", (None, None)).await;
        app.assign(&registrar, &patient, &nurse).await;
        let write = "mutation($p: ID!, $i: WriteNoteInput!) { writeNote(patientId: $p, input: $i) { id } }";
        for (who, sensitivity, body) in [
            (&registrar, "PSYCHOTHERAPY", "registrar psychotherapy"),
            (&attending, "SUBSTANCE_USE", "attending substance use"),
            (&nurse, "NORMAL", "nursing handover"),
        ] {
            app.as_user(who, write, json!({ "p": patient, "i": { "sensitivity": sensitivity, "body": body } })).await.ok();
        }
        let bodies = |who: &Session| {
            let who = who.clone();
            let patient = patient.clone();
            let app = &app;
            async move {
                let reply = app.as_user(&who, "query($id: ID!) { patient(id: $id) { notes { body } } }", json!({ "id": patient })).await;
                let mut out: Vec<String> = reply.ok()["patient"]["notes"].as_array().unwrap().iter().map(|n| n["body"].as_str().unwrap().to_owned()).collect();
                out.sort();
                out
            }
        };
        assert_eq!(bodies(&attending).await, ["attending substance use", "nursing handover", "registrar psychotherapy"]);
        assert_eq!(bodies(&registrar).await, ["nursing handover", "registrar psychotherapy"]);
        assert_eq!(bodies(&nurse).await, ["nursing handover"]);
        let own = app.patient_account(&patient, "NID-Noel-Notes").await;
        assert_eq!(bodies(&own).await, ["nursing handover"]);
        let before = app.stored().await;
        let nurse_sensitive = app
            .as_user(&nurse, write, json!({ "p": patient, "i": { "sensitivity": "PSYCHOTHERAPY", "body": "not mine to write" } }))
            .await;
        nurse_sensitive.assert_code("FORBIDDEN");
        assert_eq!(app.stored().await, before, "a refused note was stored");
    }

    async fn writes_are_checked_per_input_field_and_fail_whole(app) {
        let doctor = app.user("DOCTOR", "Field Doc").await;
        let nurse = app.user("NURSE", "Field Nurse").await;
        let reception = app.user("RECEPTION", "Field Desk").await;
        let patient = app.patient(&doctor, "Wanda", "Whole").await;
        app.assign(&doctor, &patient, &nurse).await;
        let before = app.stored().await;
        let mixed = app
            .as_user(&reception, "mutation($id: ID!) { updatePatient(id: $id, input: { phone: \"+1 555 0000\", nationalId: \"NID-NEW\" }) { id } }", json!({ "id": patient }))
            .await;
        mixed.assert_code("FORBIDDEN");
        // Neither the permitted phone nor the national id was written.
        assert_eq!(app.stored().await, before, "a refused update wrote part of its input");
        app.as_user(&reception, "mutation($id: ID!) { updatePatient(id: $id, input: { phone: \"+1 555 0000\" }) { phone } }", json!({ "id": patient }))
            .await
            .ok();
        let diagnosis = "mutation($p: ID!) { recordDiagnosis(patientId: $p, input: { icd10Code: \"I10\", description: \"Hypertension\" }) { id } }";
        let before = app.stored().await;
        app.as_user(&nurse, diagnosis, json!({ "p": patient })).await.assert_code("FORBIDDEN");
        assert_eq!(app.stored().await, before, "a refused diagnosis was stored");
        app.record_vital(&nurse, &patient, "HEART_RATE", 72.0).await.ok();
        let billing = app.user("BILLING", "Field Billing").await;
        app.as_user(&billing, diagnosis, json!({ "p": patient })).await.assert_code("FORBIDDEN");
        let invoice = app
            .as_user(&billing, "mutation($p: ID!) { issueInvoice(patientId: $p, input: { description: \"Visit\", amountCents: 9000, currency: \"eur\" }) { id status currency } }", json!({ "p": patient }))
            .await;
        assert_eq!(invoice.ok()["issueInvoice"]["currency"], "EUR");
        let invoice_id = invoice.ok()["issueInvoice"]["id"].clone();
        let paid = app.as_user(&billing, "mutation($id: ID!) { updateInvoiceStatus(id: $id, status: PAID) { status } }", json!({ "id": invoice_id })).await;
        assert_eq!(paid.ok()["updateInvoiceStatus"]["status"], "PAID");
        let again = app.as_user(&billing, "mutation($id: ID!) { updateInvoiceStatus(id: $id, status: VOID) { status } }", json!({ "id": invoice_id })).await;
        again.assert_code("BAD_USER_INPUT");
        let clinical = app.as_user(&billing, "query($id: ID!) { patient(id: $id) { diagnoses { id } observations { id } invoices { status } } }", json!({ "id": patient })).await;
        assert_eq!(clinical.codes(), ["FORBIDDEN", "FORBIDDEN"]);
        assert_eq!(clinical.data()["patient"]["invoices"][0]["status"], "PAID");
    }

    async fn department_membership_grants_no_access(app) {
        let admin = app.login_admin().await;
        let ward = app.as_user(&admin, "mutation { createDepartment(name: \"Cardiology\") { id } }", json!({})).await;
        let ward = ward.ok()["createDepartment"]["id"].clone();
        let doctor = app.user("DOCTOR", "Ward Doc").await;
        let email = format!("ward.nurse.{}@clinic.test", uuid::Uuid::new_v4().simple());
        let request = app
            .as_user(&admin, "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } code } }", json!({ "i": { "email": email, "name": "Ward Nurse", "role": "NURSE", "departmentId": ward } }))
            .await;
        let created = &request.ok()["createUser"];
        let approved = app.approve(&app.login_approver().await, created["user"]["id"].as_str().unwrap()).await;
        app.enrol(&format!("{}{approved}", created["code"].as_str().unwrap()), None, caregraph_tests::STAFF_PASSWORD)
            .await
            .ok();
        let nurse = app.login(&email, caregraph_tests::STAFF_PASSWORD).await;
        let patient = app.patient(&doctor, "Dee", "Partment").await;
        app.as_user(&doctor, "mutation($id: ID!, $d: ID!) { updatePatient(id: $id, input: { departmentId: $d }) { departmentId } }", json!({ "id": patient, "d": ward }))
            .await
            .ok();
        assert!(!sees(&app, &nurse, &patient).await, "same department is not an assignment");
    }

    async fn list_filters_are_allowed_only_on_readable_fields(app) {
        let doctor = app.user("DOCTOR", "Filter Doc").await;
        let admin = app.login_admin().await;
        app.patient(&doctor, "Fay", "Filter").await;
        app.patient(&doctor, "Gus", "Other").await;
        let by_birth = "{ patients(filter: { dateOfBirth: \"1961-07-04\" }) { nodes { familyName } } }";
        app.as_user(&admin, by_birth, json!({})).await.assert_code("FORBIDDEN");
        let found = app.as_user(&doctor, by_birth, json!({})).await;
        assert_eq!(found.ok()["patients"]["nodes"].as_array().unwrap().len(), 2);
        let by_name = app.as_user(&admin, "{ patients(filter: { familyName: \"Fil\" }) { nodes { familyName } } }", json!({})).await;
        assert_eq!(by_name.ok()["patients"]["nodes"], json!([{ "familyName": "Filter" }]));
    }

    async fn a_patient_reads_their_own_record_and_nothing_else(app) {
        let doctor = app.user("DOCTOR", "Own Doc").await;
        let nurse = app.user("NURSE", "Own Nurse").await;
        let mine = app.patient(&doctor, "Olive", "Own").await;
        let theirs = app.patient(&doctor, "Otto", "Other").await;
        app.assign(&doctor, &mine, &nurse).await;
        app.fill_chart(&doctor, &mine, "Own").await;
        let me = app.patient_account(&mine, "NID-Olive-Own").await;
        let list = app.as_user(&me, "{ patients { nodes { id givenName diagnoses { description } invoices { description } } } }", json!({})).await;
        let nodes = list.ok()["patients"]["nodes"].as_array().unwrap().clone();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0]["id"], mine.as_str());
        assert_eq!(nodes[0]["diagnoses"][0]["description"], "Own asthma");
        assert!(!sees(&app, &me, &theirs).await);
        let team = app.as_user(&me, "query($id: ID!) { patient(id: $id) { assignedNurses { name } } }", json!({ "id": mine })).await;
        team.assert_code("FORBIDDEN");
        assert!(!team.text.contains("Own Nurse"));
    }

    async fn researchers_get_safe_harbor_data_and_nothing_else(app) {
        let doctor = app.user("DOCTOR", "Study Doc").await;
        let researcher = app.user("RESEARCHER", "Re Searcher").await;
        let old = app
            .as_user(&doctor, "mutation($i: CreatePatientInput!) { createPatient(input: $i) { id } }", json!({ "i": { "givenName": "Ada", "familyName": "Ancient", "dateOfBirth": "1920-02-02", "sex": "FEMALE", "postalCode": "03601", "nationalId": "NID-ANCIENT" } }))
            .await;
        let old = old.ok()["createPatient"]["id"].as_str().unwrap().to_owned();
        let young = app.patient(&doctor, "Yuri", "Young").await;
        app.as_user(&doctor, "mutation($p: ID!) { recordDiagnosis(patientId: $p, input: { icd10Code: \"E11.9\", description: \"Diabetes\" }) { id } }", json!({ "p": young }))
            .await
            .ok();
        app.research_release().await;
        let reply = app
            .as_user(&researcher, "{ deidentifiedPatients { nodes { pseudonym birthYear age sex zip3 diagnosisCodes observations { year } } hasNextPage } }", json!({}))
            .await;
        let nodes = reply.ok()["deidentifiedPatients"]["nodes"].as_array().unwrap().clone();
        assert_eq!(nodes.len(), 2);
        let ancient = nodes.iter().find(|n| n["age"] == "90+").expect("the 1920 patient is pooled as 90+");
        assert!(ancient["birthYear"].is_null());
        assert_eq!(ancient["zip3"], "000");
        let younger = nodes.iter().find(|n| n["age"] != "90+").unwrap();
        assert_eq!(younger["zip3"], "100");
        assert_eq!(younger["birthYear"], 1961);
        assert_eq!(younger["diagnosisCodes"], json!(["E11.9"]));
        for secret in ["Ada", "Ancient", "Yuri", "Young", "NID-", "1920-02-02", "1961-07-04", "03601", "+1 555", old.as_str(), young.as_str()] {
            assert!(!reply.text.contains(secret), "the data set contains {secret}");
        }
        app.as_user(&researcher, "{ patients { nodes { id } } }", json!({})).await.assert_code("FORBIDDEN");
        app.as_user(&researcher, SEE, json!({ "id": young })).await.assert_code("NOT_FOUND");
    }

    async fn explain_access_names_the_deciding_rule(app) {
        let doctor = app.user("DOCTOR", "Explained Doc").await;
        let nurse = app.user("NURSE", "Explained Nurse").await;
        let compliance = app.user("COMPLIANCE_OFFICER", "Comp Liance").await;
        let patient = app.patient(&doctor, "Exa", "Plain").await;
        app.assign(&doctor, &patient, &nurse).await;
        let query = "query($u: ID!, $p: ID!) { explainAccess(userId: $u, patientId: $p) { role scopes decisions { fieldClass action allowed rule } } }";
        let reply = app.as_user(&compliance, query, json!({ "u": nurse.id, "p": patient })).await;
        let explanation = reply.ok()["explainAccess"].clone();
        assert_eq!(explanation["role"], "NURSE");
        assert_eq!(explanation["scopes"], json!(["ANY", "ASSIGNED"]));
        let decision = |class: &str, action: &str| {
            explanation["decisions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["fieldClass"] == class && d["action"] == action)
                .unwrap()
                .clone()
        };
        let read = decision("CLINICAL", "READ");
        assert_eq!(read["allowed"], true);
        assert!(read["rule"].as_str().unwrap().contains("line") && read["rule"].as_str().unwrap().contains("role NURSE"), "{read}");
        let write = decision("CLINICAL", "WRITE");
        assert_eq!(write["allowed"], false);
        assert!(write["rule"].as_str().unwrap().contains("denied by default"));
        assert!(!reply.text.contains("Exa"), "an explanation carries no patient data");
        app.as_user(&nurse, query, json!({ "u": nurse.id, "p": patient })).await.assert_code("FORBIDDEN");
        app.as_user(&doctor, query, json!({ "u": nurse.id, "p": patient })).await.assert_code("FORBIDDEN");
    }

    async fn review_findings_stay_fixed(app) {
        let registrar = app.user("DOCTOR", "Self Assigner").await;
        let colleague = app.user("DOCTOR", "Col League").await;
        let reception = app.user("RECEPTION", "Desk Person").await;
        let compliance = app.user("COMPLIANCE_OFFICER", "Comp Officer").await;
        let nurse = app.user("NURSE", "Oracle Nurse").await;
        let patient = app.patient(&registrar, "Rita", "Review").await;
        // No self-assignment: it would unlock what only the attending reads.
        let own = app
            .as_user(&registrar, "mutation($i: AssignCareTeamInput!) { assignCareTeam(input: $i) { id } }", json!({ "i": { "patientId": patient, "staffId": registrar.id, "kind": "ATTENDING" } }))
            .await;
        own.assert_code("FORBIDDEN");
        // Restricting needs an attending doctor, and the desk cannot restrict.
        let restrict = "mutation($id: ID!) { updatePatient(id: $id, input: { restricted: true }) { id } }";
        let before = app.stored().await;
        app.as_user(&registrar, restrict, json!({ "id": patient })).await.assert_code("BAD_USER_INPUT");
        app.as_user(&reception, restrict, json!({ "id": patient })).await.assert_code("FORBIDDEN");
        assert_eq!(app.stored().await, before, "a refused restriction was stored");
        app.assign_care_team(&registrar, &patient, &colleague, "ATTENDING", (None, None)).await;
        app.as_user(&registrar, restrict, json!({ "id": patient })).await.ok();
        // Explaining access to a patient the reviewer cannot see: as missing.
        let explain = "query($u: ID!, $p: ID!) { explainAccess(userId: $u, patientId: $p) { restricted } }";
        let hidden = app.as_user(&compliance, explain, json!({ "u": colleague.id, "p": patient })).await;
        let missing = app.as_user(&compliance, explain, json!({ "u": colleague.id, "p": uuid::Uuid::new_v4().to_string() })).await;
        hidden.assert_code("NOT_FOUND");
        assert_eq!(hidden.body, missing.body);
        // Changing a record the role could never change says nothing of it.
        let other = app.patient(&colleague, "Otto", "Oracle").await;
        let diagnosis = app
            .as_user(&colleague, "mutation($p: ID!) { recordDiagnosis(patientId: $p, input: { icd10Code: \"I10\", description: \"x\" }) { id } }", json!({ "p": other }))
            .await;
        let diagnosis_id = diagnosis.ok()["recordDiagnosis"]["id"].clone();
        let update = "mutation($id: ID!) { updateDiagnosis(id: $id, input: { description: \"y\" }) { id } }";
        let before = app.stored().await;
        let real = app.as_user(&nurse, update, json!({ "id": diagnosis_id })).await;
        let fake = app.as_user(&nurse, update, json!({ "id": uuid::Uuid::new_v4().to_string() })).await;
        assert_eq!(real.body, fake.body);
        assert_eq!(app.stored().await, before, "a refused diagnosis change was stored");
        let note = app
            .as_user(&colleague, "mutation($p: ID!) { writeNote(patientId: $p, input: { sensitivity: PSYCHOTHERAPY, body: \"z\" }) { id } }", json!({ "p": other }))
            .await;
        let note_id = note.ok()["writeNote"]["id"].clone();
        app.assign(&colleague, &other, &nurse).await;
        let amend = "mutation($id: ID!) { amendNote(id: $id, body: \"changed\") { id } }";
        let before = app.stored().await;
        let sensitive = app.as_user(&nurse, amend, json!({ "id": note_id })).await;
        let nothing = app.as_user(&nurse, amend, json!({ "id": uuid::Uuid::new_v4().to_string() })).await;
        assert_eq!(sensitive.body, nothing.body, "a sensitive note must look like no note");
        assert_eq!(app.stored().await, before, "a refused amendment was stored");
    }

    async fn a_patient_sets_their_own_password_with_the_code_and_their_national_id(app) {
        let doctor = app.user("DOCTOR", "Enrol Doc").await;
        let desk = app.user("RECEPTION", "Enrol Desk").await;
        let patient = app.patient(&doctor, "Erin", "Enrol").await;
        // The desk cannot read the national id that enrolment asks for.
        let peek = app.as_user(&desk, "query($id: ID!) { patient(id: $id) { nationalId } }", json!({ "id": patient })).await;
        peek.assert_code("FORBIDDEN");
        let invite = "mutation($p: ID!, $e: String!) { invitePatient(patientId: $p, email: $e) { code accountId } }";
        let invitation = app.as_user(&desk, invite, json!({ "p": patient, "e": "erin@patient.test" })).await;
        let code = invitation.ok()["invitePatient"]["code"].as_str().unwrap().to_owned();
        app.try_login("erin@patient.test", "").await.assert_code("UNAUTHENTICATED");
        let enrol = "mutation($c: String!, $n: String, $p: String!) { enrolAccount(code: $c, nationalId: $n, password: $p) }";
        let wrong = app.graphql(None, enrol, json!({ "c": code, "n": "NID-SOMEONE-ELSE", "p": "she chooses this passphrase" })).await;
        let bogus = app.graphql(None, enrol, json!({ "c": "not-a-code", "n": "NID-Erin-Enrol", "p": "she chooses this passphrase" })).await;
        wrong.assert_code("BAD_USER_INPUT");
        assert_eq!(wrong.body, bogus.body, "a wrong national id and a wrong code must look alike");
        app.graphql(None, enrol, json!({ "c": code, "n": "nid-erin-enrol", "p": "she chooses this passphrase" })).await.ok();
        let again = app.graphql(None, enrol, json!({ "c": code, "n": "NID-Erin-Enrol", "p": "someone else takes over" })).await;
        again.assert_code("BAD_USER_INPUT");
        let erin = app.login("erin@patient.test", "she chooses this passphrase").await;
        let own = app.as_user(&erin, "{ patients { nodes { givenName } } }", json!({})).await;
        assert_eq!(own.ok()["patients"]["nodes"], json!([{ "givenName": "Erin" }]));
        // Inviting again answers like any invitation, but needs a second
        // person's approval now that the record has had an account.
        let again = app.as_user(&desk, "mutation($p: ID!, $e: String!) { invitePatient(patientId: $p, email: $e) { code needsApproval } }", json!({ "p": patient, "e": "erin2@patient.test" })).await;
        assert_eq!(again.ok()["invitePatient"]["needsApproval"], true);
    }
}
