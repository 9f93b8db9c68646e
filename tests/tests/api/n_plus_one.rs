//! Relations are loaded in batches: the statements per query do not grow with
//! the number of patients or of chart rows.
//!
//! Every measurement logs in just before it: a session idle for over a
//! minute is written to (`last_seen_at`) by the request that uses it, which
//! would count as one more statement in a slow run.

use std::time::Duration;

use caregraph::config::Config;
use caregraph_tests::{STAFF_PASSWORD, Session, TestApp, on_both_databases};
use serde_json::{Value, json};

const CHARTS: &str = "{
    patients(first: 100) {
        nodes {
            id givenName dateOfBirth
            observations { kind value }
            assignedNurses { id name }
            diagnoses { icd10Code }
            medications { name }
            allergies { substance }
            notes { body }
        }
    }
}";

async fn add_patients(app: &TestApp, doctor: &Session, nurse: &Session, from: usize, to: usize) {
    for n in from..to {
        let id = app.patient(doctor, &format!("P{n}"), "Batch").await;
        app.assign(doctor, &id, nurse).await;
        app.record_vital(doctor, &id, "HEART_RATE", 60.0 + n as f64)
            .await
            .ok();
        app.fill_chart(doctor, &id, &format!("P{n}")).await;
    }
}

/// Statements the server sends to answer one request.
const BILLING: &str = "{ patients(first: 100) { nodes { id coverage { payer } invoices { amountCents } } } }";

/// Statements the server sends to answer `query` for a fresh session of
/// `who`, with the reply.
async fn measure(
    app: &TestApp,
    who: &Session,
    query: &str,
    variables: Value,
) -> (u64, caregraph_tests::Reply) {
    let fresh = app.login(&who.email, STAFF_PASSWORD).await;
    let before = app.statements.get();
    let reply = app.as_user(&fresh, query, variables).await;
    let after = app.statements.get();
    (after - before, reply)
}

/// Statements for the billing view of every patient.
async fn billing_statements(app: &TestApp, who: &Session, expected_patients: usize) -> u64 {
    let (statements, reply) = measure(app, who, BILLING, json!({})).await;
    let nodes = reply.ok()["patients"]["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), expected_patients);
    assert!(
        nodes
            .iter()
            .all(|n| !n["invoices"].as_array().unwrap().is_empty()),
        "{}",
        reply.text
    );
    statements
}

async fn statements_for(app: &TestApp, who: &Session, expected_patients: usize) -> u64 {
    let (statements, reply) = measure(app, who, CHARTS, json!({})).await;
    let nodes = reply.ok()["patients"]["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), expected_patients);
    assert!(
        nodes
            .iter()
            .all(|n| !n["observations"].as_array().unwrap().is_empty())
    );
    assert!(
        nodes
            .iter()
            .all(|n| n["assignedNurses"].as_array().unwrap().len() == 1)
    );
    statements
}

const ONE_CHART: &str = "query($id: ID!) {
    patient(id: $id) {
        id givenName nationalId
        observations { kind value }
        assignedNurses { id name }
        diagnoses { icd10Code }
        medications { name }
        allergies { substance }
        notes { body }
    }
}";

/// Statements for one patient's whole chart; the chart must hold `rows`
/// records of each kind.
async fn one_chart_statements(app: &TestApp, who: &Session, patient: &str, rows: usize) -> u64 {
    let (statements, reply) = measure(app, who, ONE_CHART, json!({ "id": patient })).await;
    let chart = &reply.ok()["patient"];
    for relation in ["observations", "diagnoses", "medications", "allergies", "notes"] {
        assert_eq!(
            chart[relation].as_array().unwrap().len(),
            rows,
            "{relation}: {}",
            reply.text
        );
    }
    statements
}

const DATA_SET: &str = "{
    deidentifiedPatients(first: 100) {
        release { number patientCount }
        nodes { pseudonym age zip3 diagnosisCodes observations { kind value year } }
        hasNextPage
    }
}";

/// Statements for the research data set of the latest release, which must
/// hold `expected_patients`, each with its diagnosis and vital sign.
async fn data_set_statements(app: &TestApp, who: &Session, expected_patients: usize) -> u64 {
    let (statements, reply) = measure(app, who, DATA_SET, json!({})).await;
    let set = &reply.ok()["deidentifiedPatients"];
    let nodes = set["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), expected_patients, "{}", reply.text);
    assert!(
        nodes
            .iter()
            .all(|n| !n["diagnosisCodes"].as_array().unwrap().is_empty()
                && !n["observations"].as_array().unwrap().is_empty()),
        "{}",
        reply.text
    );
    statements
}

/// Two releases in one test.
fn instant_releases(config: &mut Config) {
    config.research_release_min_interval = Duration::ZERO;
}

on_both_databases! {
    configure = instant_releases;

    async fn fifty_charts_take_as_many_statements_as_five(app) {
        let doctor = app.user("DOCTOR", "Bulk Doctor").await;
        let nurse = app.user("NURSE", "Bulk Nurse").await;
        let researcher = app.user("RESEARCHER", "Bulk Researcher").await;
        add_patients(&app, &doctor, &nurse, 0, 5).await;
        let first = app
            .as_user(&doctor, "{ patients(first: 1) { nodes { id } } }", json!({}))
            .await
            .ok()["patients"]["nodes"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let for_five_doctor = statements_for(&app, &doctor, 5).await;
        let for_five_nurse = statements_for(&app, &nurse, 5).await;
        let billing = app.user("BILLING", "Bulk Billing").await;
        let for_five_billing = billing_statements(&app, &billing, 5).await;
        let one_chart_of_five = one_chart_statements(&app, &doctor, &first, 1).await;
        assert_eq!(app.research_release().await["patientCount"], 5);
        let data_set_of_five = data_set_statements(&app, &researcher, 5).await;
        add_patients(&app, &doctor, &nurse, 5, 50).await;
        // Nine more records of each kind in the first chart.
        for n in 0..9 {
            app.record_vital(&doctor, &first, "HEART_RATE", 70.0 + f64::from(n)).await.ok();
            app.fill_chart(&doctor, &first, &format!("More{n}")).await;
        }
        let for_fifty_doctor = statements_for(&app, &doctor, 50).await;
        let for_fifty_nurse = statements_for(&app, &nurse, 50).await;
        let for_fifty_billing = billing_statements(&app, &billing, 50).await;
        let one_chart_of_fifty = one_chart_statements(&app, &doctor, &first, 10).await;
        assert_eq!(app.research_release().await["patientCount"], 50);
        let data_set_of_fifty = data_set_statements(&app, &researcher, 50).await;
        assert_eq!(one_chart_of_five, one_chart_of_fifty, "statements grow with chart rows (patient)");
        assert_eq!(data_set_of_five, data_set_of_fifty, "statements grow with patients (research data set)");
        assert_eq!(for_five_billing, for_fifty_billing, "statements grow with patients (billing)");
        assert_eq!(for_five_doctor, for_fifty_doctor, "statements grow with patients (doctor)");
        assert_eq!(for_five_nurse, for_fifty_nurse, "statements grow with patients (nurse)");
        // session check, page, care relations, one per relation, then the
        // audit trail's append of the read's events (lock the chain's head,
        // the events, their patient index, move the head): constant too.
        assert!(for_fifty_doctor <= 16, "{for_fifty_doctor} statements for one query");
    }
}
