//! The schema as an artefact (schema.graphql), and each role's view of it.

use caregraph_tests::{Reply, Session, TestApp, on_both_databases};
use serde_json::{Value, json};

const INTROSPECTION: &str = include_str!("introspection.graphql");

#[test]
fn schema_graphql_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = caregraph::graphql::sdl();
    assert!(
        committed == generated,
        "schema.graphql is stale: run `cargo run -- export-schema > schema.graphql` and commit it"
    );
}

/// `Type.field` for every field and input field a caller can see, sorted.
fn visible_fields(reply: &Reply) -> Vec<String> {
    let types = reply.ok()["__schema"]["types"].as_array().unwrap().clone();
    let mut out = Vec::new();
    for ty in types {
        let name = ty["name"].as_str().unwrap();
        if name.starts_with("__") {
            continue;
        }
        out.push(name.to_owned());
        for list in ["fields", "inputFields", "enumValues"] {
            for field in ty[list].as_array().into_iter().flatten() {
                out.push(format!("{name}.{}", field["name"].as_str().unwrap()));
            }
        }
    }
    out.sort();
    out
}

async fn view_of(app: &TestApp, who: Option<&Session>) -> Vec<String> {
    let reply = app
        .graphql(who.map(|s| s.token.as_str()), INTROSPECTION, json!({}))
        .await;
    visible_fields(&reply)
}

fn has(view: &[String], entry: &str) -> bool {
    view.iter().any(|e| e == entry)
}

