//! SQL-looking and very long strings in every String and ID input of the
//! schema (`schema.graphql`): each operation is called by a role allowed to
//! call it, with valid arguments except one, which gets the hostile value.
//! Each attempt is either refused with a stable code (and nothing stored
//! changed), or accepted with the value stored verbatim, as text (no other
//! row changed, no table lost); a filter matches nothing it should not;
//! never a 500 or INTERNAL; no SQL or internals in the answer; the server
//! stays healthy. A megabyte value is refused by the body limit (413).
//!
//! Forged tokens and malformed bodies are in `attacks.rs`; hostile queries
//! in `hostile.rs`.

use caregraph_tests::{Reply, Session, Stored, TestApp, on_both_databases};
use serde_json::{Value, json};

use crate::attacks::{assert_healthy, assert_no_internals, head, raw};

/// Codes a refusal may carry (RATE_LIMITED: a login throttle may answer).
const REFUSALS: &[&str] = &[
    "UNAUTHENTICATED",
    "BAD_USER_INPUT",
    "FORBIDDEN",
    "NOT_FOUND",
    "RATE_LIMITED",
    "QUERY_TOO_COMPLEX",
];

fn hostile_values() -> Vec<(&'static str, String)> {
    vec![
        ("quote-or", "' OR 1=1 --".to_owned()),
        ("drop-table", "'; DROP TABLE patients; --".to_owned()),
        ("double-quote-or", "\" OR \"\"=\"".to_owned()),
        (
            "union-select",
            "x' UNION SELECT password_hash FROM users --".to_owned(),
        ),
        ("10k characters", "Ω'\"; --".repeat(1250)),
    ]
}

/// One operation: who calls it, valid variables, and the variables (paths
/// separated by `/`) that take a hostile value one at a time.
struct Op<'a> {
    name: &'static str,
    caller: Option<&'a Session>,
    query: &'static str,
    base: Value,
    slots: &'static [&'static str],
    /// Whether an accepted value is kept in a table `Stored` reads.
    stores: bool,
    /// A list in `data` that must be empty when the call is accepted (a
    /// filter or cursor that must match nothing).
    empty: Option<&'static str>,
}

fn set(vars: &mut Value, path: &str, value: Value) {
    let mut target = vars;
    for key in path.split('/') {
        target = &mut target[key];
    }
    *target = value;
}

/// Replaces each `UNIQUE` string with a fresh e-mail address.
fn fresh_emails(value: &mut Value) {
    match value {
        Value::String(s) if s == "UNIQUE" => {
            *s = format!("fresh.{}@clinic.test", uuid::Uuid::new_v4().simple());
        }
        Value::Object(map) => map.values_mut().for_each(fresh_emails),
        Value::Array(items) => items.iter_mut().for_each(fresh_emails),
        _ => {}
    }
}

fn sizes(stored: &Stored) -> Vec<usize> {
    vec![
        stored.users.len(),
        stored.enrolments.len(),
        stored.departments.len(),
        stored.patients.len(),
        stored.care_assignments.len(),
        stored.observations.len(),
        stored.diagnoses.len(),
        stored.medications.len(),
        stored.allergies.len(),
        stored.notes.len(),
        stored.coverages.len(),
        stored.invoices.len(),
        stored.research_releases.len(),
        stored.research_release_rows.len(),
    ]
}

/// Every text column an input can reach (the models' `Debug` hides
/// personal data, so the tables are asked directly).
const TEXT_COLUMNS: &[(&str, &[&str])] = &[
    (
        "patients",
        &[
            "given_name",
            "family_name",
            "phone",
            "address",
            "postal_code",
            "email",
            "national_id",
            "mrn",
        ],
    ),
    ("account_enrolments", &["email", "name"]),
    ("users", &["email", "name"]),
    ("departments", &["name"]),
    ("diagnoses", &["icd10_code", "description"]),
    ("medications", &["name", "dose", "route", "frequency"]),
    ("allergies", &["substance", "reaction"]),
    ("clinical_notes", &["body"]),
    ("coverages", &["payer", "plan", "member_id"]),
    ("invoices", &["description", "currency"]),
    ("break_glass_grants", &["reason", "review_note"]),
];

