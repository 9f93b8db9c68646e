//! Hostile queries are refused before anything runs, with
//! `QUERY_TOO_COMPLEX` and a message naming the limit and its variable; the
//! production profile answers no introspection and serves no GraphiQL. The
//! checks of graphql-cop (a scanner for GraphQL servers) are ported here:
//! alias overloading, field duplication, directive overloading, circular
//! introspection, introspection, GraphiQL, batching, GET queries, field
//! suggestions.

use caregraph::config::Config;
use caregraph_tests::{Reply, full_patient, on_both_databases};
use serde_json::json;

/// A refusal: one error, the code, the variable named, no data, and nothing
/// of the query echoed.
fn assert_refused(reply: &Reply, variable: &str, query_parts: &[&str]) {
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.assert_code("QUERY_TOO_COMPLEX");
    assert_eq!(reply.errors().len(), 1, "{}", reply.text);
    assert!(reply.data().is_null(), "{}", reply.text);
    let message = reply.errors()[0]["message"].as_str().unwrap().to_owned();
    assert!(message.contains(variable), "{message}");
    for part in query_parts {
        assert!(
            !reply.text.contains(part),
            "the answer echoes {part}: {}",
            reply.text
        );
    }
}

fn aliases(n: usize, field: &str) -> String {
    (0..n).map(|i| format!("alias{i}: {field} ")).collect()
}

/// graphql-cop's circular introspection query.
const CIRCULAR: &str = "query cop { __schema { types { fields { type { fields { type { fields { type { fields { type { name } } } } } } } } } } }";

/// graphql-cop's introspection query.
const INTROSPECTION: &str = "query cop { __schema { types { name fields { name } } } }";

