use base64::Engine as _;
use caregraph_tests::{ADMIN_EMAIL, ADMIN_PASSWORD, STAFF_PASSWORD, on_both_databases};
use serde_json::{Value, json};

fn claims_of(token: &str) -> (Value, Value) {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = token.split('.');
    let header = serde_json::from_slice(&b64.decode(parts.next().unwrap()).unwrap()).unwrap();
    let claims = serde_json::from_slice(&b64.decode(parts.next().unwrap()).unwrap()).unwrap();
    (header, claims)
}

on_both_databases! {
    async fn the_first_admin_comes_from_the_environment_and_can_log_in(app) {
        let reply = app.try_login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let login = &reply.ok()["login"];
        assert_eq!(login["user"]["role"], "ADMIN");
        assert!(login["accessToken"].as_str().unwrap().len() > 20);
        assert!(login["refreshToken"].as_str().unwrap().len() > 20);
        let expires = chrono::DateTime::parse_from_rfc3339(login["expiresAt"].as_str().unwrap()).unwrap();
        let minutes = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
        assert!((13..=15).contains(&minutes), "access token lives {minutes} min");
    }

    async fn a_token_is_pinned_to_hs256_and_carries_no_personal_data(app) {
        let nurse = app.user("NURSE", "Nora Night").await;
        let (header, claims) = claims_of(&nurse.token);
        assert_eq!(header["alg"], "HS256");
        let mut keys: Vec<&str> = claims.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["aud", "exp", "iat", "iss", "nbf", "role", "sid", "sub"]);
        assert!(!nurse.token.contains("Nora"));
    }

    async fn a_wrong_password_and_an_unknown_email_get_the_same_answer(app) {
        let wrong_password = app.try_login(ADMIN_EMAIL, "not the admin password at all").await;
        let unknown_email = app.try_login("nobody@clinic.test", "not the admin password at all").await;
        wrong_password.assert_code("UNAUTHENTICATED");
        assert_eq!(wrong_password.status, unknown_email.status);
        assert_eq!(wrong_password.body, unknown_email.body);
        assert!(wrong_password.data().is_null());
    }

    async fn passwords_are_stored_as_argon2id_with_owasp_parameters(app) {
        let nurse = app.user("NURSE", "Hash Check").await;
        let stored = stored_password_hash(&app, &nurse.email).await;
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(!stored.contains(STAFF_PASSWORD));
    }

    async fn passwords_follow_nist_length_rules_without_composition_rules(app) {
        let approver = app.login_approver().await;
        for (password, accepted) in [
            ("fourteen chars".to_owned(), false),
            ("fifteen chars!!".to_owned(), true),
            ("alllowercasenodigits".to_owned(), true),
            ("ünïcödé pässwörd ✓".to_owned(), true),
            ("x".repeat(128), true),
            ("x".repeat(129), false),
        ] {
            let email = format!("pw{}@clinic.test", uuid::Uuid::new_v4().simple());
            let (id, first) = app.request_account(&email, "Pat Word", "BILLING").await;
            let code = format!("{first}{}", app.approve(&approver, &id).await);
            let reply = app.enrol(&code, None, &password).await;
            if accepted {
                reply.ok();
                app.login(&email, &password).await;
            } else {
                reply.assert_code("BAD_USER_INPUT");
                assert!(reply.text.contains("characters"), "{}", reply.text);
                assert!(!reply.text.contains(&password));
            }
        }
    }
}

async fn stored_password_hash(app: &caregraph_tests::TestApp, email: &str) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = app.db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => "SELECT password_hash FROM users WHERE email = $1",
        _ => "SELECT password_hash FROM users WHERE email = ?",
    };
    let row = app
        .db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [email.into()]))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<String>("", "password_hash").unwrap()
}

on_both_databases! {
    async fn one_request_cannot_carry_many_login_attempts(app) {
        let aliases: String = (0..5)
            .map(|i| format!("a{i}: login(email: \"{ADMIN_EMAIL}\", password: \"guess number {i} is wrong\") {{ accessToken }} "))
            .collect();
        let reply = app.graphql(None, &format!("mutation {{ {aliases} }}"), json!({})).await;
        let codes = reply.codes();
        assert_eq!(codes.iter().filter(|c| *c == "UNAUTHENTICATED").count(), 1, "{}", reply.text);
        assert_eq!(codes.iter().filter(|c| *c == "BAD_USER_INPUT").count(), 4, "{}", reply.text);
    }
}
