//! The audit trail: what the server records around logins and tokens, and
//! that the chain shows every edit, deletion, reordering and cut made
//! directly in the database (`audit::verify` is what `caregraph audit
//! verify` runs; `api/tests/audit_cli.rs` runs the binary itself).

use caregraph::audit::{self, Audit, AuditAction, AuditEvent, AuditKey, Detail, Outcome, VerifyError};
use caregraph::policy::{FieldClass, Role};
use caregraph_entity::{audit_event, audit_event_patient, audit_head};
use caregraph_tests::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, on_both_databases};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseBackend, DatabaseConnection, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

const ME: &str = "{ me { id } }";
const REFRESH: &str =
    "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }";

async fn trail(db: &DatabaseConnection) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .order_by_asc(audit_event::Column::Seq)
        .all(db)
        .await
        .expect("the test reads the trail")
}

/// `None` when the chain verifies; the first broken seq otherwise.
async fn broken_at(db: &DatabaseConnection) -> Option<i64> {
    match audit::verify(db, None).await {
        Ok(verified) => {
            assert_eq!(verified.head.count, trail(db).await.len() as i64);
            None
        }
        Err(VerifyError::Broken { seq, .. }) => Some(seq),
        Err(other) => panic!("verification did not run: {other}"),
    }
}

fn key(byte: u8) -> AuditKey {
    AuditKey::new(vec![byte; 32]).expect("32 bytes")
}

/// A few events of different kinds through the API.
async fn some_events(app: &TestApp, failed: usize) {
    app.login_admin().await;
    for _ in 0..failed {
        app.try_login(ADMIN_EMAIL, "not the admin password at all")
            .await
            .assert_code("UNAUTHENTICATED");
    }
    app.graphql(Some("not.a.token"), ME, json!({}))
        .await
        .assert_code("UNAUTHENTICATED");
}

async fn set_outcome(db: &DatabaseConnection, seq: i64, outcome: &str) {
    audit_event::Entity::update_many()
        .col_expr(audit_event::Column::Outcome, Expr::value(outcome))
        .filter(audit_event::Column::Seq.eq(seq))
        .exec(db)
        .await
        .unwrap();
}

async fn move_seq(db: &DatabaseConnection, from: i64, to: i64) {
    audit_event::Entity::update_many()
        .col_expr(audit_event::Column::Seq, Expr::value(to))
        .filter(audit_event::Column::Seq.eq(from))
        .exec(db)
        .await
        .unwrap();
}

async fn swap(db: &DatabaseConnection, a: i64, b: i64) {
    move_seq(db, a, -1).await;
    move_seq(db, b, a).await;
    move_seq(db, -1, b).await;
}

async fn delete(db: &DatabaseConnection, seq: i64) -> audit_event::Model {
    let row = audit_event::Entity::find_by_id(seq)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    audit_event::Entity::delete_by_id(seq).exec(db).await.unwrap();
    row
}

async fn restore(db: &DatabaseConnection, row: audit_event::Model) {
    let row = sea_orm::ActiveModelTrait::reset_all(row.into_active_model());
    audit_event::Entity::insert(row)
        .exec_without_returning(db)
        .await
        .unwrap();
}

/// Cuts the last `n` events and moves the head back, as someone who knows
/// how the chain works would: the chain alone still verifies.
async fn cut_tail_carefully(db: &DatabaseConnection, n: usize) {
    let rows = trail(db).await;
    let keep = rows.len() - n;
    for row in &rows[keep..] {
        audit_event::Entity::delete_by_id(row.seq).exec(db).await.unwrap();
    }
    let (count, hash) = match keep {
        0 => (0, "0".repeat(64)),
        k => (rows[k - 1].seq, rows[k - 1].hash.clone()),
    };
    audit_head::Entity::update_many()
        .col_expr(audit_head::Column::Count, Expr::value(count))
        .col_expr(audit_head::Column::Hash, Expr::value(hash))
        .exec(db)
        .await
        .unwrap();
}