on_both_databases! {
    async fn thirty_aliases_run_and_thirty_one_are_refused(app) {
        let ok = app.graphql(None, &format!("{{ {} }}", aliases(30, "__typename")), json!({})).await;
        assert_eq!(ok.ok()["alias29"], "Query");
        let refused = app.graphql(None, &format!("{{ {} }}", aliases(31, "__typename")), json!({})).await;
        assert_refused(&refused, "CAREGRAPH_MAX_ALIASES", &["alias30", "__typename"]);
        // graphql-cop's alias overloading: 101 aliases.
        let cop = app.graphql(None, &format!("query cop {{ {} }}", aliases(101, "__typename")), json!({})).await;
        assert_refused(&cop, "CAREGRAPH_MAX_ALIASES", &["alias100"]);
    }

    async fn a_refused_mutation_has_no_effect(app) {
        let doctor = app.user("DOCTOR", "Alias Writer").await;
        let before = app.stored().await;
        let writes: String = (0..31)
            .map(|i| format!("p{i}: createPatient(input: $input) {{ id }} "))
            .collect();
        let reply = app
            .as_user(
                &doctor,
                &format!("mutation($input: CreatePatientInput!) {{ {writes} }}"),
                json!({ "input": full_patient("Many", "Copies") }),
            )
            .await;
        assert_refused(&reply, "CAREGRAPH_MAX_ALIASES", &["createPatient", "Copies"]);
        assert_eq!(app.stored().await, before, "nothing was written");
        let none = app.as_user(&doctor, "{ patients { nodes { id } } }", json!({})).await;
        assert_eq!(none.ok()["patients"]["nodes"], json!([]));
    }

    async fn aliases_hidden_in_fragments_are_counted(app) {
        let nurse = app.user("NURSE", "Fragment Bomb").await;
        let ten = aliases(10, "id");
        // 10 aliases spread four times: 40 aliases.
        let spread = format!(
            "{{ me {{ ...A ...A ... on User {{ ...A ...A }} }} }} fragment A on User {{ {ten} }}"
        );
        assert_refused(&app.as_user(&nurse, &spread, json!({})).await, "CAREGRAPH_MAX_ALIASES", &["alias9"]);
        // Spread three times (30) it runs.
        let thirty = format!("{{ me {{ ...A ...A ...A }} }} fragment A on User {{ {ten} }}");
        let reply = app.as_user(&nurse, &thirty, json!({})).await;
        assert_eq!(reply.ok()["me"]["alias9"], nurse.id);
        // Fragments inside fragments, each spread twice.
        let mut bomb = "{ ...F0 } ".to_owned();
        for i in 0..10 {
            bomb.push_str(&format!("fragment F{i} on Query {{ ...F{n} ...F{n} }} ", n = i + 1));
        }
        bomb.push_str("fragment F10 on Query { me { id } }");
        let reply = app.as_user(&nurse, &bomb, json!({})).await;
        reply.assert_code("QUERY_TOO_COMPLEX");
        assert!(reply.data().is_null());
    }

    async fn repeated_fields_and_directives_are_refused(app) {
        let nurse = app.user("NURSE", "Repeat Repeat").await;
        // graphql-cop's field duplication: one field 500 times.
        let duplicated = format!("query cop {{ {} }}", "__typename ".repeat(500));
        assert_refused(&app.graphql(None, &duplicated, json!({})).await, "CAREGRAPH_MAX_FIELDS_REPEATED", &["__typename"]);
        // ... also when the copies come from fragments.
        let hidden = "{ me { ...F ...F ...F ...F ...F ...F } } fragment F on User { id id }";
        assert_refused(&app.as_user(&nurse, hidden, json!({})).await, "CAREGRAPH_MAX_FIELDS_REPEATED", &[]);
        let ten = format!("{{ me {{ {} }} }}", "id ".repeat(10));
        app.as_user(&nurse, &ten, json!({})).await.ok();

        // graphql-cop's directive overloading: ten unknown directives get one
        // refusal, not ten errors.
        let cop = app.graphql(None, "query cop { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }", json!({})).await;
        assert_refused(&cop, "CAREGRAPH_MAX_DIRECTIVES", &["@aa"]);
        let six = format!("{{ me {{ id {} }} }}", "@include(if: true) ".repeat(6));
        assert_refused(&app.as_user(&nurse, &six, json!({})).await, "CAREGRAPH_MAX_DIRECTIVES", &[]);
        let two = "{ me { id @include(if: true) @skip(if: false) } }";
        app.as_user(&nurse, two, json!({})).await.ok();
    }

    async fn circular_and_deep_introspection_is_refused(app) {
        let nurse = app.user("NURSE", "Circular Query").await;
        assert_refused(&app.as_user(&nurse, CIRCULAR, json!({})).await, "CAREGRAPH_MAX_INTROSPECTION_DEPTH", &["fields"]);
        // Nine levels from one type.
        let nine = "{ __type(name: \"Patient\") { fields { type { fields { type { fields { type { fields { name } } } } } } } } }";
        assert_refused(&app.as_user(&nurse, nine, json!({})).await, "CAREGRAPH_MAX_INTROSPECTION_DEPTH", &["Patient"]);
        // Hidden in a fragment.
        let hidden = "{ __schema { types { ...T } } } fragment T on __Type { fields { type { ...U } } } fragment U on __Type { fields { name } }";
        assert_refused(&app.as_user(&nurse, hidden, json!({})).await, "CAREGRAPH_MAX_INTROSPECTION_DEPTH", &[]);
        // Deeper than the depth limit through `ofType`.
        let deep = format!(
            "{{ __schema {{ types {{ fields {{ type {}{{ name }} {} }} }} }} }}",
            "{ ofType ".repeat(12),
            "}".repeat(12)
        );
        assert_refused(&app.as_user(&nurse, &deep, json!({})).await, "CAREGRAPH_MAX_DEPTH", &["ofType"]);

        // In development, introspection and GraphiQL's own query still work.
        let schema = app.as_user(&nurse, INTROSPECTION, json!({})).await;
        assert!(schema.ok()["__schema"]["types"].as_array().is_some_and(|t| !t.is_empty()));
        let graphiql = include_str!("introspection.graphql");
        app.as_user(&nurse, graphiql, json!({})).await.ok();
        app.graphql(None, graphiql, json!({})).await.ok();
        let page = app.get("/graphql").await.text().await.unwrap();
        assert!(page.to_lowercase().contains("graphiql"));
    }

    async fn the_other_scanner_checks_find_nothing(app) {
        // Batching: refused whole.
        let batch = serde_json::Value::Array(vec![json!({ "query": "{ __typename }" }); 10]).to_string();
        let reply = app.post_raw(None, "application/json", batch).await;
        assert_eq!(reply.status, 400);
        assert!(!reply.body.is_array());
        // Queries over GET: never run.
        let text = app.get("/graphql?query=%7B__typename%7D").await.text().await.unwrap();
        assert!(!text.contains("\"__typename\""));
        // Form posts (CSRF): refused.
        let form = app.post_raw(None, "application/x-www-form-urlencoded", "query=%7B__typename%7D").await;
        assert_eq!(form.status, 415);
        // Field suggestions: none.
        let typo = app.graphql(None, "query cop { __schem }", json!({})).await;
        assert!(!typo.text.contains("Did you mean"), "{}", typo.text);
        // Circular fragments: refused.
        let circular = "query { __schema { ...A } } fragment A on __Schema { __typename ...B } fragment B on __Schema { ...A }";
        let reply = app.graphql(None, circular, json!({})).await;
        reply.assert_code("QUERY_TOO_COMPLEX");
        assert!(reply.data().is_null(), "{}", reply.text);
        // Unhandled errors: a syntax error is a coded error, no exception.
        let broken = app.graphql(None, "qwerty cop { abc }", json!({})).await;
        broken.assert_code("BAD_USER_INPUT");
        assert!(!broken.text.contains("exception"), "{}", broken.text);
        // No tracing extensions, no internals in errors.
        let plain = app.graphql(None, "query cop { __typename }", json!({})).await;
        assert!(plain.body.get("extensions").is_none(), "{}", plain.text);
    }

    async fn graphql_answers_are_never_cached_nor_sniffed(app) {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("Content-Type", "application/json")
            .body(json!({ "query": "{ __typename }" }).to_string())
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers.get("strict-transport-security").is_none(), "no HSTS over plain HTTP");
        // Errors answered outside GraphQL too.
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("Content-Type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        // GraphiQL's page loads scripts from this server only.
        let page = app.get("/graphql").await;
        let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("script-src 'self'") && csp.contains("default-src 'none'"), "{csp}");
        assert!(!csp.contains("http") && !csp.contains('*'), "{csp}");
        assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    }
}