/// Whether some text column holds exactly `value`.
async fn stored_verbatim(app: &TestApp, value: &str) -> bool {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let backend = app.db.get_database_backend();
    let placeholder = if backend == DatabaseBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    for (table, columns) in TEXT_COLUMNS {
        for column in *columns {
            let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = {placeholder}");
            let row = app
                .db
                .query_one_raw(Statement::from_sql_and_values(backend, sql, [value.into()]))
                .await
                .unwrap()
                .unwrap();
            if row.try_get::<i64>("", "n").unwrap() > 0 {
                return true;
            }
        }
    }
    false
}

fn id(reply: &Reply, field: &str) -> String {
    reply.ok()[field]["id"].as_str().unwrap().to_owned()
}

on_both_databases! {
    async fn hostile_strings_in_every_input_are_refused_or_stored_verbatim(app) {
        let admin = app.login_admin().await;
        let approver = app.login_approver().await;
        let doctor = app.user("DOCTOR", "Sql Doctor").await;
        let outsider = app.user("DOCTOR", "Glass Breaker").await;
        let nurse = app.user("NURSE", "Sql Nurse").await;
        let billing = app.user("BILLING", "Sql Billing").await;
        let desk = app.user("RECEPTION", "Sql Desk").await;
        let officer = app.user("COMPLIANCE_OFFICER", "Sql Officer").await;
        let researcher = app.user("RESEARCHER", "Sql Researcher").await;
        let gone = app.user("BILLING", "Gone Away").await;
        let patient = app.patient(&doctor, "Hana", "Target").await;
        let glass = app.patient(&doctor, "Glass", "Case").await;
        let glass_too = app.patient(&doctor, "Glass", "Again").await;
        app.fill_chart(&doctor, &patient, "Sql").await;
        app.record_vital(&doctor, &patient, "HEART_RATE", 72.0).await.ok();
        app.assign(&doctor, &patient, &nurse).await;
        let patient_session = app.patient_account(&patient, "NID-Hana-Target").await;
        let department = id(&app.as_user(&admin, "mutation { createDepartment(name: \"Sql Ward\") { id } }", json!({})).await, "createDepartment");
        app.as_user(&admin, "mutation($id: ID!) { deactivateUser(id: $id) { id } }", json!({ "id": gone.id })).await.ok();
        let (pending, _) = app.request_account("pending.person@clinic.test", "Pending Person", "NURSE").await;
        let grant = id(
            &app.as_user(&outsider, "mutation($p: ID!, $r: String!) { breakGlass(patientId: $p, reason: $r) { id } }", json!({ "p": glass, "r": "Collapsed in the waiting room, needs the allergy list now" })).await,
            "breakGlass",
        );
        let stored = app.stored().await;
        let first = |ids: Vec<uuid::Uuid>| ids[0].to_string();
        let observation = first(stored.observations.iter().map(|r| r.id).collect());
        let diagnosis = first(stored.diagnoses.iter().map(|r| r.id).collect());
        let medication = first(stored.medications.iter().map(|r| r.id).collect());
        let allergy = first(stored.allergies.iter().map(|r| r.id).collect());
        let note = first(stored.notes.iter().map(|r| r.id).collect());
        let coverage = first(stored.coverages.iter().map(|r| r.id).collect());
        let invoice = first(stored.invoices.iter().map(|r| r.id).collect());
        let assignment = first(stored.care_assignments.iter().map(|r| r.id).collect());

        let filter = json!({ "patientId": patient, "actorId": doctor.id, "action": "READ", "outcome": "ALLOWED" });
        let ops = vec![
            // Queries.
            Op { name: "patients", caller: Some(&doctor), query: "query($a: String, $f: PatientFilterInput) { patients(after: $a, filter: $f) { nodes { id } } }", base: json!({ "a": null, "f": {} }), slots: &["a", "f/familyName", "f/mrn"], stores: false, empty: Some("/patients/nodes") },
            Op { name: "patients (desk)", caller: Some(&desk), query: "query($f: PatientFilterInput) { patients(filter: $f) { nodes { id } } }", base: json!({ "f": {} }), slots: &["f/familyName", "f/mrn"], stores: false, empty: Some("/patients/nodes") },
            Op { name: "patient", caller: Some(&doctor), query: "query($id: ID!) { patient(id: $id) { id } }", base: json!({ "id": patient }), slots: &["id"], stores: false, empty: None },
            Op { name: "deidentifiedPatients", caller: Some(&researcher), query: "query($a: String) { deidentifiedPatients(after: $a) { nodes { pseudonym } } }", base: json!({ "a": null }), slots: &["a"], stores: false, empty: Some("/deidentifiedPatients/nodes") },
            Op { name: "explainAccess", caller: Some(&admin), query: "query($u: ID!, $p: ID!) { explainAccess(userId: $u, patientId: $p) { role } }", base: json!({ "u": nurse.id, "p": patient }), slots: &["u", "p"], stores: false, empty: None },
            Op { name: "myAccessLog", caller: Some(&patient_session), query: "query($a: String) { myAccessLog(after: $a) { nodes { at } } }", base: json!({ "a": null }), slots: &["a"], stores: false, empty: Some("/myAccessLog/nodes") },
            Op { name: "auditEvents", caller: Some(&officer), query: "query($f: AuditEventFilter, $a: String) { auditEvents(filter: $f, after: $a) { nodes { seq } } }", base: json!({ "f": filter, "a": null }), slots: &["f/patientId", "f/actorId", "f/action", "f/outcome", "a"], stores: false, empty: Some("/auditEvents/nodes") },
            // Sessions and enrolment.
            Op { name: "login", caller: None, query: "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }", base: json!({ "e": "nobody.here@clinic.test", "p": "a password long enough" }), slots: &["e", "p"], stores: false, empty: None },
            Op { name: "refreshSession", caller: None, query: "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }", base: json!({ "t": "x" }), slots: &["t"], stores: false, empty: None },
            Op { name: "enrolAccount", caller: None, query: "mutation($c: String!, $n: String, $p: String!) { enrolAccount(code: $c, nationalId: $n, password: $p) }", base: json!({ "c": "ABCDEFGHJKLMNPQR", "n": "NID-Hana-Target", "p": "a password long enough" }), slots: &["c", "n", "p"], stores: false, empty: None },
            // Accounts.
            Op { name: "deleteUser", caller: Some(&admin), query: "mutation($id: ID!) { deleteUser(id: $id) }", base: json!({}), slots: &["id"], stores: false, empty: None },
            Op { name: "deactivateUser", caller: Some(&admin), query: "mutation($id: ID!) { deactivateUser(id: $id) { id } }", base: json!({}), slots: &["id"], stores: false, empty: None },
            Op { name: "createUser", caller: Some(&admin), query: "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }", base: json!({ "i": { "email": "UNIQUE", "name": "Fresh Person", "role": "BILLING", "departmentId": department } }), slots: &["i/email", "i/name", "i/departmentId"], stores: true, empty: None },
            Op { name: "approveAccount", caller: Some(&approver), query: "mutation($u: ID!) { approveAccount(userId: $u) }", base: json!({ "u": pending }), slots: &["u"], stores: false, empty: None },
            Op { name: "reactivateUser", caller: Some(&admin), query: "mutation($id: ID!) { reactivateUser(id: $id) { code } }", base: json!({ "id": gone.id }), slots: &["id"], stores: false, empty: None },
            Op { name: "invitePatient", caller: Some(&desk), query: "mutation($p: ID!, $e: String!) { invitePatient(patientId: $p, email: $e) { code } }", base: json!({ "p": patient, "e": "UNIQUE" }), slots: &["p", "e"], stores: false, empty: None },
            // Patients.
            Op { name: "createPatient", caller: Some(&doctor), query: "mutation($i: CreatePatientInput!) { createPatient(input: $i) { id } }", base: json!({ "i": { "givenName": "Base", "familyName": "Line", "dateOfBirth": "1980-02-03", "sex": "FEMALE" } }), slots: &["i/givenName", "i/familyName", "i/phone", "i/address", "i/postalCode", "i/email", "i/nationalId", "i/departmentId"], stores: true, empty: None },
            Op { name: "updatePatient", caller: Some(&doctor), query: "mutation($id: ID!, $i: UpdatePatientInput!) { updatePatient(id: $id, input: $i) { id } }", base: json!({ "id": patient, "i": {} }), slots: &["id", "i/givenName", "i/familyName", "i/phone", "i/address", "i/postalCode", "i/email", "i/nationalId", "i/departmentId"], stores: true, empty: None },
            Op { name: "deletePatient", caller: Some(&doctor), query: "mutation($id: ID!) { deletePatient(id: $id) }", base: json!({}), slots: &["id"], stores: false, empty: None },
            Op { name: "assignPatient", caller: Some(&doctor), query: "mutation($p: ID!, $n: ID!) { assignPatient(patientId: $p, nurseId: $n) { id } }", base: json!({ "p": patient, "n": nurse.id }), slots: &["p", "n"], stores: false, empty: None },
            Op { name: "assignCareTeam", caller: Some(&doctor), query: "mutation($i: AssignCareTeamInput!) { assignCareTeam(input: $i) { id } }", base: json!({ "i": { "patientId": patient, "staffId": nurse.id, "kind": "NURSE" } }), slots: &["i/patientId", "i/staffId"], stores: false, empty: None },
            Op { name: "revokeAssignment", caller: Some(&doctor), query: "mutation($id: ID!) { revokeAssignment(id: $id) { id } }", base: json!({ "id": assignment }), slots: &["id"], stores: false, empty: None },
            // The chart.
            Op { name: "correctObservation", caller: Some(&doctor), query: "mutation($id: ID!) { correctObservation(id: $id, value: 70) { id } }", base: json!({ "id": observation }), slots: &["id"], stores: false, empty: None },
            Op { name: "recordObservation", caller: Some(&doctor), query: "mutation($p: ID!) { recordObservation(patientId: $p, input: { kind: HEART_RATE, value: 71 }) { id } }", base: json!({}), slots: &["p"], stores: false, empty: None },
            Op { name: "recordDiagnosis", caller: Some(&doctor), query: "mutation($p: ID!, $i: RecordDiagnosisInput!) { recordDiagnosis(patientId: $p, input: $i) { id } }", base: json!({ "p": patient, "i": { "icd10Code": "J45.909", "description": "Asthma" } }), slots: &["p", "i/icd10Code", "i/description"], stores: true, empty: None },
            Op { name: "updateDiagnosis", caller: Some(&doctor), query: "mutation($id: ID!, $i: UpdateDiagnosisInput!) { updateDiagnosis(id: $id, input: $i) { id } }", base: json!({ "id": diagnosis, "i": { "description": "Asthma, mild" } }), slots: &["id", "i/description"], stores: true, empty: None },
            Op { name: "prescribeMedication", caller: Some(&doctor), query: "mutation($p: ID!, $i: PrescribeMedicationInput!) { prescribeMedication(patientId: $p, input: $i) { id } }", base: json!({ "p": patient, "i": { "name": "Salbutamol", "dose": "100 mcg", "route": "inhaled", "frequency": "as needed" } }), slots: &["p", "i/name", "i/dose", "i/route", "i/frequency"], stores: true, empty: None },
            Op { name: "updateMedication", caller: Some(&doctor), query: "mutation($id: ID!, $i: UpdateMedicationInput!) { updateMedication(id: $id, input: $i) { id } }", base: json!({ "id": medication, "i": { "dose": "200 mcg" } }), slots: &["id", "i/dose", "i/frequency"], stores: true, empty: None },
            Op { name: "recordAllergy", caller: Some(&doctor), query: "mutation($p: ID!, $i: RecordAllergyInput!) { recordAllergy(patientId: $p, input: $i) { id } }", base: json!({ "p": patient, "i": { "substance": "Latex", "reaction": "rash", "severity": "MILD" } }), slots: &["p", "i/substance", "i/reaction"], stores: true, empty: None },
            Op { name: "updateAllergy", caller: Some(&doctor), query: "mutation($id: ID!, $i: UpdateAllergyInput!) { updateAllergy(id: $id, input: $i) { id } }", base: json!({ "id": allergy, "i": { "reaction": "hives" } }), slots: &["id", "i/reaction"], stores: true, empty: None },
            Op { name: "writeNote", caller: Some(&doctor), query: "mutation($p: ID!, $i: WriteNoteInput!) { writeNote(patientId: $p, input: $i) { id } }", base: json!({ "p": patient, "i": { "sensitivity": "NORMAL", "body": "Seen today." } }), slots: &["p", "i/body"], stores: true, empty: None },
            Op { name: "amendNote", caller: Some(&doctor), query: "mutation($id: ID!, $b: String!) { amendNote(id: $id, body: $b) { id } }", base: json!({ "id": note, "b": "Amended." }), slots: &["id", "b"], stores: true, empty: None },
            Op { name: "addCoverage", caller: Some(&billing), query: "mutation($p: ID!, $i: AddCoverageInput!) { addCoverage(patientId: $p, input: $i) { id } }", base: json!({ "p": patient, "i": { "payer": "Acme Health", "plan": "Silver", "memberId": "M-1", "validFrom": "2026-01-01" } }), slots: &["p", "i/payer", "i/plan", "i/memberId"], stores: true, empty: None },
            Op { name: "updateCoverage", caller: Some(&billing), query: "mutation($id: ID!, $i: UpdateCoverageInput!) { updateCoverage(id: $id, input: $i) { id } }", base: json!({ "id": coverage, "i": { "plan": "Gold" } }), slots: &["id", "i/plan", "i/memberId"], stores: true, empty: None },
            Op { name: "issueInvoice", caller: Some(&billing), query: "mutation($p: ID!, $i: IssueInvoiceInput!) { issueInvoice(patientId: $p, input: $i) { id } }", base: json!({ "p": patient, "i": { "description": "Consultation", "amountCents": 5000, "currency": "EUR" } }), slots: &["p", "i/description", "i/currency"], stores: true, empty: None },
            Op { name: "updateInvoiceStatus", caller: Some(&billing), query: "mutation($id: ID!) { updateInvoiceStatus(id: $id, status: PAID) { id } }", base: json!({ "id": invoice }), slots: &["id"], stores: false, empty: None },
            // Organisation.
            Op { name: "createDepartment", caller: Some(&admin), query: "mutation($n: String!) { createDepartment(name: $n) { id } }", base: json!({}), slots: &["n"], stores: true, empty: None },
            Op { name: "renameDepartment", caller: Some(&admin), query: "mutation($id: ID!, $n: String!) { renameDepartment(id: $id, name: $n) { id } }", base: json!({ "id": department, "n": "Sql Ward Renamed" }), slots: &["id", "n"], stores: true, empty: None },
            // Compliance and emergency access.
            Op { name: "exportAuditEvents", caller: Some(&officer), query: "mutation($f: AuditEventFilter) { exportAuditEvents(filter: $f) { rows } }", base: json!({ "f": filter }), slots: &["f/patientId", "f/actorId", "f/action", "f/outcome"], stores: false, empty: None },
            Op { name: "breakGlass", caller: Some(&outsider), query: "mutation($p: ID!, $r: String!) { breakGlass(patientId: $p, reason: $r) { id } }", base: json!({ "p": glass_too, "r": "Unconscious on arrival, the chart is needed now" }), slots: &["p", "r"], stores: true, empty: None },
            Op { name: "reviewBreakGlass", caller: Some(&officer), query: "mutation($id: ID!, $n: String) { reviewBreakGlass(id: $id, outcome: APPROPRIATE, note: $n) { id } }", base: json!({ "id": grant, "n": null }), slots: &["id", "n"], stores: true, empty: None },
        ];

        let mut accepted = Vec::new();
        let mut before = app.stored().await;
        for op in &ops {
            for slot in op.slots {
                for (label, value) in hostile_values() {
                    let what = format!("{} {slot} = {label}", op.name);
                    let mut vars = op.base.clone();
                    set(&mut vars, slot, json!(value));
                    fresh_emails(&mut vars);
                    let reply = app.graphql(op.caller.map(|s| s.token.as_str()), op.query, vars).await;
                    assert!(reply.status.as_u16() < 500, "{what}: {}", reply.text);
                    // The value itself may be echoed; anything else of SQL may not.
                    let escaped = serde_json::to_string(&value).unwrap();
                    let rest = reply.text.replace(&escaped[1..escaped.len() - 1], "<value>");
                    assert_no_internals(&what, &rest);
                    let after = app.stored().await;
                    let (now, then) = (sizes(&after), sizes(&before));
                    assert!(now.iter().zip(&then).all(|(n, t)| n >= t), "{what}: rows disappeared: {then:?} -> {now:?}");
                    let codes = reply.codes();
                    if codes.is_empty() {
                        assert_eq!(reply.status, 200, "{what}: {}", reply.text);
                        if let Some(list) = op.empty {
                            assert_eq!(reply.data().pointer(list), Some(&json!([])), "{what}: the hostile value matched something: {}", reply.text);
                        }
                        if op.stores {
                            assert!(stored_verbatim(&app, &value).await, "{what}: accepted, but not stored verbatim");
                        }
                        accepted.push(what);
                    } else {
                        for code in &codes {
                            assert!(REFUSALS.contains(&code.as_str()), "{what}: code {code}: {}", reply.text);
                        }
                        assert!(reply.errors().iter().all(|e| !e["message"].as_str().unwrap_or("").is_empty()), "{what}");
                        // A refusal of the only field: no data at all, nothing stored.
                        assert_eq!(after, before, "{what}: refused, but something was stored");
                    }
                    before = after;
                }
            }
            // A megabyte value in each input: refused by the body limit
            // from the request's length, before its body is read.
            for slot in op.slots {
                let mut vars = op.base.clone();
                set(&mut vars, slot, json!("'; DROP TABLE patients; --".repeat(42_000)));
                fresh_emails(&mut vars);
                let body = json!({ "query": op.query, "variables": vars }).to_string();
                assert!(body.len() > 1 << 20);
                let head = match op.caller {
                    Some(caller) => head(&caller.token, "application/json", &format!("Content-Length: {}\r\n", body.len())),
                    None => format!("POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n", body.len()),
                };
                let (status, text) = raw(&app, &head, b"").await;
                assert_eq!(status, 413, "{} {slot} with a megabyte value: {text}", op.name);
                assert_no_internals(op.name, &text);
            }
        }
        // What was accepted: free text stored as given, filters that matched nothing.
        eprintln!("accepted: {accepted:#?}");

        // Still whole: the patients are all there, and everyone still works.
        let everyone = app.as_user(&doctor, "{ patients(first: 100) { nodes { id } } }", json!({})).await;
        let ids: Vec<&str> = everyone.ok()["patients"]["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
        assert!(ids.contains(&patient.as_str()) && ids.contains(&glass.as_str()), "{ids:?}");
        assert_healthy(&app).await;
        for session in [&doctor, &nurse, &billing, &desk, &officer, &researcher, &patient_session] {
            app.as_user(session, "{ me { id } }", json!({})).await.ok();
        }
    }
}
