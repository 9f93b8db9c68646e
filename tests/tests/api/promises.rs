//! Promises the README makes that no other module checks: sessions end on a
//! role change, on idleness and at their absolute lifetime; refresh tokens
//! are stored hashed and used once per request; slow requests are cut off;
//! internal errors are masked; readiness follows the database; aliases and
//! fragments do not get around a denied field; the clinic keeps an active
//! administrator even when two remove each other at once.

use std::time::Duration;

use caregraph_entity::{session, user};
use caregraph_tests::{Backend, Reply, STAFF_PASSWORD, TestApp, on_both_databases};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter,
    Statement, TransactionTrait,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ME: &str = "{ me { id role } }";
const REFRESH: &str =
    "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken expiresAt } }";

fn uuid(id: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(id).expect("an id is a UUID")
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The user's sessions as stored.
async fn sessions_of(app: &TestApp, user_id: &str) -> Vec<session::Model> {
    session::Entity::find()
        .filter(session::Column::UserId.eq(uuid(user_id)))
        .all(&app.db)
        .await
        .unwrap()
}

/// Moves one timestamp of all the user's sessions, as if time had passed.
async fn set_session_time(app: &TestApp, user_id: &str, column: session::Column, at: chrono::DateTime<Utc>) {
    session::Entity::update_many()
        .col_expr(column, Expr::value(at))
        .filter(session::Column::UserId.eq(uuid(user_id)))
        .exec(&app.db)
        .await
        .unwrap();
}

/// Everything the database holds, as text: the SQLite file and its
/// write-ahead log, or every row of every PostgreSQL table as JSON.
async fn database_text(app: &TestApp) -> String {
    match app.db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let tables = app
                .db
                .query_all_raw(Statement::from_string(
                    DatabaseBackend::Postgres,
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
                ))
                .await
                .unwrap();
            let mut text = String::new();
            for table in tables {
                let table: String = table.try_get("", "tablename").unwrap();
                let row = app
                    .db
                    .query_one_raw(Statement::from_string(
                        DatabaseBackend::Postgres,
                        format!("SELECT coalesce(string_agg(row_to_json(t)::text, E'\\n'), '') AS dump FROM \"{table}\" t"),
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                text.push_str(&row.try_get::<String>("", "dump").unwrap());
                text.push('\n');
            }
            assert!(
                text.contains("refresh_token_hash"),
                "the dump reads the sessions table"
            );
            text
        }
        _ => {
            let rows = app
                .db
                .query_all_raw(Statement::from_string(
                    DatabaseBackend::Sqlite,
                    "PRAGMA database_list",
                ))
                .await
                .unwrap();
            let file: String = rows[0].try_get("", "file").unwrap();
            let mut bytes = std::fs::read(&file).unwrap();
            bytes.extend(std::fs::read(format!("{file}-wal")).unwrap_or_default());
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }
}

/// How many accounts are active administrators, as stored.
async fn active_admins(app: &TestApp) -> u64 {
    user::Entity::find()
        .filter(user::Column::Role.eq("ADMIN"))
        .filter(user::Column::Active.eq(true))
        .count(&app.db)
        .await
        .unwrap()
}

fn assert_internal_and_masked(reply: &Reply, hidden: &[&str]) {
    let errors = reply.errors();
    assert!(!errors.is_empty(), "expected an error: {}", reply.text);
    for error in &errors {
        assert_eq!(error["extensions"]["code"], "INTERNAL", "{}", reply.text);
        assert_eq!(error["message"], "internal error", "{}", reply.text);
    }
    for leak in hidden.iter().chain(&[
        "SELECT",
        "FROM",
        "sqlx",
        "sea_orm",
        "DbErr",
        "panicked",
        "src/",
        ".rs:",
        "backtrace",
    ]) {
        assert!(
            !reply.text.contains(leak),
            "the response shows {leak}: {}",
            reply.text
        );
    }
}

on_both_databases! {
    async fn a_role_changed_in_the_database_ends_the_token_at_its_next_request(app) {
        let nurse = app.user("NURSE", "Rhea Role").await;
        assert_eq!(app.as_user(&nurse, ME, json!({})).await.ok()["me"]["role"], "NURSE");
        user::Entity::update_many()
            .col_expr(user::Column::Role, Expr::value("DOCTOR"))
            .filter(user::Column::Id.eq(uuid(&nurse.id)))
            .exec(&app.db)
            .await
            .unwrap();
        let after = app.as_user(&nurse, ME, json!({})).await;
        assert_eq!(after.status, 401, "{}", after.text);
        after.assert_code("UNAUTHENTICATED");
        let patients = app.as_user(&nurse, "{ patients { nodes { id } } }", json!({})).await;
        patients.assert_code("UNAUTHENTICATED");
    }

    async fn an_idle_session_ends_for_its_access_token_and_its_refresh_token(app) {
        let nurse = app.user("NURSE", "Ida Idle").await;
        let now = Utc::now();
        // Fourteen minutes idle: still live, and using it resets the clock.
        set_session_time(&app, &nurse.id, session::Column::LastSeenAt, now - chrono::Duration::minutes(14)).await;
        app.as_user(&nurse, ME, json!({})).await.ok();
        let seen = sessions_of(&app, &nurse.id).await[0].last_seen_at;
        assert!(seen > now - chrono::Duration::minutes(1), "the request did not slide the idle window: {seen}");
        // Sixteen minutes idle (the default timeout is fifteen): over.
        set_session_time(&app, &nurse.id, session::Column::LastSeenAt, now - chrono::Duration::minutes(16)).await;
        let me = app.as_user(&nurse, ME, json!({})).await;
        assert_eq!(me.status, 401, "{}", me.text);
        me.assert_code("UNAUTHENTICATED");
        let refreshed = app.graphql(None, REFRESH, json!({ "t": nurse.refresh_token })).await;
        refreshed.assert_code("UNAUTHENTICATED");
        assert!(refreshed.data().is_null() || refreshed.data()["refreshSession"].is_null(), "{}", refreshed.text);
    }

    async fn a_session_ends_at_its_absolute_lifetime_however_active_it_is(app) {
        let nurse = app.user("NURSE", "Abe Solute").await;
        let end = Utc::now() + chrono::Duration::minutes(2);
        set_session_time(&app, &nurse.id, session::Column::ExpiresAt, end).await;
        // Before the end, a refresh works but neither extends the session nor
        // hands out an access token that outlives it.
        let pair = app.graphql(None, REFRESH, json!({ "t": nurse.refresh_token })).await;
        let pair = pair.ok()["refreshSession"].clone();
        let expires = chrono::DateTime::parse_from_rfc3339(pair["expiresAt"].as_str().unwrap()).unwrap();
        assert!(expires <= end + chrono::Duration::seconds(1), "the access token outlives its session: {expires} > {end}");
        let stored = sessions_of(&app, &nurse.id).await[0].expires_at;
        assert!((stored - end).num_seconds().abs() <= 1, "a refresh moved the absolute end: {stored}");
        let access = pair["accessToken"].as_str().unwrap();
        app.graphql(Some(access), ME, json!({})).await.ok();
        // Past the end, although it was used a moment ago: over.
        set_session_time(&app, &nurse.id, session::Column::ExpiresAt, Utc::now() - chrono::Duration::seconds(1)).await;
        let me = app.graphql(Some(access), ME, json!({})).await;
        assert_eq!(me.status, 401, "{}", me.text);
        me.assert_code("UNAUTHENTICATED");
        app.graphql(None, REFRESH, json!({ "t": pair["refreshToken"] })).await.assert_code("UNAUTHENTICATED");
    }

    async fn refresh_tokens_are_stored_only_as_their_sha256(app) {
        let nurse = app.user("NURSE", "Hal Hash").await;
        let first = nurse.refresh_token.clone();
        let pair = app.graphql(None, REFRESH, json!({ "t": first })).await;
        let second = pair.ok()["refreshSession"]["refreshToken"].as_str().unwrap().to_owned();
        let stored = database_text(&app).await;
        for token in [&first, &second] {
            assert!(!stored.contains(token.as_str()), "a refresh token is stored in clear");
        }
        let sessions = sessions_of(&app, &nurse.id).await;
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0].refresh_token_hash, sha256_hex(&second));
        assert_eq!(sessions[0].previous_refresh_token_hash, Some(sha256_hex(&first)));
    }

    async fn one_request_refreshes_a_session_at_most_once(app) {
        let nurse = app.user("NURSE", "Una Once").await;
        let twice = "mutation($t: String!) {
            a: refreshSession(refreshToken: $t) { accessToken refreshToken }
            b: refreshSession(refreshToken: $t) { accessToken refreshToken }
        }";
        let reply = app.graphql(None, twice, json!({ "t": nurse.refresh_token })).await;
        assert_eq!(reply.codes(), ["BAD_USER_INPUT"], "{}", reply.text);
        assert_eq!(reply.errors()[0]["path"], json!(["b"]), "{}", reply.text);
        assert!(reply.data()["b"].is_null(), "{}", reply.text);
        let pair = reply.data()["a"].clone();
        // Had the second run, it would have looked like a reused token and
        // ended the session: the new pair works.
        app.graphql(Some(pair["accessToken"].as_str().unwrap()), ME, json!({})).await.ok();
        let sessions = sessions_of(&app, &nurse.id).await;
        assert_eq!(sessions.len(), 1);
        assert!(sessions[0].revoked_at.is_none());
        assert_eq!(sessions[0].refresh_token_hash, sha256_hex(pair["refreshToken"].as_str().unwrap()));

        // A login and a refresh share the limit: the refresh is refused and
        // its token left as it was.
        let second = app.login(&nurse.email, STAFF_PASSWORD).await;
        let both = "mutation($e: String!, $p: String!, $t: String!) {
            login(email: $e, password: $p) { accessToken }
            refreshSession(refreshToken: $t) { accessToken }
        }";
        let reply = app
            .graphql(None, both, json!({ "e": nurse.email, "p": STAFF_PASSWORD, "t": second.refresh_token }))
            .await;
        assert_eq!(reply.codes(), ["BAD_USER_INPUT"], "{}", reply.text);
        assert!(reply.data()["login"]["accessToken"].is_string(), "{}", reply.text);
        assert_eq!(sessions_of(&app, &nurse.id).await.len(), 3, "one login, no rotation");
        app.graphql(None, REFRESH, json!({ "t": second.refresh_token })).await.ok();
    }

    async fn internal_errors_reach_the_client_only_as_a_fixed_message(app) {
        let admin = app.login_admin().await;
        let doctor = app.user("DOCTOR", "Ina Ternal").await;
        let nurse = app.user("NURSE", "Nia Ternal").await;
        let patient = app.patient(&doctor, "Mask", "Ed").await;
        app.assign(&doctor, &patient, &nurse).await;
        // A stored value the server cannot read.
        user::Entity::update_many()
            .col_expr(user::Column::Role, Expr::value("SURGEON_OF_THE_NIGHT"))
            .filter(user::Column::Id.eq(uuid(&doctor.id)))
            .exec(&app.db)
            .await
            .unwrap();
        let users = app.as_user(&admin, "{ users { id role } }", json!({})).await;
        assert_internal_and_masked(&users, &["SURGEON_OF_THE_NIGHT", "stored role", "unknown"]);
        // A table the query needs, gone.
        app.db.execute_unprepared("DROP TABLE care_assignments").await.unwrap();
        let patients = app.as_user(&nurse, "{ patients { nodes { id } } }", json!({})).await;
        assert_internal_and_masked(&patients, &["care_assignment", "no such table", "does not exist", "relation"]);
        assert_eq!(app.get("/healthz").await.status(), 200);
    }

    async fn aliases_and_fragments_do_not_reveal_a_denied_field(app) {
        let doctor = app.user("DOCTOR", "Fra Gment").await;
        let nurse = app.user("NURSE", "Ali Ase").await;
        let id = app.patient(&doctor, "Frieda", "Fragments").await;
        app.assign(&doctor, &id, &nurse).await;
        let query = "query($id: ID!) {
            patient(id: $id) {
                name: givenName
                secret: nationalId
                ...Identifiers
                ... on Patient { inline: nationalId }
            }
        }
        fragment Identifiers on Patient { fromFragment: nationalId nationalId }";
        let reply = app.as_user(&nurse, query, json!({ "id": id })).await;
        let patient = &reply.data()["patient"];
        assert_eq!(patient["name"], "Frieda", "{}", reply.text);
        let mut paths: Vec<String> = Vec::new();
        for error in reply.errors() {
            assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{}", reply.text);
            paths.push(error["path"].to_string());
        }
        paths.sort();
        let mut expected: Vec<String> = Vec::new();
        for key in ["secret", "fromFragment", "nationalId", "inline"] {
            assert!(patient.get(key).is_some(), "key {key} missing: {}", reply.text);
            assert!(patient[key].is_null(), "{key} leaked: {}", reply.text);
            expected.push(json!(["patient", key]).to_string());
        }
        expected.sort();
        assert_eq!(paths, expected, "{}", reply.text);
        assert!(!reply.text.contains("NID-"), "the value leaked: {}", reply.text);
    }

    async fn two_admins_removing_each_other_at_once_leave_one_active_admin(app) {
        let admin = app.login_admin().await;
        let approver = app.login_approver().await;
        // A pending administrator (not enrolled) and a deactivated one: neither
        // counts as an active administrator.
        app.request_account("pending.admin@clinic.test", "Pending Admin", "ADMIN").await;
        let former = app.user("ADMIN", "Former Admin").await;
        app.as_user(&admin, "mutation($u: ID!) { deactivateUser(id: $u) { active } }", json!({ "u": former.id }))
            .await
            .ok();
        assert_eq!(active_admins(&app).await, 2);

        // Hold the two administrators' rows so that both requests are past
        // authentication and wait at the same point, then let them go.
        let hold = app.db.begin().await.unwrap();
        let backend = app.db.get_database_backend();
        let held = match backend {
            DatabaseBackend::Postgres => format!(
                "SELECT id FROM users WHERE id IN ('{}', '{}') FOR UPDATE",
                admin.id, approver.id
            ),
            _ => format!("UPDATE users SET name = name WHERE id IN ('{}', '{}')", admin.id, approver.id),
        };
        hold.execute_unprepared(&held).await.unwrap();
        let release = async {
            if backend == DatabaseBackend::Postgres {
                for _ in 0..200 {
                    let row = app
                        .db
                        .query_one_raw(Statement::from_string(
                            backend,
                            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
                        ))
                        .await
                        .unwrap()
                        .unwrap();
                    if row.try_get::<i64>("", "n").unwrap() >= 2 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            } else {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            hold.commit().await.unwrap();
        };
        let (deleted, deactivated, ()) = tokio::join!(
            app.as_user(&admin, "mutation($u: ID!) { deleteUser(id: $u) }", json!({ "u": approver.id })),
            app.as_user(&approver, "mutation($u: ID!) { deactivateUser(id: $u) { active } }", json!({ "u": admin.id })),
            release,
        );
        let replies = [&deleted, &deactivated];
        let refused: Vec<&&Reply> = replies.iter().filter(|r| !r.errors().is_empty()).collect();
        assert_eq!(refused.len(), 1, "exactly one must be refused: {} / {}", deleted.text, deactivated.text);
        refused[0].assert_code("BAD_USER_INPUT");
        assert!(refused[0].text.contains("last active administrator"), "{}", refused[0].text);
        assert_eq!(active_admins(&app).await, 1);
    }
}

/// Writes the head of a POST and then the body either not at all or a byte
/// every 200 ms; returns what the server answered and whether it answered
/// (or hung up) within `wait`.
async fn slow_post(app: &TestApp, trickle: bool, wait: Duration) -> (bool, String) {
    let address = app.address.trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
    );
    write.write_all(head.as_bytes()).await.unwrap();
    let writer = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if trickle && write.write_all(b" ").await.is_err() {
                break;
            }
        }
    });
    let mut answer = Vec::new();
    let finished = tokio::time::timeout(wait, async {
        let mut buffer = [0u8; 1024];
        loop {
            match read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
            if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    })
    .await
    .is_ok();
    writer.abort();
    (finished, String::from_utf8_lossy(&answer).into_owned())
}

