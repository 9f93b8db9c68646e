//! The audit trail read back: a patient's accounting of disclosures
//! (`myAccessLog`) and the compliance console (`auditEvents`,
//! `accessReview`, `exportAuditEvents`). Break-glass cannot be opened
//! through the API yet: its events are appended through the audit writer,
//! properly chained, as the server will record them.

use caregraph::audit::{self, Audit, AuditAction, AuditEvent, Detail, Outcome};
use caregraph::policy::{FieldClass, Role};
use caregraph_entity::audit_event;
use caregraph_tests::{Reply, STAFF_PASSWORD, Session, TestApp, on_both_databases};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

const LOG: &str = "query($first: Int, $after: String) {
    myAccessLog(first: $first, after: $after) {
        edges { cursor node { id at actorName actorRole action fieldClasses purpose underBreakGlass } }
        pageInfo { hasNextPage endCursor }
    }
}";

const SEARCH: &str = "query($f: AuditEventFilter, $first: Int, $after: String) {
    auditEvents(filter: $f, first: $first, after: $after) {
        edges { cursor node { seq id at actorId actorRole action outcome patientIds fieldClasses purpose grantNo requestId operationName clientAddr detail } }
        pageInfo { hasNextPage endCursor }
    }
}";

const REVIEW: &str =
    "{ accessReview { userId name role active lastLoginAt dormant privileged breakGlassCount } }";

const EXPORT: &str =
    "mutation($f: AuditEventFilter) { exportAuditEvents(filter: $f) { csv rows throughSeq } }";

async fn trail(app: &TestApp) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .order_by_asc(audit_event::Column::Seq)
        .all(&app.db)
        .await
        .expect("the test reads the trail")
}

fn named(event: &audit_event::Model) -> Vec<String> {
    serde_json::from_str(&event.patient_ids).expect("a JSON array of ids")
}

fn uuid(id: &str) -> Uuid {
    Uuid::parse_str(id).unwrap()
}

