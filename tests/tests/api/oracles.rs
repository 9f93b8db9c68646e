//! No existence oracle on writes by id: a record of a patient outside the
//! caller's scope answers exactly like an id that does not exist — the same
//! NOT_FOUND body, nothing stored, and the same number of SQL statements (the
//! work the server does, and so its response time, does not depend on
//! whether the record exists).

use caregraph_entity::{allergy, care_assignment, coverage, diagnosis, medication, observation};
use caregraph_tests::{Reply, Session, TestApp, on_both_databases};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

const CORRECT_OBSERVATION: &str =
    "mutation($id: ID!) { correctObservation(id: $id, value: 99) { id value } }";
const UPDATE_DIAGNOSIS: &str = "mutation($id: ID!) { updateDiagnosis(id: $id, input: { description: \"overwritten\" }) { id description } }";
const UPDATE_MEDICATION: &str =
    "mutation($id: ID!) { updateMedication(id: $id, input: { dose: \"999 mg\" }) { id dose } }";
const UPDATE_ALLERGY: &str =
    "mutation($id: ID!) { updateAllergy(id: $id, input: { reaction: \"overwritten\" }) { id reaction } }";
const UPDATE_COVERAGE: &str =
    "mutation($id: ID!) { updateCoverage(id: $id, input: { plan: \"Overwritten\" }) { id plan } }";
const AMEND_NOTE: &str = "mutation($id: ID!) { amendNote(id: $id, body: \"overwritten\") { id body } }";
const REVOKE_ASSIGNMENT: &str = "mutation($id: ID!) { revokeAssignment(id: $id) { id revokedAt } }";

/// One mutation by id, and the statements the server sent to answer it.
async fn counted(app: &TestApp, who: &Session, mutation: &str, id: Uuid) -> (Reply, u64) {
    // A request first: the session's last-seen time is written at most once a
    // minute, and that write must not fall into one count and not the other.
    app.as_user(who, "{ me { id } }", json!({})).await.ok();
    // And the same refusal once, for a random id: the audit writer appends in
    // fewer statements once it knows where the chain's head is (after its
    // first batch, and after a write recorded its own event); that state
    // depends on what happened before, not on the record asked for.
    app.as_user(who, mutation, json!({ "id": Uuid::new_v4() })).await;
    let before = app.statements.get();
    let reply = app.as_user(who, mutation, json!({ "id": id })).await;
    (reply, app.statements.get() - before)
}

/// `existing` (a record `who` may not see) answers exactly like a random id.
async fn answers_like_a_random_id(app: &TestApp, who: &Session, mutation: &str, existing: Uuid) {
    let (known, known_statements) = counted(app, who, mutation, existing).await;
    let (random, random_statements) = counted(app, who, mutation, Uuid::new_v4()).await;
    known.assert_code("NOT_FOUND");
    assert_eq!(known.status, random.status, "{mutation}");
    // Nothing in the body depends on the request (no ids, no timestamps).
    assert_eq!(known.text, random.text, "{mutation}");
    assert_eq!(
        known_statements, random_statements,
        "{mutation}: {known_statements} statements for an existing record, {random_statements} for a random id"
    );
}

async fn assign_care_team(
    app: &TestApp,
    doctor: &Session,
    patient: &str,
    staff: &Session,
    kind: &str,
    window: Option<(i64, i64)>,
) -> Uuid {
    let at = |h: i64| (chrono::Utc::now() + chrono::Duration::hours(h)).to_rfc3339();
    let (starts, ends) = match window {
        Some((from, to)) => (Some(at(from)), Some(at(to))),
        None => (None, None),
    };
    app.assign_care_team(doctor, patient, staff, kind, (starts, ends))
        .await
        .parse()
        .unwrap()
}

/// The one row of `E` for this patient, as stored.
async fn stored<E>(app: &TestApp, column: E::Column, patient: &str) -> E::Model
where
    E: EntityTrait,
{
    let patient: Uuid = patient.parse().unwrap();
    E::find()
        .filter(column.eq(patient))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the test stored this record")
}

/// A patient of `owner` with one record of every kind, a vital sign and a
/// nurse assignment.
async fn charted_patient(app: &TestApp, owner: &Session, family: &str) -> String {
    let patient = app.patient(owner, "Olga", family).await;
    app.fill_chart(owner, &patient, family).await;
    app.record_vital(owner, &patient, "HEART_RATE", 72.0).await.ok();
    patient
}

