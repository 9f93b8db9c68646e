//! Hostile and broken requests: each gets a GraphQL error with a stable code,
//! the server stays up, nothing stored changes, and no internals leak.

use caregraph_tests::{Reply, TestApp, on_both_databases};
use serde_json::json;

fn assert_no_internals(reply: &Reply) {
    for leak in [
        "panicked", "stack", "SELECT", "INSERT", "sqlx", "sea_orm", "src/", ".rs:",
    ] {
        assert!(
            !reply.text.contains(leak),
            "the response shows {leak}: {}",
            reply.text
        );
    }
}

async fn counts(app: &TestApp) -> (usize, usize) {
    let admin = app.login_admin().await;
    let users = app.as_user(&admin, "{ users { id } }", json!({})).await;
    let patients = app
        .as_user(&admin, "{ patients(first: 100) { nodes { id } } }", json!({}))
        .await;
    (
        users.ok()["users"].as_array().unwrap().len(),
        patients.ok()["patients"]["nodes"].as_array().unwrap().len(),
    )
}

on_both_databases! {
    async fn broken_requests_get_coded_errors_and_change_nothing(app) {
        let doctor = app.user("DOCTOR", "Bad Input").await;
        let id = app.patient(&doctor, "Keep", "Me").await;
        let before = counts(&app).await;
        let token = Some(doctor.token.as_str());

        let cases: Vec<(&str, Reply, u16)> = vec![
            ("malformed JSON", app.post_raw(token, "application/json", "{\"query\": \"{ me { id } ").await, 400),
            ("not an object", app.post_raw(token, "application/json", "42").await, 400),
            ("batch", app.post_raw(token, "application/json", json!([{ "query": "{ me { id } }" }]).to_string()).await, 400),
            ("query not a string", app.post_raw(token, "application/json", json!({ "query": 7 }).to_string()).await, 400),
            ("wrong content type", app.post_raw(token, "text/plain", json!({ "query": "{ me { id } }" }).to_string()).await, 415),
            ("oversized body", app.post_raw(token, "application/json", json!({ "query": format!("{{ me {{ id }} }} #{}", "x".repeat(200_000)) }).to_string()).await, 413),
            ("GraphQL syntax", app.as_user(&doctor, "{ me { id ", json!({})).await, 200),
            ("unknown field", app.as_user(&doctor, "{ me { shoeSize } }", json!({})).await, 200),
            ("wrong type", app.as_user(&doctor, "{ patients(first: \"many\") { nodes { id } } }", json!({})).await, 200),
            ("wrong variable type", app.as_user(&doctor, "query($n: Int) { patients(first: $n) { nodes { id } } }", json!({ "n": "x" })).await, 200),
            ("bad enum", app.as_user(&doctor, "mutation($input: CreatePatientInput!) { createPatient(input: $input) { id } }", json!({ "input": { "givenName": "A", "familyName": "B", "dateOfBirth": "2000-01-01", "sex": "ROBOT" } })).await, 200),
            ("bad date", app.as_user(&doctor, "mutation($input: CreatePatientInput!) { createPatient(input: $input) { id } }", json!({ "input": { "givenName": "A", "familyName": "B", "dateOfBirth": "yesterday", "sex": "MALE" } })).await, 200),
            ("empty name", app.as_user(&doctor, "mutation($input: CreatePatientInput!) { createPatient(input: $input) { id } }", json!({ "input": { "givenName": "  ", "familyName": "B", "dateOfBirth": "2000-01-01", "sex": "MALE" } })).await, 200),
            ("id not a uuid", app.as_user(&doctor, "query($id: ID!) { patient(id: $id) { id } }", json!({ "id": "1 OR 1=1" })).await, 200),
            ("cursor not ours", app.as_user(&doctor, "{ patients(after: \"'; DROP TABLE patients; --\") { nodes { id } } }", json!({})).await, 200),
        ];
        for (case, reply, status) in &cases {
            assert_eq!(reply.status.as_u16(), *status, "{case}: {}", reply.text);
            reply.assert_code("BAD_USER_INPUT");
            assert!(!reply.errors()[0]["message"].as_str().unwrap().is_empty(), "{case}");
            assert_no_internals(reply);
        }
        let unknown = app.as_user(&doctor, "query($id: ID!) { patient(id: $id) { id } }", json!({ "id": uuid::Uuid::new_v4().to_string() })).await;
        unknown.assert_code("NOT_FOUND");

        assert_eq!(app.get("/healthz").await.status(), 200);
        assert_eq!(counts(&app).await, before);
        let kept = app.as_user(&doctor, "query($id: ID!) { patient(id: $id) { givenName } }", json!({ "id": id })).await;
        assert_eq!(kept.ok()["patient"]["givenName"], "Keep");
    }

    async fn hostile_queries_are_refused_before_they_run(app) {
        let nurse = app.user("NURSE", "Deep Query").await;
        let nested = "{ patients { nodes { assignedNurses { id } edges: assignedNurses { id } } edges { node { observations { id } assignedNurses { id } } } pageInfo { endCursor } } }";
        app.as_user(&nurse, nested, json!({})).await.ok();
        let many_aliases: String = (0..600).map(|i| format!("a{i}: me {{ id }} ")).collect();
        let reply = app.as_user(&nurse, &format!("{{ {many_aliases} }}"), json!({})).await;
        reply.assert_code("QUERY_TOO_COMPLEX");
        let too_deep = format!(
            "{{ __schema {{ types {{ fields {{ type {}{} }} }} }} }}",
            "{ ofType ".repeat(12),
            "{ name } }".to_owned() + &"}".repeat(11)
        );
        let reply = app.as_user(&nurse, &too_deep, json!({})).await;
        reply.assert_code("QUERY_TOO_COMPLEX");
    }

    async fn no_query_or_mutation_runs_over_get(app) {
        let admin = app.login_admin().await;
        let response = app
            .client
            .get(format!("{}/graphql?query=mutation%20%7B%20logout%20%7D", app.address))
            .bearer_auth(&admin.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body = response.text().await.unwrap();
        assert!(body.contains("<html"), "GET must only serve GraphiQL");
        assert!(!body.contains("\"data\""));
        app.as_user(&admin, "{ me { id } }", json!({})).await.ok();
    }
}
