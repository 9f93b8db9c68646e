//! The research data set is served from dated releases, never from the live
//! chart: what a doctor records after a release stays invisible to
//! researchers until the next one, which a compliance officer (or the
//! server host) publishes at most once per configured interval.

use std::time::Duration;

use caregraph::access::unrestricted_publish_release;
use caregraph::config::Config;
use caregraph::error::AppError;
use caregraph_tests::{Session, TestApp, on_both_databases};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tracing::Instrument;

const DATA_SET: &str = "query($first: Int, $after: String) {
    deidentifiedPatients(first: $first, after: $after) {
        release { number releasedOn patientCount }
        nodes { pseudonym age zip3 diagnosisCodes observations { kind value year } }
        hasNextPage endCursor
    }
}";

/// Releases may follow each other at once, so that a test can publish two.
fn instant_releases(config: &mut Config) {
    config.research_release_min_interval = Duration::ZERO;
}

async fn data_set(app: &TestApp, researcher: &Session) -> Value {
    let reply = app.as_user(researcher, DATA_SET, json!({})).await;
    reply.ok()["deidentifiedPatients"].clone()
}

async fn diagnose(app: &TestApp, doctor: &Session, patient: &str, code: &str) {
    app.as_user(
        doctor,
        "mutation($p: ID!, $c: String!) { recordDiagnosis(patientId: $p, input: { icd10Code: $c, description: \"Study\" }) { id } }",
        json!({ "p": patient, "c": code }),
    )
    .await
    .ok();
}

/// A release date is a day: YYYY-MM-DD, no time.
fn assert_day_only(date: &Value) {
    let date = date.as_str().expect("releasedOn is a string");
    assert!(
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok() && date.len() == 10,
        "releasedOn {date} is finer than a day"
    );
}

