//! Per-role responses to the core workflows, pinned as snapshots: a reviewer
//! sees at a glance what each role gets back, and any change to it shows up
//! in the diff.

use caregraph_tests::{Session, TestApp, on_both_databases};
use serde_json::{Value, json};

const WARD_LIST: &str = "{
    patients {
        nodes {
            mrn givenName familyName dateOfBirth sex phone nationalId
            observations { kind value unit }
            assignedNurses { name }
        }
    }
}";

/// Two patients of one doctor, one of them assigned to the nurse.
async fn small_ward(app: &TestApp) -> (Session, Session) {
    let doctor = app.user("DOCTOR", "Dr Snap Shot").await;
    let nurse = app.user("NURSE", "Nurse Snap").await;
    let first = app.patient(&doctor, "Maria", "Lopez").await;
    let second = app.patient(&doctor, "Jonas", "Eriksen").await;
    app.assign(&doctor, &first, &nurse).await;
    app.record_vital(&nurse, &first, "HEART_RATE", 72.0).await.ok();
    app.record_vital(&doctor, &second, "OXYGEN_SATURATION", 97.0)
        .await
        .ok();
    (doctor, nurse)
}

fn pin(name: &str, reply: &Value) {
    insta::assert_json_snapshot!(name, reply, {
        ".**.mrn" => "[mrn]",
        ".**.id" => "[id]",
    });
}

on_both_databases! {
    async fn each_role_gets_its_own_view_of_the_ward(app) {
        let (doctor, nurse) = small_ward(&app).await;
        let admin = app.login_admin().await;
        let billing = app.user("BILLING", "Billing Snap").await;
        let reception = app.user("RECEPTION", "Reception Snap").await;
        for (role, session) in [("doctor", &doctor), ("nurse", &nurse), ("admin", &admin), ("billing", &billing), ("reception", &reception)] {
            let reply = app.as_user(session, WARD_LIST, json!({})).await;
            pin(&format!("ward_list_as_{role}"), &reply.body);
        }
    }

    async fn the_login_answer_has_a_stable_shape(app) {
        let reply = app.try_login(caregraph_tests::ADMIN_EMAIL, caregraph_tests::ADMIN_PASSWORD).await;
        insta::assert_json_snapshot!("login_as_admin", reply.body, {
            ".data.login.accessToken" => "[jwt]",
            ".data.login.refreshToken" => "[refresh token]",
            ".data.login.expiresAt" => "[timestamp]",
            ".data.login.user.id" => "[id]",
        });
        let refused = app.try_login(caregraph_tests::ADMIN_EMAIL, "wrong password, long enough").await;
        insta::assert_json_snapshot!("login_refused", refused.body);
    }
}
