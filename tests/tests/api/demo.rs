//! `caregraph seed-demo` gives the clinic the README documents.

use caregraph::seed::{DEMO_DOMAIN, DEMO_PATIENT_LOGIN, DEMO_STAFF, SeedOutcome, seed_demo};
use caregraph_tests::on_both_databases;
use serde_json::json;

on_both_databases! {
    async fn the_demo_logins_of_the_readme_work(app) {
        assert!(matches!(seed_demo(&app.db).await.unwrap(), SeedOutcome::Seeded));
        assert!(matches!(seed_demo(&app.db).await.unwrap(), SeedOutcome::AlreadyThere));
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        // The demo is served without mandatory MFA, and the README says how.
        assert!(readme.contains("CAREGRAPH_MFA_ROLES= cargo run --release -- serve"));
        let count = |email: &str, password: &str, query: &'static str| {
            let (email, password) = (email.to_owned(), password.to_owned());
            let app = &app;
            async move {
                let session = app.login(&email, &password).await;
                let reply = app.as_user(&session, query, json!({})).await;
                reply.ok()["patients"]["nodes"].as_array().unwrap().len()
            }
        };
        for (local, _, role, password) in DEMO_STAFF {
            assert!(readme.contains(&format!("`{local}`")) && readme.contains(password), "README lacks {local}");
            let session = app.login(&format!("{local}@{DEMO_DOMAIN}"), password).await;
            let me = app.as_user(&session, "{ me { role } }", json!({})).await;
            assert_eq!(me.ok()["me"]["role"], role.as_str());
        }
        let list = "{ patients { nodes { id } } }";
        assert_eq!(count(&format!("nina.patel@{DEMO_DOMAIN}"), "demo nurse password 2026", list).await, 2);
        assert_eq!(count(&format!("amara.okafor@{DEMO_DOMAIN}"), "demo doctor password 2026", list).await, 4);
        let (local, password) = DEMO_PATIENT_LOGIN;
        assert!(readme.contains(&format!("`{local}`")) && readme.contains(password));
        assert_eq!(count(&format!("{local}@{DEMO_DOMAIN}"), password, list).await, 1);
        let researcher = app.login(&format!("ravi.iyer@{DEMO_DOMAIN}"), "demo researcher password 2026").await;
        let data = app.as_user(&researcher, "{ deidentifiedPatients { nodes { age zip3 diagnosisCodes } } }", json!({})).await;
        assert_eq!(data.ok()["deidentifiedPatients"]["nodes"].as_array().unwrap().len(), 6);
    }
}