on_both_databases! {
    async fn chart_writes_by_id_do_not_tell_whether_an_unseen_record_exists(app) {
        let owner = app.user("DOCTOR", "Owning Doctor").await;
        let other = app.user("DOCTOR", "Other Doctor").await;
        let unassigned = app.user("NURSE", "Unassigned Nurse").await;
        let former = app.user("NURSE", "Former Nurse").await;
        let patient = charted_patient(&app, &owner, "Oracle").await;
        assign_care_team(&app, &owner, &patient, &former, "NURSE", Some((-10, -2))).await;

        let vital = stored::<observation::Entity>(&app, observation::Column::PatientId, &patient).await;
        let diagnosis = stored::<diagnosis::Entity>(&app, diagnosis::Column::PatientId, &patient).await;
        let medication = stored::<medication::Entity>(&app, medication::Column::PatientId, &patient).await;
        let allergy = stored::<allergy::Entity>(&app, allergy::Column::PatientId, &patient).await;

        for who in [&other, &unassigned, &former] {
            answers_like_a_random_id(&app, who, CORRECT_OBSERVATION, vital.id).await;
        }
        for (mutation, id) in [
            (UPDATE_DIAGNOSIS, diagnosis.id),
            (UPDATE_MEDICATION, medication.id),
            (UPDATE_ALLERGY, allergy.id),
        ] {
            answers_like_a_random_id(&app, &other, mutation, id).await;
        }

        assert_eq!(stored::<observation::Entity>(&app, observation::Column::PatientId, &patient).await, vital);
        assert_eq!(stored::<diagnosis::Entity>(&app, diagnosis::Column::PatientId, &patient).await, diagnosis);
        assert_eq!(stored::<medication::Entity>(&app, medication::Column::PatientId, &patient).await, medication);
        assert_eq!(stored::<allergy::Entity>(&app, allergy::Column::PatientId, &patient).await, allergy);

        // The same lookup still finds the records of the caller's own patient.
        for (mutation, id, field) in [
            (CORRECT_OBSERVATION, vital.id, "correctObservation"),
            (UPDATE_DIAGNOSIS, diagnosis.id, "updateDiagnosis"),
            (UPDATE_MEDICATION, medication.id, "updateMedication"),
            (UPDATE_ALLERGY, allergy.id, "updateAllergy"),
        ] {
            let reply = app.as_user(&owner, mutation, json!({ "id": id })).await;
            assert_eq!(reply.ok()[field]["id"], json!(id.to_string()));
        }
    }

    async fn records_of_a_restricted_patient_do_not_exist_for_any_scope(app) {
        let registrar = app.user("DOCTOR", "Registering Doctor").await;
        let attending = app.user("DOCTOR", "Attending Doctor").await;
        let billing = app.user("BILLING", "Billing Clerk").await;
        let patient = charted_patient(&app, &registrar, "Restricted").await;
        assign_care_team(&app, &registrar, &patient, &attending, "ATTENDING", None).await;
        let coverage = stored::<coverage::Entity>(&app, coverage::Column::PatientId, &patient).await;
        // Before the restriction, billing (scope ANY) reaches the coverage.
        let reply = app.as_user(&billing, "mutation($id: ID!) { updateCoverage(id: $id, input: { plan: \"Gold\" }) { id } }", json!({ "id": coverage.id })).await;
        reply.ok();
        app.as_user(&attending, "mutation($id: ID!) { updatePatient(id: $id, input: { restricted: true }) { id } }", json!({ "id": patient }))
            .await
            .ok();
        let coverage = stored::<coverage::Entity>(&app, coverage::Column::PatientId, &patient).await;
        let diagnosis = stored::<diagnosis::Entity>(&app, diagnosis::Column::PatientId, &patient).await;

        answers_like_a_random_id(&app, &billing, UPDATE_COVERAGE, coverage.id).await;
        // Having registered a restricted patient is not an explicit assignment.
        answers_like_a_random_id(&app, &registrar, UPDATE_DIAGNOSIS, diagnosis.id).await;

        assert_eq!(stored::<coverage::Entity>(&app, coverage::Column::PatientId, &patient).await, coverage);
        assert_eq!(stored::<diagnosis::Entity>(&app, diagnosis::Column::PatientId, &patient).await, diagnosis);
    }

    async fn revoking_an_unseen_assignment_does_not_tell_whether_it_exists(app) {
        let owner = app.user("DOCTOR", "Owning Doctor").await;
        let other = app.user("DOCTOR", "Other Doctor").await;
        let nurse = app.user("NURSE", "Assigned Nurse").await;
        let patient = app.patient(&owner, "Rita", "Revoke").await;
        let assignment = assign_care_team(&app, &owner, &patient, &nurse, "NURSE", None).await;
        let before = care_assignment::Entity::find_by_id(assignment).one(&app.db).await.unwrap().unwrap();

        answers_like_a_random_id(&app, &other, REVOKE_ASSIGNMENT, assignment).await;

        let after = care_assignment::Entity::find_by_id(assignment).one(&app.db).await.unwrap().unwrap();
        assert_eq!(after, before);
        assert!(after.revoked_at.is_none());
        let reply = app.as_user(&owner, REVOKE_ASSIGNMENT, json!({ "id": assignment })).await;
        assert!(reply.ok()["revokeAssignment"]["revokedAt"].is_string());
    }

    async fn a_sensitive_note_the_caller_may_not_read_answers_like_a_random_id(app) {
        // The registrar treats the patient, but a psychotherapy note written
        // by the attending colleague is the colleague's and the attending
        // doctor's only: amending it must not tell that it exists.
        let registrar = app.user("DOCTOR", "Note Registrar").await;
        let attending = app.user("DOCTOR", "Note Attending").await;
        let nurse = app.user("NURSE", "Note Nurse").await;
        let patient = app.patient(&registrar, "Sena", "Sitive").await;
        app.assign_care_team(&registrar, &patient, &attending, "ATTENDING", (None, None)).await;
        app.assign(&registrar, &patient, &nurse).await;
        let note = app
            .as_user(&attending, "mutation($p: ID!) { writeNote(patientId: $p, input: { sensitivity: PSYCHOTHERAPY, body: \"private\" }) { id } }", json!({ "p": patient }))
            .await;
        let id: Uuid = note.ok()["writeNote"]["id"].as_str().unwrap().parse().unwrap();
        answers_like_a_random_id(&app, &registrar, AMEND_NOTE, id).await;
        answers_like_a_random_id(&app, &nurse, AMEND_NOTE, id).await;
        let stored = caregraph_entity::clinical_note::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
        assert_eq!(stored.body, "private");
        // The author and the attending doctor still amend it.
        app.as_user(&attending, AMEND_NOTE, json!({ "id": id })).await.ok();
    }
}
