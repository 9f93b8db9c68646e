//! Relations are loaded in batches: the statements per query do not grow with
//! the number of patients.

use caregraph_tests::{Session, TestApp, on_both_databases};
use serde_json::json;

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

/// Statements for the billing view of every patient.
async fn billing_statements(app: &TestApp, who: &Session, expected_patients: usize) -> u64 {
    let before = app.statements.get();
    let reply = app.as_user(who, BILLING, json!({})).await;
    let after = app.statements.get();
    let nodes = reply.ok()["patients"]["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), expected_patients);
    assert!(
        nodes.iter().all(|n| n["invoices"].as_array().unwrap().len() == 1),
        "{}",
        reply.text
    );
    after - before
}

async fn statements_for(app: &TestApp, who: &Session, expected_patients: usize) -> u64 {
    let before = app.statements.get();
    let reply = app.as_user(who, CHARTS, json!({})).await;
    let after = app.statements.get();
    let nodes = reply.ok()["patients"]["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), expected_patients);
    assert!(
        nodes
            .iter()
            .all(|n| n["observations"].as_array().unwrap().len() == 1)
    );
    assert!(
        nodes
            .iter()
            .all(|n| n["assignedNurses"].as_array().unwrap().len() == 1)
    );
    after - before
}

on_both_databases! {
    async fn fifty_charts_take_as_many_statements_as_five(app) {
        let doctor = app.user("DOCTOR", "Bulk Doctor").await;
        let nurse = app.user("NURSE", "Bulk Nurse").await;
        add_patients(&app, &doctor, &nurse, 0, 5).await;
        let for_five_doctor = statements_for(&app, &doctor, 5).await;
        let for_five_nurse = statements_for(&app, &nurse, 5).await;
        let billing = app.user("BILLING", "Bulk Billing").await;
        let for_five_billing = billing_statements(&app, &billing, 5).await;
        add_patients(&app, &doctor, &nurse, 5, 50).await;
        let for_fifty_doctor = statements_for(&app, &doctor, 50).await;
        let for_fifty_nurse = statements_for(&app, &nurse, 50).await;
        let for_fifty_billing = billing_statements(&app, &billing, 50).await;
        assert_eq!(for_five_billing, for_fifty_billing, "statements grow with patients (billing)");
        assert_eq!(for_five_doctor, for_fifty_doctor, "statements grow with patients (doctor)");
        assert_eq!(for_five_nurse, for_fifty_nurse, "statements grow with patients (nurse)");
        // session check, page, care relations, then one per relation
        assert!(for_fifty_doctor <= 12, "{for_fifty_doctor} statements for one query");
    }
}