on_both_databases! {
    async fn logins_failures_refreshes_logouts_and_refused_tokens_are_recorded(app) {
        assert!(trail(&app.db).await.is_empty(), "a new server records nothing by itself");
        let admin = app.login_admin().await;
        app.try_login(ADMIN_EMAIL, "not the admin password at all").await.assert_code("UNAUTHENTICATED");
        app.try_login("nobody.here@clinic.test", "whatever password this is").await.assert_code("UNAUTHENTICATED");
        let pair = app.graphql(None, REFRESH, json!({ "t": admin.refresh_token })).await;
        let token = pair.ok()["refreshSession"]["accessToken"].as_str().unwrap().to_owned();
        app.graphql(Some("not.a.token"), ME, json!({})).await.assert_code("UNAUTHENTICATED");
        app.graphql(Some(&token), "mutation { logout }", json!({})).await.ok();
        app.graphql(Some(&token), ME, json!({})).await.assert_code("UNAUTHENTICATED");

        let events = trail(&app.db).await;
        let summary: Vec<(&str, &str, Option<Uuid>)> = events
            .iter()
            .map(|e| (e.action.as_str(), e.outcome.as_str(), e.actor_id))
            .collect();
        let admin_id = Some(admin.id.parse::<Uuid>().unwrap());
        assert_eq!(
            summary,
            [
                ("LOGIN", "SUCCESS", admin_id),
                ("LOGIN_FAILED", "FAILURE", admin_id),
                ("LOGIN_FAILED", "FAILURE", None),
                ("REFRESH", "SUCCESS", admin_id),
                ("TOKEN_REFUSED", "FAILURE", None),
                ("LOGOUT", "SUCCESS", admin_id),
                ("TOKEN_REFUSED", "FAILURE", admin_id),
            ]
        );
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=7).collect::<Vec<_>>());
        for event in &events {
            assert_eq!(event.client_addr.as_deref(), Some("127.0.0.1"), "{event:?}");
            assert_eq!(event.patient_ids, "[]");
            assert_eq!(event.actor_role.is_some(), event.actor_id.is_some());
            assert!(event.request_id.is_some());
        }
        assert_eq!(events[0].actor_role.as_deref(), Some("ADMIN"));
        assert!(events[1].detail.contains("wrong_password"), "{}", events[1].detail);
        assert!(events[2].detail.contains("unknown_account"), "{}", events[2].detail);
        assert!(events[6].detail.contains("session_ended"), "{}", events[6].detail);
        // An unknown e-mail is not kept anywhere in the trail.
        let stored = serde_json::to_string(&events.iter().map(|e| json!([
            e.actor_role, e.action, e.outcome, e.patient_ids, e.field_classes, e.operation_name, e.client_addr, e.detail
        ])).collect::<Vec<_>>()).unwrap();
        assert!(!stored.contains("nobody"), "{stored}");
        assert_eq!(broken_at(&app.db).await, None);
    }

    async fn an_event_carries_its_request_id_and_operation_name(app) {
        let reply = app
            .client
            .post(format!("{}/graphql", app.address))
            .json(&json!({
                "query": "mutation SignIn($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
                "variables": { "e": ADMIN_EMAIL, "p": ADMIN_PASSWORD },
            }))
            .send()
            .await
            .unwrap();
        let request_id: Uuid = reply.headers()["x-request-id"].to_str().unwrap().parse().unwrap();
        assert!(reply.status().is_success());
        // The name given apart from the document wins.
        app.client
            .post(format!("{}/graphql", app.address))
            .json(&json!({
                "query": "mutation A { logout } mutation B { logout }",
                "operationName": "B",
            }))
            .bearer_auth("refused.token.here")
            .send()
            .await
            .unwrap();
        let events = trail(&app.db).await;
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].request_id, Some(request_id));
        assert_eq!(events[0].operation_name.as_deref(), Some("SignIn"));
        assert_eq!((events[1].action.as_str(), events[1].operation_name.as_deref()), ("TOKEN_REFUSED", Some("B")));
    }

    async fn verify_names_the_first_edited_deleted_or_reordered_event_and_passes_once_restored(app) {
        some_events(&app, 4).await;
        assert_eq!(trail(&app.db).await.len(), 6);
        assert_eq!(broken_at(&app.db).await, None);

        // Edited: the event's contents no longer match its hash.
        set_outcome(&app.db, 3, "SUCCESS").await;
        assert_eq!(broken_at(&app.db).await, Some(3));
        set_outcome(&app.db, 3, "FAILURE").await;
        assert_eq!(broken_at(&app.db).await, None);

        // Deleted.
        let row = delete(&app.db, 3).await;
        assert_eq!(broken_at(&app.db).await, Some(3));
        restore(&app.db, row).await;
        assert_eq!(broken_at(&app.db).await, None);

        // Re-ordered.
        swap(&app.db, 3, 4).await;
        assert_eq!(broken_at(&app.db).await, Some(3));
        swap(&app.db, 3, 4).await;
        assert_eq!(broken_at(&app.db).await, None);

        // The last event deleted: the head still counts it.
        let last = delete(&app.db, 6).await;
        assert_eq!(broken_at(&app.db).await, Some(6));
        restore(&app.db, last).await;
        assert_eq!(broken_at(&app.db).await, None);

        // The server goes on appending to the restored chain.
        some_events(&app, 1).await;
        assert_eq!(broken_at(&app.db).await, None);
    }

    async fn the_patient_index_must_match_the_events(app) {
        let audit = Audit::start(app.db.clone());
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let read = AuditEvent::new(AuditAction::Read, Outcome::Allowed)
            .actor(Uuid::new_v4(), Some(Role::Nurse))
            .patients([a, b, a])
            .classes([FieldClass::Vitals, FieldClass::Demographics])
            .purpose(audit::Purpose::Treatment)
            .grant(12);
        let write = AuditEvent::new(AuditAction::Write, Outcome::Success)
            .patients([b])
            .detail(Detail::new().names("changed", ["phone"]));
        audit.record(vec![read, write]).await.unwrap();
        let events = trail(&app.db).await;
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].patient_ids, json!([a, b, a]).to_string());
        assert_eq!(events[0].field_classes, r#"["VITALS","DEMOGRAPHICS"]"#);
        assert_eq!((events[0].purpose.as_deref(), events[0].grant_no), (Some("TREATMENT"), Some(12)));
        assert_eq!(events[1].detail, r#"{"changed":["phone"]}"#);
        // Searched by patient through the index (a GIN index over the
        // hashed column on PostgreSQL, the side table on SQLite).
        let naming = |patient| {
            audit_event::Entity::find()
                .filter(audit::names_patient(app.db.get_database_backend(), patient))
                .count(&app.db)
        };
        assert_eq!(naming(a).await.unwrap(), 1, "a patient named twice in one event is found once");
        assert_eq!(naming(b).await.unwrap(), 2);
        assert_eq!(naming(Uuid::new_v4()).await.unwrap(), 0);
        assert_eq!(broken_at(&app.db).await, None);

        if app.db.get_database_backend() == DatabaseBackend::Sqlite {
            let indexed = audit_event_patient::Entity::find()
                .filter(audit_event_patient::Column::PatientId.eq(a))
                .count(&app.db)
                .await
                .unwrap();
            assert_eq!(indexed, 1, "a patient named twice in one event is indexed once");
            // An index row removed hides an access from a search by patient.
            audit_event_patient::Entity::delete_many()
                .filter(audit_event_patient::Column::PatientId.eq(b))
                .filter(audit_event_patient::Column::EventSeq.eq(2))
                .exec(&app.db)
                .await
                .unwrap();
            assert_eq!(broken_at(&app.db).await, Some(2));
        }
    }

    async fn a_checkpoint_shows_a_cut_tail_and_a_rewritten_trail(app) {
        some_events(&app, 3).await;
        let checkpoint = audit::checkpoint(&app.db, &key(1)).await.unwrap();
        assert_eq!(checkpoint.count, 5);
        assert!(audit::verify(&app.db, Some((&checkpoint, &key(1)))).await.is_ok());
        // Another key: the checkpoint is worthless.
        let forged = audit::verify(&app.db, Some((&checkpoint, &key(2)))).await;
        assert!(matches!(forged, Err(VerifyError::Checkpoint(_))), "{forged:?}");

        // Events after the checkpoint are fine.
        some_events(&app, 1).await;
        assert!(audit::verify(&app.db, Some((&checkpoint, &key(1)))).await.is_ok());

        // The tail cut off, head moved back: the chain alone cannot tell...
        cut_tail_carefully(&app.db, 4).await;
        assert_eq!(broken_at(&app.db).await, None);
        // ...the checkpoint can.
        let cut = audit::verify(&app.db, Some((&checkpoint, &key(1)))).await;
        match cut {
            Err(VerifyError::Checkpoint(message)) => assert!(message.contains("cut short"), "{message}"),
            other => panic!("a cut tail verified against the checkpoint: {other:?}"),
        }

        // New events fill the gap: as many as before, but not the same ones.
        some_events(&app, 2).await;
        assert_eq!(broken_at(&app.db).await, None);
        let rewritten = audit::verify(&app.db, Some((&checkpoint, &key(1)))).await;
        match rewritten {
            Err(VerifyError::Checkpoint(message)) => assert!(message.contains("rewritten"), "{message}"),
            other => panic!("a rewritten trail verified against the checkpoint: {other:?}"),
        }
    }

    async fn two_writers_on_one_database_keep_one_chain_and_commit_in_groups(app) {
        // A second writer with a pool of its own, as a second server has.
        let (db, statements) = caregraph::db::connect(app.database_url()).await.unwrap();
        let second = Audit::start(db);
        let from_second = (0..200).map(|i| {
            let second = second.clone();
            async move {
                second
                    .record_one(AuditEvent::new(AuditAction::Read, Outcome::Allowed).detail(Detail::new().count("i", i)))
                    .await
            }
        });
        let from_server = (0..40).map(|_| async {
            app.graphql(Some("refused.token.value"), ME, json!({})).await.assert_code("UNAUTHENTICATED");
        });
        let (recorded, _) = futures_util::future::join(
            futures_util::future::join_all(from_second),
            futures_util::future::join_all(from_server),
        )
        .await;
        assert!(recorded.iter().all(Result::is_ok), "{recorded:?}");
        assert_eq!(trail(&app.db).await.len(), 240);
        assert_eq!(broken_at(&app.db).await, None);
        // One transaction per event would take at least four statements
        // each (lock, insert, move the head, commit).
        let sent = statements.get();
        assert!(sent < 200, "{sent} statements for 200 events: no group commit");
    }

    async fn a_write_and_its_events_commit_or_roll_back_together(app) {
        let audit = Audit::start(app.db.clone());
        let event = || AuditEvent::new(AuditAction::Write, Outcome::Success).patients([Uuid::new_v4()]);

        let txn = app.db.begin().await.unwrap();
        audit.record_in(&txn, vec![event(), event()]).await.unwrap();
        txn.rollback().await.unwrap();
        assert!(trail(&app.db).await.is_empty(), "a rolled-back write left events");
        if app.db.get_database_backend() == DatabaseBackend::Sqlite {
            assert_eq!(audit_event_patient::Entity::find().count(&app.db).await.unwrap(), 0);
        }

        // Committed while the group writer appends for other requests.
        let txn = app.db.begin().await.unwrap();
        audit.record_in(&txn, vec![event(), event()]).await.unwrap();
        let others = tokio::spawn({
            let audit = audit.clone();
            async move {
                futures_util::future::join_all((0..10).map(|_| audit.record_one(AuditEvent::new(AuditAction::Read, Outcome::Denied)))).await
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        txn.commit().await.unwrap();
        assert!(others.await.unwrap().iter().all(Result::is_ok));
        let events = trail(&app.db).await;
        assert_eq!(events.len(), 12);
        assert_eq!((events[0].action.as_str(), events[1].action.as_str()), ("WRITE", "WRITE"));
        assert_eq!(broken_at(&app.db).await, None);
    }
}

on_both_databases! {
    configure = |config| config.bench_audit_off = true;

    async fn the_bench_switch_records_nothing_and_says_so(app) {
        app.login_admin().await;
        app.graphql(Some("not.a.token"), ME, json!({})).await.assert_code("UNAUTHENTICATED");
        assert!(trail(&app.db).await.is_empty());
        assert!(app.logs().contains("AUDITING IS OFF"), "{}", app.logs());
    }
}

/// Eight wrong passwords at once for one account would start its back-off
/// (see `throttle`); this test is about the trail, not the throttle.
fn no_throttle(config: &mut caregraph::config::Config) {
    config.login_throttle.account_failures = 1000;
}

on_both_databases! {
    configure = no_throttle;

    async fn concurrent_logins_and_refusals_each_leave_one_event_in_one_chain(app) {
        let app = &app;
        let logins = (0..16).map(|i| async move {
            if i % 2 == 0 {
                app.try_login(ADMIN_EMAIL, ADMIN_PASSWORD).await.ok();
            } else {
                app.try_login(ADMIN_EMAIL, "wrong wrong wrong wrong").await.assert_code("UNAUTHENTICATED");
            }
        });
        let refusals = (0..48).map(|_| async {
            app.graphql(Some("refused.token.value"), ME, json!({})).await.assert_code("UNAUTHENTICATED");
        });
        futures_util::future::join(
            futures_util::future::join_all(logins),
            futures_util::future::join_all(refusals),
        )
        .await;
        let events = trail(&app.db).await;
        assert_eq!(events.len(), 64);
        let count = |action: &str| events.iter().filter(|e| e.action == action).count();
        assert_eq!((count("LOGIN"), count("LOGIN_FAILED"), count("TOKEN_REFUSED")), (8, 8, 48));
        let requests: std::collections::BTreeSet<_> = events.iter().map(|e| e.request_id).collect();
        assert_eq!(requests.len(), 64, "one event per request");
        assert_eq!(broken_at(&app.db).await, None);
    }
}