fn small_limits(config: &mut Config) {
    let limits = Config::from_vars([
        ("CAREGRAPH_MAX_ALIASES", "2"),
        ("CAREGRAPH_MAX_COMPLEXITY", "10"),
        ("CAREGRAPH_MAX_FRAGMENTS", "1"),
    ])
    .expect("valid limits")
    .limits;
    config.limits = limits;
}

on_both_databases! {
    configure = small_limits;

    async fn the_configured_limits_apply(app) {
        let nurse = app.user("NURSE", "Small Limits").await;
        app.as_user(&nurse, "{ a: me { id } b: me { id } }", json!({})).await.ok();
        let three = app.as_user(&nurse, "{ a: me { id } b: me { id } c: me { id } }", json!({})).await;
        assert_refused(&three, "CAREGRAPH_MAX_ALIASES", &[]);
        assert!(three.errors()[0]["message"].as_str().unwrap().contains("more than 2"));
        let complex = app
            .as_user(&nurse, "{ me { id } patients { nodes { id givenName familyName observations { kind value recordedAt } } pageInfo { endCursor } } }", json!({}))
            .await;
        assert_refused(&complex, "CAREGRAPH_MAX_COMPLEXITY", &["givenName"]);
        let spreads = app.as_user(&nurse, "{ me { ...F } ...G } fragment F on User { id } fragment G on Query { __typename }", json!({})).await;
        assert_refused(&spreads, "CAREGRAPH_MAX_FRAGMENTS", &[]);
    }
}

