//! A server with a bad policy must not start, and must say why.

use caregraph::config::Config;
use caregraph::startup::Application;

async fn start_with_policy(text: &str) -> String {
    let dir = std::env::temp_dir();
    let id = uuid::Uuid::new_v4().simple();
    let policy = dir.join(format!("caregraph-policy-{id}.toml"));
    std::fs::write(&policy, text).unwrap();
    let mut config = Config::with_database(format!(
        "sqlite://{}?mode=rwc",
        dir.join(format!("cg-{id}.db")).display()
    ));
    config.listen = "127.0.0.1:0".to_owned();
    config.policy_file = Some(policy.display().to_string());
    let error = match Application::build(config).await {
        Ok(_) => panic!("the server started with a bad policy"),
        Err(e) => e.to_string(),
    };
    let _ = std::fs::remove_file(policy);
    error
}

fn built_in_with(old: &str, new: &str) -> String {
    let text = caregraph::policy::BUILT_IN.replacen(old, new, 1);
    assert_ne!(text, caregraph::policy::BUILT_IN, "the replacement must apply");
    text
}

#[tokio::test]
async fn an_unknown_role_stops_the_server_naming_file_and_line() {
    let error = start_with_policy(&built_in_with("role = \"NURSE\"", "role = \"NURS\"")).await;
    assert!(error.contains("caregraph-policy-"), "{error}");
    assert!(error.contains("line"), "{error}");
    assert!(error.contains("NURS"), "{error}");
}

#[tokio::test]
async fn an_unclassified_patient_field_stops_the_server() {
    let error = start_with_policy(&built_in_with("nationalId = \"IDENTIFIERS\"\n", "")).await;
    assert!(error.contains("Patient.nationalId"), "{error}");
    assert!(error.contains("deny by default"), "{error}");
}

#[tokio::test]
async fn a_classified_field_that_does_not_exist_stops_the_server() {
    let error = start_with_policy(&built_in_with(
        "mrn = \"DIRECTORY\"",
        "mrn = \"DIRECTORY\"\nshoeSize = \"CLINICAL\"",
    ))
    .await;
    assert!(error.contains("shoeSize"), "{error}");
}

#[tokio::test]
async fn an_unknown_scope_stops_the_server() {
    let error = start_with_policy(&built_in_with("scope = \"ASSIGNED\"", "scope = \"NEARBY\"")).await;
    assert!(error.contains("NEARBY") && error.contains("line"), "{error}");
}