on_both_databases! {
    configure = |config| config.body_read_timeout = Duration::from_secs(1);

    async fn a_body_that_arrives_too_slowly_is_cut_off(app) {
        // Well under the ten-second default, well over the one configured.
        let wait = Duration::from_secs(8);
        let ((stalled, stalled_answer), (trickled, trickled_answer)) =
            tokio::join!(slow_post(&app, false, wait), slow_post(&app, true, wait));
        assert!(stalled, "the server still waits for a body that never comes");
        assert!(trickled, "the server still reads a body that trickles in");
        for answer in [&stalled_answer, &trickled_answer] {
            assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        }
        app.login_admin().await;
    }
}

on_both_databases! {
    configure = |config| config.execution_timeout = Duration::from_secs(1);

    async fn an_operation_that_runs_too_long_is_stopped(app) {
        let doctor = app.user("DOCTOR", "Lon Grun").await;
        let nurse = app.user("NURSE", "Sloe Query").await;
        let id = app.patient(&doctor, "Wait", "Long").await;
        app.assign(&doctor, &id, &nurse).await;
        // The test holds the lock the write needs, so the operation cannot finish.
        let hold = app.db.begin().await.unwrap();
        let held = match app.db.get_database_backend() {
            DatabaseBackend::Postgres => "LOCK TABLE observations IN EXCLUSIVE MODE".to_owned(),
            _ => format!("UPDATE users SET name = name WHERE id = '{}'", nurse.id),
        };
        hold.execute_unprepared(&held).await.unwrap();
        let reply = tokio::time::timeout(Duration::from_secs(20), app.record_vital(&nurse, &id, "HEART_RATE", 70.0))
            .await
            .expect("the server gives up on the operation");
        hold.rollback().await.unwrap();
        assert_eq!(reply.status, 503, "{}", reply.text);
        reply.assert_code("QUERY_TOO_COMPLEX");
        assert!(reply.data().is_null(), "{}", reply.text);
        app.as_user(&nurse, ME, json!({})).await.ok();
    }
}

/// PostgreSQL only: a SQLite file cannot be taken away from a server that
/// has it open (its connections keep the file, and `ping` runs no SQL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_while_the_database_refuses_connections_and_health_does_not() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    assert_eq!(app.get("/readyz").await.status(), 200);
    let name: String = app
        .db
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT current_database() AS name",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "name")
        .unwrap();
    let server = Database::connect(caregraph_tests::postgres_admin_url())
        .await
        .unwrap();
    server
        .execute_unprepared(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"))
        .await
        .unwrap();
    server
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .await
        .unwrap();
    let ready = tokio::time::timeout(Duration::from_secs(30), app.get("/readyz"))
        .await
        .expect("readiness answers");
    assert_eq!(app.get("/healthz").await.status(), 200);
    server
        .execute_unprepared(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    assert!(
        !ready.status().is_success(),
        "ready without a database: {}",
        ready.status()
    );
    assert_eq!(ready.status(), 503);
    assert_eq!(
        app.get("/readyz").await.status(),
        200,
        "readiness comes back with the database"
    );
}
