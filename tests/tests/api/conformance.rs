//! The access matrix is a contract: `docs/access-matrix.md` is what the
//! policy file says, and the running server does exactly that, cell by cell,
//! for every role, both what is granted and what is denied.

use caregraph::policy::{Action, FieldClass, Policy, Relationships, Role, Scope, matrix};
use caregraph_tests::{Reply, Session, TestApp, on_both_databases};
use serde_json::{Value, json};

#[test]
fn the_committed_access_matrix_is_generated_from_the_policy() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/access-matrix.md");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == matrix::render(&Policy::built_in()),
        "docs/access-matrix.md is stale: run `cargo run -- policy matrix` and commit it"
    );
}

#[test]
fn every_class_is_granted_somewhere_and_every_field_is_classified() {
    let policy = Policy::built_in();
    for class in FieldClass::ALL {
        let mentioned = Role::ALL
            .iter()
            .any(|&r| Action::ALL.iter().any(|&a| policy.could_ever(r, a, class)));
        assert!(
            mentioned,
            "{} is in no grant: dead vocabulary or a forgotten rule",
            class.as_str()
        );
    }
    let fields = caregraph::graphql::patient_data_fields(&caregraph::graphql::build());
    assert!(policy.check_fields(&fields).is_ok());
}

/// The cells that some operation of the API exercises; every other cell
/// must be denied to every role, or the matrix would promise something the
/// API cannot do.
fn has_operation(action: Action, class: FieldClass) -> bool {
    match (action, class) {
        (Action::Read, c) if c.is_patient_data() => c != FieldClass::PatientRecord,
        (Action::Write, c) if c.is_patient_data() => c != FieldClass::PatientRecord,
        (Action::Create | Action::Delete, FieldClass::PatientRecord) => true,
        (_, FieldClass::Accounts) => true,
        (Action::Create, FieldClass::PatientAccounts) => true,
        (Action::Read, FieldClass::StaffDirectory | FieldClass::Deidentified | FieldClass::AccessReview) => {
            true
        }
        (Action::Create, FieldClass::Deidentified) => true,
        (Action::Read | Action::Create | Action::Write, FieldClass::Departments) => true,
        (Action::Read | Action::Write, FieldClass::AccountApprovals) => true,
        _ => false,
    }
}

#[test]
fn no_role_is_granted_a_cell_that_no_operation_exercises() {
    let policy = Policy::built_in();
    for role in Role::ALL {
        for class in FieldClass::ALL {
            for action in Action::ALL {
                if !has_operation(action, class) {
                    assert!(
                        !policy.could_ever(role, action, class),
                        "{role:?} is granted {action:?} {class:?}, which no operation exercises"
                    );
                }
            }
        }
    }
}