fn production(config: &mut Config) {
    let production = Config::from_vars([("CAREGRAPH_PROFILE", "production")]).expect("a valid profile");
    config.introspection = production.introspection;
    config.graphiql = production.graphiql;
}

on_both_databases! {
    configure = production;

    async fn the_production_profile_answers_no_introspection_and_serves_no_graphiql(app) {
        let nurse = app.user("NURSE", "Production Nurse").await;
        for (token, query) in [
            (None, INTROSPECTION),
            (Some(nurse.token.as_str()), INTROSPECTION),
            (Some(nurse.token.as_str()), include_str!("introspection.graphql")),
            (Some(nurse.token.as_str()), "{ __type(name: \"Patient\") { name } }"),
            (Some(nurse.token.as_str()), "{ me { id } ...F } fragment F on Query { __schema { queryType { name } } }"),
            (Some(nurse.token.as_str()), CIRCULAR),
        ] {
            let reply = app.graphql(token, query, json!({})).await;
            reply.assert_code("FORBIDDEN");
            assert!(reply.data().is_null(), "{}", reply.text);
            assert!(!reply.text.contains("__schema\":"), "{}", reply.text);
            assert!(reply.errors()[0]["message"].as_str().unwrap().contains("CAREGRAPH_INTROSPECTION"));
        }
        // graphql-cop's alias overloading is refused here too, and the API works.
        let cop = app.graphql(None, &format!("query cop {{ {} }}", aliases(101, "__typename")), json!({})).await;
        assert_refused(&cop, "CAREGRAPH_MAX_ALIASES", &[]);
        assert_eq!(app.graphql(None, "{ __typename }", json!({})).await.ok()["__typename"], "Query");
        app.as_user(&nurse, "{ me { id role } }", json!({})).await.ok();

        // No GraphiQL: GET /graphql names no tool, and its assets are gone.
        for accept in ["text/html", "*/*"] {
            let page = app
                .client
                .get(format!("{}/graphql", app.address))
                .header("Accept", accept)
                .send()
                .await
                .unwrap();
            assert_eq!(page.status(), 405);
            assert_eq!(page.headers()["allow"], "POST");
            let text = page.text().await.unwrap().to_lowercase();
            for tool in ["graphiql", "playground", "voyager", "explorer", "<html"] {
                assert!(!text.contains(tool), "{text}");
            }
        }
        assert_eq!(app.get("/graphiql/graphiql.min.js").await.status(), 404);
    }
}

#[test]
fn a_bad_limit_or_switch_refuses_to_start_naming_its_variable() {
    for (variable, value) in [
        ("CAREGRAPH_MAX_ALIASES", "thirty"),
        ("CAREGRAPH_MAX_DEPTH", "0"),
        ("CAREGRAPH_MAX_DEPTH", "500"),
        ("CAREGRAPH_MAX_COMPLEXITY", "-5"),
        ("CAREGRAPH_MAX_FIELDS_REPEATED", "0"),
        ("CAREGRAPH_MAX_DIRECTIVES", "1.5"),
        ("CAREGRAPH_MAX_FRAGMENTS", "many"),
        ("CAREGRAPH_MAX_INTROSPECTION_DEPTH", "0"),
        ("CAREGRAPH_PROFILE", "prod"),
        ("CAREGRAPH_INTROSPECTION", "disabled"),
        ("CAREGRAPH_GRAPHIQL", "false"),
        ("CAREGRAPH_TLS_CERT", "cert.pem"),
    ] {
        let error = Config::from_vars([(variable, value)])
            .expect_err("a bad value must not start the server")
            .to_string();
        assert!(error.contains(variable), "{variable}={value}: {error}");
    }
}