fn nodes(reply: &Reply, field: &str) -> Vec<Value> {
    reply.ok()[field]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// A patient with a PATIENT account, and the session of that account.
async fn patient_with_account(
    app: &TestApp,
    doctor: &Session,
    given: &str,
    family: &str,
) -> (String, Session) {
    let id = app.patient(doctor, given, family).await;
    let account = app.patient_account(&id, &format!("NID-{given}-{family}")).await;
    (id, account)
}

/// What the server will record when `who` breaks glass on `patient` and
/// reads under it: the BREAK_GLASS event, then a READ under EMERGENCY.
fn break_glass(who: &Session, role: Role, patient: &str) -> Vec<AuditEvent> {
    let (actor, patient) = (uuid(&who.id), uuid(patient));
    vec![
        AuditEvent::new(AuditAction::BreakGlass, Outcome::Success)
            .actor(actor, Some(role))
            .patients([patient])
            .detail(Detail::new().code("grant", "break-glass")),
        AuditEvent::new(AuditAction::Read, Outcome::Allowed)
            .actor(actor, Some(role))
            .patients([patient])
            .classes([FieldClass::Clinical])
            .purpose(audit::Purpose::Emergency),
    ]
}

async fn verified(app: &TestApp) {
    let verified = audit::verify(&app.db, None)
        .await
        .expect("the trail still verifies");
    assert_eq!(verified.head.count, trail(app).await.len() as i64);
}

on_both_databases! {
    async fn a_patient_reads_who_accessed_their_record_and_nothing_else(app) {
        let doctor = app.user("DOCTOR", "Dora Doctor").await;
        let nurse = app.user("NURSE", "Nils Nurse").await;
        let (lopez, maria) = patient_with_account(&app, &doctor, "Maria", "Lopez").await;
        let (other, other_account) = patient_with_account(&app, &doctor, "Otto", "Other").await;
        app.assign(&doctor, &lopez, &nurse).await;
        app.assign(&doctor, &other, &nurse).await;

        // The nurse reads Maria's vitals and contact data; the doctor
        // records a vital; both read the other patient too.
        app.as_user(&nurse, "query($p: ID!) { patient(id: $p) { phone observations { id } } }", json!({ "p": lopez })).await.ok();
        app.record_vital(&doctor, &lopez, "HEART_RATE", 70.0).await.ok();
        app.as_user(&nurse, "query($p: ID!) { patient(id: $p) { phone } }", json!({ "p": other })).await.ok();
        // Maria reads her own record, which is no disclosure.
        app.as_user(&maria, "query($p: ID!) { patient(id: $p) { phone diagnoses { id } } }", json!({ "p": lopez })).await.ok();
        // An emergency opening of her record, as break-glass will record it.
        Audit::start(app.db.clone()).record(break_glass(&nurse, Role::Nurse, &lopez)).await.unwrap();

        let reply = app.as_user(&maria, LOG, json!({ "first": 100 })).await;
        let entries = nodes(&reply, "myAccessLog");
        assert!(!reply.text.contains(&nurse.email) && !reply.text.contains(&doctor.email), "no contact data of staff: {}", reply.text);

        // Every entry is about her record, by someone else, allowed.
        let events = trail(&app).await;
        let event_of = |id: &Value| events.iter().find(|e| e.id.to_string() == id.as_str().unwrap()).expect("an entry is an event");
        for entry in &entries {
            let event = event_of(&entry["id"]);
            assert!(named(event).contains(&lopez), "an entry about another record: {entry}");
            assert_ne!(event.actor_id.map(|a| a.to_string()), Some(maria.id.clone()), "her own access listed: {entry}");
            assert!(["ALLOWED", "SUCCESS"].contains(&event.outcome.as_str()), "{entry}");
            assert_ne!(entry["actorRole"], "PATIENT");
        }
        // Newest first.
        let seqs: Vec<i64> = entries.iter().map(|e| event_of(&e["id"]).seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] > w[1]), "not newest first: {seqs:?}");

        // The nurse's read: who, what and why.
        let nurse_read = entries
            .iter()
            .find(|e| e["actorName"] == "Nils Nurse" && e["action"] == "READ" && e["purpose"] == "TREATMENT")
            .unwrap_or_else(|| panic!("the nurse's read is listed: {}", reply.text));
        assert_eq!(nurse_read["actorRole"], "NURSE");
        assert_eq!(nurse_read["underBreakGlass"], false);
        let classes = nurse_read["fieldClasses"].as_array().unwrap();
        assert!(classes.contains(&json!("VITALS")) && classes.contains(&json!("CONTACT")), "{nurse_read}");
        // The doctor's vital sign (a new record in her chart: CREATE).
        assert!(entries.iter().filter(|e| e["actorName"] == "Dora Doctor" && e["actorRole"] == "DOCTOR" && e["action"] == "CREATE").count() >= 2, "registration and the vital sign: {}", reply.text);
        // The emergency: the opening and the read under it.
        let emergency: Vec<&Value> = entries.iter().filter(|e| e["underBreakGlass"] == true).collect();
        assert_eq!(emergency.len(), 2, "{}", reply.text);
        assert!(emergency.iter().any(|e| e["action"] == "BREAK_GLASS"));
        assert!(emergency.iter().any(|e| e["action"] == "READ" && e["purpose"] == "EMERGENCY" && e["fieldClasses"] == json!(["CLINICAL"])));

        // Pages of two give the same entries, in the same order.
        let mut paged = Vec::new();
        let mut after = Value::Null;
        loop {
            let page = app.as_user(&maria, LOG, json!({ "first": 2, "after": after })).await;
            paged.extend(nodes(&page, "myAccessLog"));
            let info = &page.ok()["myAccessLog"]["pageInfo"];
            if info["hasNextPage"] == false {
                break;
            }
            after = info["endCursor"].clone();
        }
        assert_eq!(paged, entries);
        app.as_user(&maria, LOG, json!({ "after": "garbage" })).await.assert_code("BAD_USER_INPUT");

        // The other patient sees the nurse's read of their record, and
        // nothing of Maria's.
        let theirs = app.as_user(&other_account, LOG, json!({})).await;
        for entry in nodes(&theirs, "myAccessLog") {
            assert!(named(event_of(&entry["id"])).contains(&other), "{entry}");
            assert!(!named(event_of(&entry["id"])).contains(&lopez), "{entry}");
        }
        assert!(theirs.text.contains("Nils Nurse"));

        // Reading the log is itself a READ of ACCESS_LOG, by Maria.
        let looked = trail(&app).await.into_iter().filter(|e| e.actor_id == Some(uuid(&maria.id)) && e.field_classes.contains("ACCESS_LOG")).count();
        assert!(looked >= 1);

        // Nobody else has an access log, or the console.
        for who in [&doctor, &nurse, &app.login_admin().await] {
            app.as_user(who, LOG, json!({})).await.assert_code("FORBIDDEN");
        }
        app.as_user(&maria, SEARCH, json!({})).await.assert_code("FORBIDDEN");
        app.as_user(&maria, REVIEW, json!({})).await.assert_code("FORBIDDEN");
        app.as_user(&maria, EXPORT, json!({})).await.assert_code("FORBIDDEN");
        verified(&app).await;
    }

    async fn the_compliance_officer_searches_reviews_and_exports_the_trail(app) {
        let officer = app.user("COMPLIANCE_OFFICER", "Cora Compliance").await;
        let doctor = app.user("DOCTOR", "Dora Doctor").await;
        let nurse = app.user("NURSE", "Nils Nurse").await;
        let (lopez, maria) = patient_with_account(&app, &doctor, "Maria", "Lopez").await;
        let other = app.patient(&doctor, "Otto", "Other").await;
        app.assign(&doctor, &lopez, &nurse).await;
        let window_start = chrono::Utc::now();
        app.as_user(&nurse, "query($p: ID!) { patient(id: $p) { observations { id } } }", json!({ "p": lopez })).await.ok();
        // A patient not in her care: READ NOT_FOUND.
        app.as_user(&nurse, "query($p: ID!) { patient(id: $p) { id } }", json!({ "p": other })).await;
        let window_end = chrono::Utc::now();
        let audit = Audit::start(app.db.clone());
        for _ in 0..2 {
            audit.record(break_glass(&doctor, Role::Doctor, &other)).await.unwrap();
        }
        // A refused break-glass does not count.
        audit.record_one(AuditEvent::new(AuditAction::BreakGlass, Outcome::Failure).actor(uuid(&doctor.id), Some(Role::Doctor)).patients([uuid(&other)])).await.unwrap();
        // An event whose operation name a spreadsheet would run (the server
        // keeps only GraphQL names, so it can only come from elsewhere).
        let mut odd = AuditEvent::new(AuditAction::Read, Outcome::Denied).actor(uuid(&nurse.id), Some(Role::Nurse)).patients([uuid(&other)]).classes([FieldClass::Billing]);
        odd.operation_name = Some("=HYPERLINK(\"http://x\",\"a, b\")".to_owned());
        audit.record_one(odd).await.unwrap();

        // By patient: every event names Lopez, in chain order.
        let stored: Vec<i64> = trail(&app).await.iter().filter(|e| named(e).contains(&lopez)).map(|e| e.seq).collect();
        let by_patient = app.as_user(&officer, SEARCH, json!({ "f": { "patientId": lopez }, "first": 100 })).await;
        let found = nodes(&by_patient, "auditEvents");
        assert!(!found.is_empty());
        assert!(found.iter().all(|e| e["patientIds"].as_array().unwrap().contains(&json!(lopez))), "{}", by_patient.text);
        let seqs: Vec<i64> = found.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(seqs, stored, "every event naming the patient, and only those");

        // By actor, action and outcome.
        let reads = app.as_user(&officer, SEARCH, json!({ "f": { "actorId": nurse.id, "action": "READ", "outcome": "ALLOWED" }, "first": 100 })).await;
        let reads = nodes(&reads, "auditEvents");
        assert!(!reads.is_empty());
        for e in &reads {
            assert_eq!((e["actorId"].as_str(), e["actorRole"].as_str(), e["action"].as_str(), e["outcome"].as_str()), (Some(nurse.id.as_str()), Some("NURSE"), Some("READ"), Some("ALLOWED")));
            assert_eq!(e["purpose"], "TREATMENT");
            assert!(e["grantNo"].is_i64() && e["requestId"].is_string() && e["clientAddr"].is_string(), "{e}");
            assert!(e["detail"].as_str().unwrap().starts_with('{'));
        }
        let vitals = reads.iter().find(|e| e["fieldClasses"].as_array().unwrap().contains(&json!("VITALS"))).expect("the nurse's read of vitals");
        assert_eq!(vitals["patientIds"], json!([lopez]));
        let denied = app.as_user(&officer, SEARCH, json!({ "f": { "actorId": nurse.id, "outcome": "NOT_FOUND" } })).await;
        assert!(nodes(&denied, "auditEvents").iter().any(|e| e["patientIds"] == json!([other])), "the nurse's look at a patient not hers: {}", denied.text);

        // By time: only what happened in the window.
        let windowed = app.as_user(&officer, SEARCH, json!({ "f": { "from": window_start.to_rfc3339(), "to": window_end.to_rfc3339() }, "first": 100 })).await;
        let windowed = nodes(&windowed, "auditEvents");
        assert!(!windowed.is_empty());
        for e in &windowed {
            let at: chrono::DateTime<chrono::Utc> = e["at"].as_str().unwrap().parse().unwrap();
            assert!(at >= window_start && at <= window_end, "{e}");
        }
        assert!(windowed.iter().all(|e| e["action"] != "BREAK_GLASS"));

        // Pages of three, by cursor, are the whole trail in order.
        let mut paged = Vec::new();
        let mut after = Value::Null;
        loop {
            let page = app.as_user(&officer, SEARCH, json!({ "f": { "patientId": lopez }, "first": 3, "after": after })).await;
            paged.extend(nodes(&page, "auditEvents").into_iter().map(|e| e["seq"].as_i64().unwrap()));
            let info = &page.ok()["auditEvents"]["pageInfo"];
            if info["hasNextPage"] == false {
                break;
            }
            after = info["endCursor"].clone();
        }
        // The searches since name the patient too, and come after.
        assert_eq!(paged[..seqs.len()], seqs[..]);
        assert!(paged.windows(2).all(|w| w[0] < w[1]), "{paged:?}");

        // Bad filters.
        for bad in [
            json!({ "action": "PEEK" }),
            json!({ "outcome": "MAYBE" }),
            json!({ "from": window_end.to_rfc3339(), "to": window_start.to_rfc3339() }),
            json!({ "patientId": "not-an-id" }),
        ] {
            app.as_user(&officer, SEARCH, json!({ "f": bad })).await.assert_code("BAD_USER_INPUT");
        }
        app.as_user(&officer, SEARCH, json!({ "after": "garbage" })).await.assert_code("BAD_USER_INPUT");

        // Each search is an AUDIT_SEARCH event by the officer.
        let searches: Vec<audit_event::Model> = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("AUDIT_SEARCH"))
            .filter(audit_event::Column::ActorId.eq(uuid(&officer.id)))
            .all(&app.db).await.unwrap();
        assert!(searches.iter().any(|e| named(e) == [lopez.clone()] && e.detail.contains("\"view\":\"auditEvents\"")), "{searches:?}");
        assert!(searches.iter().any(|e| e.detail.contains(&nurse.id) && e.detail.contains("\"action\":\"READ\"")));

        // The access review: every account, aggregated.
        // An account enrolled but never used.
        let (quiet, first_half) = app.request_account("quiet.person@clinic.test", "Quiet Person", "BILLING").await;
        let second_half = app.approve(&app.login_approver().await, &quiet).await;
        app.enrol(&format!("{first_half}{second_half}"), None, STAFF_PASSWORD).await.ok();
        let never = app.as_user(&officer, REVIEW, json!({})).await;
        let never = never.ok()["accessReview"].as_array().unwrap().iter().find(|a| a["userId"] == quiet).expect("the quiet account is reviewed").clone();
        assert_eq!((never["dormant"].as_bool(), never["lastLoginAt"].is_null(), never["privileged"].as_bool()), (Some(true), true, Some(true)), "{never}");
        // A login long ago leaves it dormant.
        let mut old_login = AuditEvent::new(AuditAction::Login, Outcome::Success).actor(uuid(&quiet), Some(Role::Billing));
        old_login.at -= chrono::Duration::days(100);
        audit.record_one(old_login.clone()).await.unwrap();
        let review = app.as_user(&officer, REVIEW, json!({})).await;
        let accounts = review.ok()["accessReview"].as_array().unwrap().clone();
        let account = |id: &str| accounts.iter().find(|a| a["userId"] == id).unwrap_or_else(|| panic!("{id} is reviewed: {}", review.text)).clone();
        let n = account(&nurse.id);
        assert_eq!((n["role"].as_str(), n["active"].as_bool(), n["dormant"].as_bool(), n["privileged"].as_bool(), n["breakGlassCount"].as_i64()), (Some("NURSE"), Some(true), Some(false), Some(false), Some(0)));
        assert!(n["lastLoginAt"].is_string());
        let d = account(&doctor.id);
        assert_eq!((d["breakGlassCount"].as_i64(), d["privileged"].as_bool(), d["dormant"].as_bool()), (Some(2), Some(false), Some(false)));
        let o = account(&officer.id);
        assert_eq!((o["role"].as_str(), o["privileged"].as_bool()), (Some("COMPLIANCE_OFFICER"), Some(true)));
        let m = account(&maria.id);
        assert_eq!((m["role"].as_str(), m["privileged"].as_bool(), m["dormant"].as_bool()), (Some("PATIENT"), Some(false), Some(false)));
        let p = account(&quiet);
        assert_eq!((p["dormant"].as_bool(), p["privileged"].as_bool()), (Some(true), Some(true)), "{p}");
        let last: chrono::DateTime<chrono::Utc> = p["lastLoginAt"].as_str().unwrap().parse().unwrap();
        assert_eq!(last, old_login.at);
        let admin = app.login_admin().await;
        assert_eq!(account(&admin.id)["privileged"], true);
        assert!(!review.text.contains("@clinic.test"), "no e-mail addresses in the review");

        // The export: CSV of the filtered events, recorded as EXPORT.
        let before = trail(&app).await.len() as i64;
        let export = app.as_user(&officer, EXPORT, json!({ "f": { "actorId": nurse.id } })).await;
        let export = &export.ok()["exportAuditEvents"];
        assert_eq!(export["throughSeq"].as_i64(), Some(before));
        let csv = export["csv"].as_str().unwrap();
        let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines[0], "seq,id,at,actor_id,actor_role,action,outcome,patient_ids,field_classes,purpose,grant_no,request_id,operation_name,client_addr,detail,hash");
        let nurse_events: Vec<audit_event::Model> = trail(&app).await.into_iter().filter(|e| e.actor_id == Some(uuid(&nurse.id)) && e.seq <= before).collect();
        assert_eq!(export["rows"].as_i64(), Some(nurse_events.len() as i64));
        assert_eq!(lines.len(), nurse_events.len() + 1);
        for (line, event) in lines[1..].iter().zip(&nurse_events) {
            assert!(line.starts_with(&format!("{},{},", event.seq, event.id)), "{line}");
            assert!(line.ends_with(&event.hash), "{line}");
        }
        // RFC 4180 quoting, and no formula.
        assert!(csv.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"a, b\"\")\""), "{csv}");
        assert!(csv.contains(r#""{""#), "detail JSON is quoted: {csv}");
        let exports: Vec<audit_event::Model> = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("EXPORT"))
            .all(&app.db).await.unwrap();
        assert_eq!(exports.len(), 1);
        assert_eq!(exports[0].actor_id, Some(uuid(&officer.id)));
        assert!(exports[0].seq > before);
        assert!(exports[0].detail.contains(&format!("\"rows\":{}", nurse_events.len())) && exports[0].detail.contains(&format!("\"throughSeq\":{before}")), "{}", exports[0].detail);
        app.as_user(&officer, EXPORT, json!({ "f": { "action": "nope" } })).await.assert_code("BAD_USER_INPUT");

        // Nobody else: FORBIDDEN, and no EXPORT recorded.
        for who in [&doctor, &nurse, &admin, &maria] {
            for query in [SEARCH, REVIEW, EXPORT] {
                let reply = app.as_user(who, query, json!({})).await;
                reply.assert_code("FORBIDDEN");
                assert_eq!(reply.data(), &Value::Null);
            }
        }
        let exports = audit_event::Entity::find().filter(audit_event::Column::Action.eq("EXPORT")).all(&app.db).await.unwrap();
        assert_eq!(exports.len(), 1);
        verified(&app).await;
    }

    async fn the_access_review_costs_the_same_for_more_accounts(app) {
        let officer = app.user("COMPLIANCE_OFFICER", "Cora Compliance").await;
        let statements = || async {
            let fresh = app.login(&officer.email, STAFF_PASSWORD).await;
            let before = app.statements.get();
            let reply = app.as_user(&fresh, REVIEW, json!({})).await;
            let after = app.statements.get();
            (after - before, reply.ok()["accessReview"].as_array().unwrap().len())
        };
        let (few, accounts) = statements().await;
        let audit = Audit::start(app.db.clone());
        for n in 0..3 {
            let nurse = app.user("NURSE", &format!("Extra Nurse {n}")).await;
            audit.record(break_glass(&nurse, Role::Nurse, &Uuid::new_v4().to_string())).await.unwrap();
        }
        let (more, more_accounts) = statements().await;
        assert!(more_accounts > accounts);
        assert_eq!(few, more, "accessReview runs a statement per account");
    }
}
