//! Every role × every field of a patient, checked against the policy file:
//! what the policy grants comes back, what it does not is `null` with
//! FORBIDDEN at that path, and its value is nowhere in the response.

use caregraph::policy::{Action, FieldClass, Policy, Relationships, Role, Scope};
use caregraph_tests::{Session, TestApp, on_both_databases};
use serde_json::json;

fn selection(field: &str) -> String {
    match field {
        "observations" => "observations { kind value }".to_owned(),
        "assignedNurses" => "assignedNurses { id name }".to_owned(),
        "diagnoses" => "diagnoses { description }".to_owned(),
        "medications" => "medications { name }".to_owned(),
        "allergies" => "allergies { substance }".to_owned(),
        "notes" => "notes { body }".to_owned(),
        "coverage" => "coverage { payer }".to_owned(),
        "invoices" => "invoices { description }".to_owned(),
        scalar => scalar.to_owned(),
    }
}

/// The values the test patient holds in each field, to look for leaks.
fn secret_of(field: &str) -> Option<&'static str> {
    match field {
        "dateOfBirth" => Some("1961-07-04"),
        "phone" => Some("+1 555 Matrix phone"),
        "address" => Some("Matrix Fields Street 1"),
        "email" => Some("matrix.fields@patient.test"),
        "nationalId" => Some("NID-Matrix-Fields"),
        "observations" => Some("HEART_RATE"),
        "assignedNurses" => Some("Mona Matrix"),
        "diagnoses" => Some("Matrix asthma"),
        "medications" => Some("Matrixolol"),
        "allergies" => Some("Matrix pollen"),
        "notes" => Some("Matrix note body"),
        "coverage" => Some("Matrix Insurance"),
        "invoices" => Some("Matrix consultation"),
        _ => None,
    }
}

async fn session_for(
    app: &TestApp,
    role: Role,
    doctor: &Session,
    nurse: &Session,
    patient_id: &str,
) -> (Session, Relationships) {
    let any = Relationships::none_but_any();
    match role {
        Role::Doctor => (doctor.clone(), any.with(Scope::Treating)),
        Role::Nurse => (nurse.clone(), any.with(Scope::Assigned)),
        Role::Admin => (app.login_admin().await, any),
        Role::Patient => (
            app.patient_account(patient_id, "NID-Matrix-Fields").await,
            any.with(Scope::OwnRecord),
        ),
        other => (
            app.user(other.as_str(), &format!("Some {}", other.as_str()))
                .await,
            any,
        ),
    }
}

on_both_databases! {
    async fn every_role_reads_exactly_the_patient_fields_the_policy_grants(app) {
        let policy = Policy::built_in();
        let fields: Vec<(String, FieldClass)> = policy
            .classified_fields("Patient")
            .map(|(f, c)| (f.to_owned(), c))
            .collect();
        assert!(fields.len() >= 21, "the field table is shorter than the Patient type");
        let doctor = app.user("DOCTOR", "Matrix Doctor").await;
        let nurse = app.user("NURSE", "Mona Matrix").await;
        let id = app.patient(&doctor, "Matrix", "Fields").await;
        app.assign(&doctor, &id, &nurse).await;
        app.record_vital(&doctor, &id, "HEART_RATE", 61.0).await.ok();
        app.fill_chart(&doctor, &id, "Matrix").await;
        let admin = app.login_admin().await;
        let ward = app.as_user(&admin, "mutation { createDepartment(name: \"Matrix ward\") { id } }", json!({})).await;
        let ward = ward.ok()["createDepartment"]["id"].clone();
        app.as_user(&doctor, "mutation($id: ID!, $d: ID!) { updatePatient(id: $id, input: { departmentId: $d }) { id } }", json!({ "id": id, "d": ward }))
            .await
            .ok();

        for role in Role::ALL {
            let (session, relationships) = session_for(&app, role, &doctor, &nurse, &id).await;
            let permits = policy.permissions(role, relationships);
            let query = format!(
                "query($id: ID!) {{ patient(id: $id) {{ {} }} }}",
                fields.iter().map(|(f, _)| selection(f)).collect::<Vec<_>>().join(" ")
            );
            let reply = app.as_user(&session, &query, json!({ "id": id })).await;
            if !permits.allows(Action::Read, FieldClass::Directory) {
                reply.assert_code("NOT_FOUND");
                assert!(reply.data()["patient"].is_null(), "{role:?}: {}", reply.text);
                for (field, _) in &fields {
                    if let Some(secret) = secret_of(field) {
                        assert!(!reply.text.contains(secret), "{role:?} sees {field}");
                    }
                }
                continue;
            }
            let patient = &reply.data()["patient"];
            let errors = reply.errors();
            for (field, class) in &fields {
                let granted = permits.allows(Action::Read, *class);
                let error_here = errors.iter().find(|e| e["path"] == json!(["patient", field]));
                assert!(patient.get(field).is_some(), "{role:?}: key {field} missing: {}", reply.text);
                if granted {
                    assert!(!patient[field].is_null(), "{role:?} should read {field}: {}", reply.text);
                    assert!(error_here.is_none(), "{role:?}: unexpected error on {field}");
                } else {
                    assert!(patient[field].is_null(), "{role:?} must not read {field}: {}", reply.text);
                    let error = error_here.unwrap_or_else(|| panic!("{role:?}: no error for {field}: {}", reply.text));
                    assert_eq!(error["extensions"]["code"], "FORBIDDEN");
                    if let Some(secret) = secret_of(field) {
                        assert!(!reply.text.contains(secret), "{role:?}: the value of {field} leaked");
                    }
                }
            }
            let denied = fields.iter().filter(|(_, c)| !permits.allows(Action::Read, *c)).count();
            assert_eq!(errors.len(), denied, "{role:?}: {}", reply.text);
        }
    }

    async fn a_role_without_directory_access_cannot_list_patients(app) {
        let policy = Policy::built_in();
        for role in Role::ALL {
            if policy.could_ever(role, Action::Read, FieldClass::Directory) {
                continue;
            }
            let session = app.user(role.as_str(), "No Directory").await;
            let reply = app.as_user(&session, "{ patients { nodes { id } } }", json!({})).await;
            reply.assert_code("FORBIDDEN");
        }
    }
}