on_both_databases! {
    async fn an_anonymous_caller_sees_only_the_login_surface(app) {
        let view = view_of(&app, None).await;
        assert!(has(&view, "Mutation.login"));
        for hidden in ["Patient", "Query.patients", "Query.patient", "Query.users", "Mutation.createUser", "Mutation.createPatient", "Observation", "CreateUserInput"] {
            assert!(!has(&view, hidden), "anonymous sees {hidden}");
        }
        insta::assert_json_snapshot!("schema_anonymous", view);
    }

    async fn each_role_sees_only_what_it_could_use(app) {
        let doctor = app.user("DOCTOR", "Schema Doctor").await;
        let nurse = app.user("NURSE", "Schema Nurse").await;
        let admin = app.login_admin().await;
        let billing = app.user("BILLING", "Schema Billing").await;
        let reception = app.user("RECEPTION", "Schema Reception").await;

        let nurse_view = view_of(&app, Some(&nurse)).await;
        for hidden in ["Mutation.createUser", "Mutation.deleteUser", "Mutation.deletePatient", "Query.users", "Patient.nationalId", "CreateUserInput", "Mutation.createPatient", "Mutation.updatePatient", "Mutation.assignPatient", "Invoice", "Patient.invoices", "Mutation.recordDiagnosis"] {
            assert!(!has(&nurse_view, hidden), "a nurse sees {hidden}");
        }
        for shown in ["Query.patients", "Patient.observations", "Mutation.recordObservation", "Patient.dateOfBirth"] {
            assert!(has(&nurse_view, shown), "a nurse misses {shown}");
        }
        let admin_view = view_of(&app, Some(&admin)).await;
        for hidden in ["Patient.dateOfBirth", "Patient.observations", "Patient.phone", "Observation", "Mutation.createPatient"] {
            assert!(!has(&admin_view, hidden), "an admin sees {hidden}");
        }
        assert!(has(&admin_view, "Mutation.createUser") && has(&admin_view, "Patient.familyName"));
        let doctor_view = view_of(&app, Some(&doctor)).await;
        assert!(has(&doctor_view, "Mutation.assignPatient") && !has(&doctor_view, "Mutation.createUser"));

        insta::assert_json_snapshot!("schema_admin", admin_view);
        insta::assert_json_snapshot!("schema_doctor", doctor_view);
        insta::assert_json_snapshot!("schema_nurse", nurse_view);
        insta::assert_json_snapshot!("schema_billing", view_of(&app, Some(&billing)).await);
        insta::assert_json_snapshot!("schema_reception", view_of(&app, Some(&reception)).await);
        let researcher = app.user("RESEARCHER", "Schema Researcher").await;
        let researcher_view = view_of(&app, Some(&researcher)).await;
        for hidden in ["Patient", "Query.patients", "Patient.givenName", "Query.users"] {
            assert!(!has(&researcher_view, hidden), "a researcher sees {hidden}");
        }
        assert!(has(&researcher_view, "Query.deidentifiedPatients"));
        insta::assert_json_snapshot!("schema_researcher", researcher_view);
        let compliance = app.user("COMPLIANCE_OFFICER", "Schema Compliance").await;
        insta::assert_json_snapshot!("schema_compliance_officer", view_of(&app, Some(&compliance)).await);
        let registrar = app.patient(&doctor, "Schema", "Self").await;
        let own = app.patient_account(&registrar, "NID-Schema-Self").await;
        let own_view = view_of(&app, Some(&own)).await;
        assert!(!has(&own_view, "Patient.assignedNurses") && !has(&own_view, "Query.users"));
        insta::assert_json_snapshot!("schema_patient", own_view);
    }

    async fn hidden_fields_are_still_guarded(app) {
        let nurse = app.user("NURSE", "Hidden Guard").await;
        let doctor = app.user("DOCTOR", "Hidden Doctor").await;
        let patient = app.patient(&doctor, "Hidden", "Patient").await;
        let before = app.stored().await;
        app.as_user(&nurse, "{ users { id email } }", json!({})).await.assert_code("FORBIDDEN");
        let create = app
            .as_user(&nurse, "mutation { createUser(input: { email: \"x@clinic.test\", name: \"X\", role: ADMIN }) { code } }", json!({}))
            .await;
        create.assert_code("FORBIDDEN");
        app.as_user(&nurse, "mutation($id: ID!) { approveAccount(userId: $id) }", json!({ "id": nurse.id })).await.assert_code("FORBIDDEN");
        app.as_user(&nurse, "mutation($id: ID!) { deleteUser(id: $id) }", json!({ "id": nurse.id })).await.assert_code("FORBIDDEN");
        app.as_user(&nurse, "mutation($id: ID!) { deletePatient(id: $id) }", json!({ "id": uuid::Uuid::new_v4().to_string() }))
            .await
            .assert_code("FORBIDDEN");
        app.as_user(&nurse, "mutation($id: ID!) { deletePatient(id: $id) }", json!({ "id": patient }))
            .await
            .assert_code("FORBIDDEN");
        // Read from the database: no account requested, approved or
        // deleted, no patient deleted.
        assert_eq!(app.stored().await, before);
    }

    async fn error_messages_never_suggest_hidden_fields(app) {
        let nurse = app.user("NURSE", "Sugg Estion").await;
        for (query, hidden) in [
            ("{ patients { nodes { nationalI } } }", "nationalId"),
            ("{ user { id } }", "users"),
            ("mutation { createUse }", "createUser"),
            ("mutation { deletePatien }", "deletePatient"),
        ] {
            let reply = app.as_user(&nurse, query, json!({})).await;
            reply.assert_code("BAD_USER_INPUT");
            assert!(!reply.text.contains(hidden), "{query}: {}", reply.text);
            assert!(!reply.text.to_lowercase().contains("did you mean"), "{}", reply.text);
        }
    }

    async fn graphiqls_introspection_query_works_for_every_role(app) {
        let nurse = app.user("NURSE", "Intro Spection").await;
        let reply = app.as_user(&nurse, INTROSPECTION, json!({})).await;
        let schema: &Value = &reply.ok()["__schema"];
        assert_eq!(schema["queryType"]["name"], "Query");
        let anonymous = app.graphql(None, INTROSPECTION, json!({})).await;
        anonymous.ok();
    }

    async fn a_patient_filter_is_listed_only_for_roles_that_may_use_it(app) {
        let doctor = app.user("DOCTOR", "Filter Doctor").await;
        let patient = app.patient(&doctor, "Fiona", "Filtered").await;
        let admin = app.login_admin().await;
        let compliance = app.user("COMPLIANCE_OFFICER", "Filter Compliance").await;
        let inputs = |who: Session| {
            let app = &app;
            async move {
                let reply = app
                    .as_user(&who, "{ __type(name: \"PatientFilterInput\") { inputFields { name } } }", json!({}))
                    .await;
                let mut names: Vec<String> = reply.ok()["__type"]["inputFields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["name"].as_str().unwrap().to_owned())
                    .collect();
                names.sort();
                names
            }
        };
        assert_eq!(inputs(doctor.clone()).await, ["dateOfBirth", "familyName", "mrn"]);
        for role in ["NURSE", "BILLING", "RECEPTION"] {
            let who = app.user(role, "Filter User").await;
            assert_eq!(inputs(who).await, ["dateOfBirth", "familyName", "mrn"], "{role}");
        }
        for who in [admin.clone(), compliance.clone()] {
            assert_eq!(inputs(who).await, ["familyName", "mrn"]);
        }

        // Hidden is not allowed: used anyway, the filter answers no data.
        let inline = "{ patients(filter: { dateOfBirth: \"1961-07-04\" }) { nodes { id familyName } } }";
        let variable = "query($f: PatientFilterInput) { patients(filter: $f) { nodes { id familyName } } }";
        for who in [&admin, &compliance] {
            for reply in [
                app.as_user(who, inline, json!({})).await,
                app.as_user(who, variable, json!({ "f": { "dateOfBirth": "1961-07-04" } })).await,
            ] {
                let codes = reply.codes();
                assert!(
                    !codes.is_empty() && codes.iter().all(|c| c == "FORBIDDEN" || c == "BAD_USER_INPUT"),
                    "{}",
                    reply.text
                );
                assert!(reply.data().is_null() || reply.data()["patients"].is_null(), "{}", reply.text);
                assert!(!reply.text.contains(&patient) && !reply.text.contains("Filtered"), "{}", reply.text);
            }
        }
        let allowed = app.as_user(&doctor, variable, json!({ "f": { "dateOfBirth": "1961-07-04" } })).await;
        assert_eq!(allowed.ok()["patients"]["nodes"][0]["id"], json!(patient));
    }
}