/// The selection that reads one class of a patient's fields.
fn read_selection(policy: &Policy, class: FieldClass) -> String {
    policy
        .classified_fields("Patient")
        .filter(|(_, c)| *c == class)
        .map(|(field, _)| match field {
            "observations" | "diagnoses" | "medications" | "allergies" | "notes" | "coverage"
            | "invoices" | "assignedNurses" => format!("{field} {{ id }}"),
            scalar => scalar.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A mutation or query that exercises one (action, class) cell for one
/// patient, or `None` where no operation exists for that cell.
fn probe(action: Action, class: FieldClass, patient: &str, nurse: &str) -> Option<(String, Value)> {
    let p = json!(patient);
    let update = |input: Value| {
        Some((
            "mutation($p: ID!, $i: UpdatePatientInput!) { updatePatient(id: $p, input: $i) { id } }"
                .to_owned(),
            json!({ "p": p, "i": input }),
        ))
    };
    let on_patient = |query: &str, input: Value| Some((query.to_owned(), json!({ "p": p, "i": input })));
    match (action, class) {
        (Action::Write, FieldClass::Directory) => update(json!({ "givenName": "Renamed" })),
        (Action::Write, FieldClass::Demographics) => update(json!({ "sex": "OTHER" })),
        (Action::Write, FieldClass::Contact) => update(json!({ "phone": "+1 555 0199" })),
        (Action::Write, FieldClass::Identifiers) => update(json!({ "nationalId": "NID-CHANGED" })),
        (Action::Write, FieldClass::Restriction) => update(json!({ "restricted": false })),
        (Action::Write, FieldClass::Vitals) => on_patient(
            "mutation($p: ID!, $i: RecordObservationInput!) { recordObservation(patientId: $p, input: $i) { id } }",
            json!({ "kind": "HEART_RATE", "value": 70.0 }),
        ),
        (Action::Write, FieldClass::Clinical) => on_patient(
            "mutation($p: ID!, $i: RecordDiagnosisInput!) { recordDiagnosis(patientId: $p, input: $i) { id } }",
            json!({ "icd10Code": "I10", "description": "Hypertension" }),
        ),
        (Action::Write, FieldClass::Notes) => on_patient(
            "mutation($p: ID!, $i: WriteNoteInput!) { writeNote(patientId: $p, input: $i) { id } }",
            json!({ "sensitivity": "NORMAL", "body": "Seen today." }),
        ),
        (Action::Write, FieldClass::SensitiveNotes) => on_patient(
            "mutation($p: ID!, $i: WriteNoteInput!) { writeNote(patientId: $p, input: $i) { id } }",
            json!({ "sensitivity": "PSYCHOTHERAPY", "body": "Session notes." }),
        ),
        (Action::Write, FieldClass::Billing) => on_patient(
            "mutation($p: ID!, $i: IssueInvoiceInput!) { issueInvoice(patientId: $p, input: $i) { id } }",
            json!({ "description": "Visit", "amountCents": 5000, "currency": "USD" }),
        ),
        (Action::Write, FieldClass::CareTeam) => Some((
            "mutation($i: AssignCareTeamInput!) { assignCareTeam(input: $i) { id } }".to_owned(),
            json!({ "i": { "patientId": p, "staffId": nurse, "kind": "NURSE" } }),
        )),
        _ => None,
    }
}

/// Allowed: answered without errors. Denied: FORBIDDEN, or NOT_FOUND where
/// the patient is not visible at all; never data.
fn assert_outcome(reply: &Reply, allowed: bool, what: &str) {
    if allowed {
        assert!(
            reply.body.get("errors").is_none(),
            "{what} should be allowed: {}",
            reply.text
        );
    } else {
        let codes = reply.codes();
        assert!(
            !codes.is_empty() && codes.iter().all(|c| c == "FORBIDDEN" || c == "NOT_FOUND"),
            "{what} should be denied: {}",
            reply.text
        );
    }
}

async fn session_of(app: &TestApp, role: Role, doctor: &Session, nurse: &Session, home: &str) -> Session {
    match role {
        Role::Doctor => doctor.clone(),
        Role::Nurse => nurse.clone(),
        Role::Admin => app.login_admin().await,
        Role::Patient => {
            app.patient_account(home, &format!("NID-Home-{}", role.as_str()))
                .await
        }
        other => app.user(other.as_str(), "Cell Probe").await,
    }
}

on_both_databases! {
    async fn the_server_obeys_every_cell_of_the_access_matrix(app) {
        let policy = Policy::built_in();
        let doctor = app.user("DOCTOR", "Cell Doctor").await;
        let nurse = app.user("NURSE", "Cell Nurse").await;
        let other_nurse = app.user("NURSE", "Spare Nurse").await;
        let admin = app.login_admin().await;

        for role in Role::ALL {
            // Home: where the role stands closest (registered, assigned, own
            // record); stranger: a patient to whom it stands in no relation.
            let home = app.patient(&doctor, "Home", role.as_str()).await;
            app.assign(&doctor, &home, &nurse).await;
            let other_doctor = app.user("DOCTOR", "Other Doctor").await;
            let stranger = app.patient(&other_doctor, "Stranger", role.as_str()).await;
            // A sensitive note on each, by the doctor who registered it.
            for (author, patient) in [(&doctor, &home), (&other_doctor, &stranger)] {
                app.as_user(author, "mutation($p: ID!) { writeNote(patientId: $p, input: { sensitivity: PSYCHOTHERAPY, body: \"Sensitive\" }) { id } }", json!({ "p": patient }))
                    .await
                    .ok();
            }
            let session = session_of(&app, role, &doctor, &nurse, &home).await;
            let near = match role {
                Role::Doctor => Relationships::none_but_any().with(Scope::Treating),
                Role::Nurse => Relationships::none_but_any().with(Scope::Assigned),
                Role::Patient => Relationships::none_but_any().with(Scope::OwnRecord),
                _ => Relationships::none_but_any(),
            };
            for (patient, relationships) in [(&home, near), (&stranger, Relationships::none_but_any())] {
                let permits = policy.permissions(role, relationships);
                // What the server says it would decide, for every cell.
                let explained = app
                    .as_user(&admin, "query($u: ID!, $p: ID!) { explainAccess(userId: $u, patientId: $p) { decisions { fieldClass action allowed } } }", json!({ "u": session.id, "p": patient }))
                    .await;
                for decision in explained.ok()["explainAccess"]["decisions"].as_array().unwrap() {
                    let class = FieldClass::ALL.into_iter().find(|c| c.as_str() == decision["fieldClass"]).unwrap();
                    let action = Action::ALL.into_iter().find(|a| a.as_str() == decision["action"]).unwrap();
                    assert_eq!(decision["allowed"], permits.allows(action, class), "{role:?} {action:?} {class:?} explained");
                }
                // What the server does, for every cell that has an operation.
                // Sensitive notes hide inside `notes`: allowed means they show.
                let notes = app.as_user(&session, "query($p: ID!) { patient(id: $p) { notes { sensitivity } } }", json!({ "p": patient })).await;
                assert_eq!(
                    notes.text.contains("PSYCHOTHERAPY"),
                    permits.allows(Action::Read, FieldClass::SensitiveNotes),
                    "{role:?} READ SENSITIVE_NOTES: {}",
                    notes.text
                );
                for class in FieldClass::ALL
                    .into_iter()
                    .filter(|c| c.is_patient_data() && !matches!(c, FieldClass::PatientRecord | FieldClass::SensitiveNotes))
                {
                    let selection = read_selection(&policy, class);
                    let query = format!("query($p: ID!) {{ patient(id: $p) {{ id {selection} }} }}");
                    let reply = app.as_user(&session, &query, json!({ "p": patient })).await;
                    assert_outcome(&reply, permits.allows(Action::Read, class), &format!("{role:?} READ {class:?}"));
                }
                for class in FieldClass::ALL.into_iter().filter(|c| c.is_patient_data()) {
                    if let Some((query, vars)) = probe(Action::Write, class, patient, &other_nurse.id) {
                        let reply = app.as_user(&session, &query, vars).await;
                        assert_outcome(&reply, permits.allows(Action::Write, class), &format!("{role:?} WRITE {class:?}"));
                    }
                }
            }
            // Clinic-wide cells (scope ANY).
            let any = policy.permissions(role, Relationships::none_but_any());
            let create_patient = app
                .as_user(&session, "mutation($i: CreatePatientInput!) { createPatient(input: $i) { id } }", json!({ "i": { "givenName": "New", "familyName": "Patient", "dateOfBirth": "1990-01-01", "sex": "FEMALE" } }))
                .await;
            assert_outcome(&create_patient, any.allows(Action::Create, FieldClass::PatientRecord), &format!("{role:?} CREATE PATIENT_RECORD"));
            let doomed = app.patient(&app.user("DOCTOR", "Doomed Doctor").await, "Doomed", role.as_str()).await;
            let delete_patient = app.as_user(&session, "mutation($p: ID!) { deletePatient(id: $p) }", json!({ "p": doomed })).await;
            assert_outcome(&delete_patient, any.allows(Action::Delete, FieldClass::PatientRecord), &format!("{role:?} DELETE PATIENT_RECORD"));
            let email = format!("probe.{}@clinic.test", uuid::Uuid::new_v4().simple());
            let create_user = app
                .as_user(&session, "mutation($i: CreateUserInput!) { createUser(input: $i) { code } }", json!({ "i": { "email": email, "name": "Pro Be", "role": "BILLING" } }))
                .await;
            assert_outcome(&create_user, any.allows(Action::Create, FieldClass::Accounts), &format!("{role:?} CREATE ACCOUNTS"));
            let requests = app.as_user(&session, "{ accountRequests { accountId } }", json!({})).await;
            assert_outcome(&requests, any.allows(Action::Read, FieldClass::AccountApprovals), &format!("{role:?} READ ACCOUNT_APPROVALS"));
            // Requested by the second administrator: nobody approves their own request.
            let (requested, _) = app
                .request_account_as(&app.login_approver().await, &format!("approve.{}@clinic.test", uuid::Uuid::new_v4().simple()), "Ap Prove", "BILLING")
                .await;
            let approve = app.as_user(&session, "mutation($u: ID!) { approveAccount(userId: $u) }", json!({ "u": requested })).await;
            assert_outcome(&approve, any.allows(Action::Write, FieldClass::AccountApprovals), &format!("{role:?} WRITE ACCOUNT_APPROVALS"));
            let invite = app
                .as_user(&session, "mutation($p: ID!, $e: String!) { invitePatient(patientId: $p, email: $e) { code } }", json!({ "p": stranger, "e": format!("invited.{}@clinic.test", uuid::Uuid::new_v4().simple()) }))
                .await;
            assert_outcome(&invite, any.allows(Action::Create, FieldClass::PatientAccounts), &format!("{role:?} CREATE PATIENT_ACCOUNTS"));
            let target = app.user("BILLING", "Tar Get").await;
            let deactivate = app.as_user(&session, "mutation($u: ID!) { deactivateUser(id: $u) { id } }", json!({ "u": target.id })).await;
            assert_outcome(&deactivate, any.allows(Action::Write, FieldClass::Accounts), &format!("{role:?} WRITE ACCOUNTS"));
            let delete_user = app.as_user(&session, "mutation($u: ID!) { deleteUser(id: $u) }", json!({ "u": target.id })).await;
            assert_outcome(&delete_user, any.allows(Action::Delete, FieldClass::Accounts), &format!("{role:?} DELETE ACCOUNTS"));
            let emails = app.as_user(&session, "{ users(role: BILLING) { email } }", json!({})).await;
            assert_outcome(&emails, any.allows(Action::Read, FieldClass::Accounts), &format!("{role:?} READ ACCOUNTS"));
            let staff = app.as_user(&session, "{ users { id } }", json!({})).await;
            assert_outcome(&staff, any.allows(Action::Read, FieldClass::StaffDirectory), &format!("{role:?} READ STAFF_DIRECTORY"));
            let departments = app.as_user(&session, "{ departments { id } }", json!({})).await;
            assert_outcome(&departments, any.allows(Action::Read, FieldClass::Departments), &format!("{role:?} READ DEPARTMENTS"));
            let department = app
                .as_user(&session, "mutation($n: String!) { createDepartment(name: $n) { id } }", json!({ "n": format!("Ward {}", uuid::Uuid::new_v4().simple()) }))
                .await;
            assert_outcome(&department, any.allows(Action::Create, FieldClass::Departments), &format!("{role:?} CREATE DEPARTMENTS"));
            let ward = app.as_user(&admin, "mutation($n: String!) { createDepartment(name: $n) { id } }", json!({ "n": format!("Ward {}", uuid::Uuid::new_v4().simple()) })).await;
            let ward = ward.ok()["createDepartment"]["id"].clone();
            let rename = app
                .as_user(&session, "mutation($id: ID!, $n: String!) { renameDepartment(id: $id, name: $n) { id } }", json!({ "id": ward, "n": format!("Renamed {}", uuid::Uuid::new_v4().simple()) }))
                .await;
            assert_outcome(&rename, any.allows(Action::Write, FieldClass::Departments), &format!("{role:?} WRITE DEPARTMENTS"));
            let research = app.as_user(&session, "{ deidentifiedPatients { nodes { pseudonym } } }", json!({})).await;
            assert_outcome(&research, any.allows(Action::Read, FieldClass::Deidentified), &format!("{role:?} READ DEIDENTIFIED"));
            let release = app.as_user(&session, "mutation { publishResearchRelease { number } }", json!({})).await;
            assert_outcome(&release, any.allows(Action::Create, FieldClass::Deidentified), &format!("{role:?} CREATE DEIDENTIFIED"));
            let explain = app
                .as_user(&session, "query($u: ID!, $p: ID!) { explainAccess(userId: $u, patientId: $p) { role } }", json!({ "u": nurse.id, "p": home }))
                .await;
            assert_outcome(&explain, any.allows(Action::Read, FieldClass::AccessReview), &format!("{role:?} READ ACCESS_REVIEW"));
        }
    }
}