on_both_databases! {
    configure = instant_releases;

    async fn research_data_does_not_change_until_the_next_release(app) {
        let doctor = app.user("DOCTOR", "Study Doctor").await;
        let researcher = app.user("RESEARCHER", "Poll Ing").await;
        let patient = app.patient(&doctor, "Vera", "Visit").await;
        diagnose(&app, &doctor, &patient, "E11.9").await;

        // No release yet: an empty data set, not an error.
        let before = data_set(&app, &researcher).await;
        assert_eq!(before["nodes"], json!([]));
        assert!(before["release"].is_null());

        let first = app.research_release().await;
        assert_eq!(first["number"], 1);
        assert_eq!(first["patientCount"], 1);
        assert_day_only(&first["releasedOn"]);
        let released = data_set(&app, &researcher).await;
        assert_eq!(released["release"], first);
        assert_eq!(released["nodes"][0]["diagnosisCodes"], json!(["E11.9"]));
        assert_eq!(released["nodes"][0]["observations"], json!([]));
        let page = app.as_user(&researcher, DATA_SET, json!({ "first": 1 })).await;
        let old_cursor = page.ok()["deidentifiedPatients"]["endCursor"].clone();

        // The attack: a visit the researcher knows of, then polling.
        app.record_vital(&doctor, &patient, "HEART_RATE", 131.0).await.ok();
        diagnose(&app, &doctor, &patient, "I10").await;
        app.patient(&doctor, "Newt", "Comer").await;
        for _ in 0..3 {
            assert_eq!(data_set(&app, &researcher).await, released, "the data set followed the chart");
        }

        // The next release shows it all.
        let second = app.research_release().await;
        assert_eq!(second["number"], 2);
        assert_eq!(second["patientCount"], 2);
        let now = data_set(&app, &researcher).await;
        assert_eq!(now["release"], second);
        let nodes = now["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 2);
        let visited = nodes
            .iter()
            .find(|n| n["pseudonym"] == released["nodes"][0]["pseudonym"])
            .expect("the pseudonym is stable across releases");
        assert_eq!(visited["diagnosisCodes"], json!(["E11.9", "I10"]));
        assert_eq!(visited["observations"][0]["kind"], "HEART_RATE");
        assert_eq!(visited["observations"][0]["value"], 131.0);

        // A cursor of the first release does not page through the second.
        let stale = app.as_user(&researcher, DATA_SET, json!({ "first": 1, "after": old_cursor })).await;
        stale.assert_code("BAD_USER_INPUT");
    }

    async fn a_release_leaves_out_restricted_patients(app) {
        let doctor = app.user("DOCTOR", "Vip Doctor").await;
        let attending = app.user("DOCTOR", "Vip Attending").await;
        let researcher = app.user("RESEARCHER", "Re Search").await;
        let open = app.patient(&doctor, "Olga", "Open").await;
        let vip = app.patient(&doctor, "Victor", "Famous").await;
        app.as_user(
            &doctor,
            "mutation($i: AssignCareTeamInput!) { assignCareTeam(input: $i) { id } }",
            json!({ "i": { "patientId": vip, "staffId": attending.id, "kind": "ATTENDING" } }),
        )
        .await
        .ok();
        app.as_user(&doctor, "mutation($id: ID!) { updatePatient(id: $id, input: { restricted: true }) { id } }", json!({ "id": vip }))
            .await
            .ok();
        diagnose(&app, &attending, &vip, "F32.9").await;
        diagnose(&app, &doctor, &open, "J45.909").await;

        let release = app.research_release().await;
        assert_eq!(release["patientCount"], 1);
        let data = data_set(&app, &researcher).await;
        assert_eq!(data["nodes"].as_array().unwrap().len(), 1);
        assert_eq!(data["nodes"][0]["diagnosisCodes"], json!(["J45.909"]));
        // Nothing identifying is stored in a release, either.
        let rows = app
            .db
            .query_all_raw(Statement::from_string(app.db.get_database_backend(), "SELECT record FROM research_release_rows"))
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        let stored: String = rows[0].try_get("", "record").unwrap();
        for secret in ["Olga", "Open", "Victor", "Famous", "F32.9", "NID-", "1961-07-04", "10001", open.as_str(), vip.as_str()] {
            assert!(!stored.contains(secret), "a release row stores {secret}");
        }
    }
}

on_both_databases! {
    async fn a_second_release_within_the_interval_is_refused(app) {
        let doctor = app.user("DOCTOR", "Daily Doctor").await;
        let researcher = app.user("RESEARCHER", "Daily Reader").await;
        let patient = app.patient(&doctor, "Dana", "Daily").await;
        let first = app.research_release().await;
        app.record_vital(&doctor, &patient, "HEART_RATE", 88.0).await.ok();
        let again = app.try_research_release().await;
        again.assert_code("BAD_USER_INPUT");
        let message = again.errors()[0]["message"].as_str().unwrap().to_owned();
        assert!(message.contains("the next release is possible from"), "{message}");
        assert!(message.contains(first["releasedOn"].as_str().unwrap()), "{message}");
        let data = data_set(&app, &researcher).await;
        assert_eq!(data["release"], first);
        assert_eq!(data["nodes"][0]["observations"], json!([]));
    }

    async fn only_a_compliance_officer_may_publish_a_release(app) {
        let publish = "mutation { publishResearchRelease { number } }";
        for role in ["RESEARCHER", "DOCTOR", "NURSE", "ADMIN", "BILLING", "RECEPTION"] {
            let session = app.user(role, "Not Officer").await;
            let reply = app.as_user(&session, publish, json!({})).await;
            reply.assert_code("FORBIDDEN");
        }
        app.graphql(None, publish, json!({})).await.assert_code("UNAUTHENTICATED");
        let researcher = app.user("RESEARCHER", "Still Waiting").await;
        assert!(data_set(&app, &researcher).await["release"].is_null());
        app.research_release().await;
        assert_eq!(data_set(&app, &researcher).await["release"]["number"], 1);
    }

    async fn the_server_host_publishes_a_release_without_a_caller(app) {
        let doctor = app.user("DOCTOR", "Host Doctor").await;
        let researcher = app.user("RESEARCHER", "Host Reader").await;
        app.patient(&doctor, "Hugo", "Host").await;
        let day = Duration::from_secs(24 * 60 * 60);
        let release = unrestricted_publish_release(&app.db, day)
            .instrument(app.log_span())
            .await
            .unwrap();
        assert_eq!((release.number, release.patient_count), (1, 1));
        let refused = unrestricted_publish_release(&app.db, day).await;
        assert!(
            matches!(&refused, Err(AppError::BadUserInput(m)) if m.contains("the next release is possible from")),
            "a second release the same day was not refused"
        );
        assert_eq!(data_set(&app, &researcher).await["release"]["patientCount"], 1);
        assert!(app.logs().contains("research release published on the server host"), "{}", app.logs());
    }
}
