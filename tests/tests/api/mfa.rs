//! The second factor (TOTP, RFC 6238) and step-up re-authentication. The
//! harness serves with no MFA roles (`CAREGRAPH_MFA_ROLES=`); these tests
//! set the roles and the step-up window they test.

use caregraph::auth::mfa::totp_code;
use caregraph::policy::Role;
use caregraph_entity::{audit_event, mfa_credential, mfa_recovery_code};
use caregraph_tests::{ADMIN_PASSWORD, STAFF_PASSWORD, Session, TestApp, on_both_databases};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

const ME: &str = "{ me { id role } }";
const START: &str = "mutation { startTotpEnrolment { secret provisioningUri } }";
const CONFIRM: &str = "mutation($c: String!) { confirmTotpEnrolment(code: $c) }";
const LOGIN: &str = "mutation($e: String!, $p: String!, $o: String) {
    login(email: $e, password: $p, otp: $o) { accessToken mfaEnrolmentRequired user { id } }
}";
const REAUTH: &str = "mutation($p: String!, $o: String) { reauthenticate(password: $p, otp: $o) }";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The code an authenticator app shows `offset` seconds from now.
fn code(secret: &str, offset: i64) -> String {
    totp_code(secret, now() + offset).expect("a base32 secret")
}

async fn login_with(app: &TestApp, email: &str, password: &str, otp: Option<&str>) -> caregraph_tests::Reply {
    app.graphql(None, LOGIN, json!({ "e": email, "p": password, "o": otp }))
        .await
}

/// Sets up TOTP for `who` through the API: the secret and the recovery codes.
async fn enrol(app: &TestApp, who: &Session) -> (String, Vec<String>, String) {
    let started = app.as_user(who, START, json!({})).await;
    let secret = started.ok()["startTotpEnrolment"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let used = code(&secret, 0);
    let confirmed = app.as_user(who, CONFIRM, json!({ "c": used })).await;
    let codes = confirmed.ok()["confirmTotpEnrolment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes, used)
}

async fn events(app: &TestApp, actor: &str, action: &str) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::ActorId.eq(uuid::Uuid::parse_str(actor).unwrap()))
        .filter(audit_event::Column::Action.eq(action))
        .order_by_asc(audit_event::Column::Seq)
        .all(&app.db)
        .await
        .unwrap()
}

fn reasons(events: &[audit_event::Model]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let detail: Value = serde_json::from_str(&e.detail).unwrap();
            detail["reason"].as_str().unwrap_or("").to_owned()
        })
        .collect()
}

on_both_databases! {
    configure = |c| c.mfa_roles = vec![Role::Nurse];

    async fn a_role_that_must_use_mfa_may_only_enrol_until_it_has(app) {
        let nurse = app.user("NURSE", "Nia Factor").await;
        let first = login_with(&app, &nurse.email, STAFF_PASSWORD, None).await;
        assert_eq!(first.ok()["login"]["mfaEnrolmentRequired"], true);
        for query in [ME, "{ patients { nodes { id } } }"] {
            app.as_user(&nurse, query, json!({})).await.assert_code("MFA_REQUIRED");
        }
        // A role outside CAREGRAPH_MFA_ROLES is not asked.
        let doctor = app.user("DOCTOR", "Dora Plain").await;
        let plain = login_with(&app, &doctor.email, STAFF_PASSWORD, None).await;
        assert_eq!(plain.ok()["login"]["mfaEnrolmentRequired"], false);
        app.as_user(&doctor, ME, json!({})).await.ok();

        let started = app.as_user(&nurse, START, json!({})).await;
        let enrolment = &started.ok()["startTotpEnrolment"];
        let secret = enrolment["secret"].as_str().unwrap();
        let uri = enrolment["provisioningUri"].as_str().unwrap();
        assert!(uri.starts_with("otpauth://totp/caregraph:") && uri.contains(&format!("secret={secret}")), "{uri}");
        let right = [code(secret, -30), code(secret, 0), code(secret, 30)];
        let wrong = (0..10).map(|d| d.to_string().repeat(6)).find(|c| !right.contains(c)).unwrap();
        app.as_user(&nurse, CONFIRM, json!({ "c": wrong })).await.assert_code("BAD_USER_INPUT");
        app.as_user(&nurse, ME, json!({})).await.assert_code("MFA_REQUIRED");
        let confirmed = app.as_user(&nurse, CONFIRM, json!({ "c": code(secret, 0) })).await;
        let codes = confirmed.ok()["confirmTotpEnrolment"].as_array().unwrap().clone();
        assert_eq!(codes.len(), 10);
        // This session passed the second factor by confirming.
        assert_eq!(app.as_user(&nurse, ME, json!({})).await.ok()["me"]["role"], "NURSE");
        app.as_user(&nurse, START, json!({})).await.assert_code("BAD_USER_INPUT");

        // The secret is stored encrypted, the recovery codes hashed.
        let stored = mfa_credential::Entity::find().all(&app.db).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert!(!stored[0].secret.contains(secret));
        let hashes = mfa_recovery_code::Entity::find().all(&app.db).await.unwrap();
        assert_eq!(hashes.len(), 10);
        for code in &codes {
            let bare = code.as_str().unwrap().replace('-', "");
            assert!(hashes.iter().all(|h| !h.code_hash.contains(&bare)));
        }
        let enrolments = events(&app, &nurse.id, "MFA_ENROLMENT").await;
        let outcomes: Vec<&str> = enrolments.iter().map(|e| e.outcome.as_str()).collect();
        assert_eq!(outcomes, ["SUCCESS", "FAILURE", "SUCCESS"]);
    }

    async fn an_account_with_totp_needs_a_fresh_code_or_a_recovery_code_at_login(app) {
        let nurse = app.user("NURSE", "Otto Pee").await;
        let (secret, recovery, used) = enrol(&app, &nurse).await;
        let email = nurse.email.as_str();

        login_with(&app, email, STAFF_PASSWORD, None).await.assert_code("MFA_REQUIRED");
        let right = [code(&secret, -30), code(&secret, 0), code(&secret, 30)];
        let wrong = (0..10).map(|d| d.to_string().repeat(6)).find(|c| !right.contains(c)).unwrap();
        login_with(&app, email, STAFF_PASSWORD, Some(&wrong)).await.assert_code("MFA_REQUIRED");
        // The code that confirmed the enrolment is spent.
        login_with(&app, email, STAFF_PASSWORD, Some(&used)).await.assert_code("MFA_REQUIRED");
        // A wrong password with a good code is still a wrong password.
        login_with(&app, email, "not the nurse's password", Some(&code(&secret, 30)))
            .await
            .assert_code("UNAUTHENTICATED");

        // The next step's code (the app's clock may run ahead) works once.
        let next = code(&secret, 30);
        let signed_in = login_with(&app, email, STAFF_PASSWORD, Some(&next)).await;
        let token = signed_in.ok()["login"]["accessToken"].as_str().unwrap().to_owned();
        assert_eq!(signed_in.ok()["login"]["mfaEnrolmentRequired"], false);
        app.graphql(Some(&token), ME, json!({})).await.ok();
        login_with(&app, email, STAFF_PASSWORD, Some(&next)).await.assert_code("MFA_REQUIRED");

        // A recovery code works once, typed in any case.
        let spare = recovery[3].to_lowercase();
        login_with(&app, email, STAFF_PASSWORD, Some(&spare)).await.ok();
        login_with(&app, email, STAFF_PASSWORD, Some(&recovery[3])).await.assert_code("MFA_REQUIRED");

        let failed = reasons(&events(&app, &nurse.id, "LOGIN_FAILED").await);
        assert_eq!(failed.len(), 6, "{failed:?}");
        assert_eq!(failed[..2], ["otp_missing", "otp_invalid"]);
        // The confirming code: replayed, or by now outside the window.
        assert!(["otp_replayed", "otp_invalid"].contains(&failed[2].as_str()), "{failed:?}");
        assert_eq!(failed[3..], ["wrong_password", "otp_replayed", "otp_invalid"]);
        let logins = events(&app, &nurse.id, "LOGIN").await;
        let factors: Vec<String> = logins
            .iter()
            .map(|e| serde_json::from_str::<Value>(&e.detail).unwrap()["second_factor"].as_str().unwrap_or("").to_owned())
            .collect();
        assert_eq!(factors[factors.len() - 2..], ["TOTP", "RECOVERY_CODE"]);
    }
}

on_both_databases! {
    configure = |c| {
        c.mfa_roles = vec![Role::Nurse];
        c.step_up = std::time::Duration::from_secs(3);
    };

    async fn high_risk_actions_need_a_recent_authentication(app) {
        let admin = app.login_admin().await;
        let doctor = app.user("DOCTOR", "Step Upton").await;
        let officer = app.user("COMPLIANCE_OFFICER", "Audrey Export").await;
        let nurse = app.user("NURSE", "Glass Breaker").await;
        let (secret, _, _) = enrol(&app, &nurse).await;
        let patient = app.patient(&doctor, "Rhea", "Stepup").await;
        let other_patient = app.patient(&doctor, "Otto", "Stepup").await;
        let leaving = app.user("RECEPTION", "Leaving Soon").await;
        let asked = app
            .as_user(
                &doctor,
                "mutation { requestElevation(role: RECEPTION, reason: \"Covering the front desk during the registration backlog\", minutes: 30) { id } }",
                json!({}),
            )
            .await;
        let elevation = asked.ok()["requestElevation"]["id"].as_str().unwrap().to_owned();
        // Every login above is older than the window once we have waited.
        tokio::time::sleep(std::time::Duration::from_secs(4)).await;

        let delete_user = "mutation($id: ID!) { deleteUser(id: $id) }";
        let delete_patient = "mutation($id: ID!) { deletePatient(id: $id) }";
        let export = "mutation { exportAuditEvents { rows } }";
        let decide = "mutation($id: ID!) { decideElevation(id: $id, approve: true) { status } }";
        let open = "mutation($p: ID!) { breakGlass(patientId: $p, reason: \"Collapsed in the corridor, chart needed now\") { id } }";
        app.as_user(&admin, delete_user, json!({ "id": leaving.id })).await.assert_code("REAUTH_REQUIRED");
        app.as_user(&admin, delete_patient, json!({ "id": patient })).await.assert_code("REAUTH_REQUIRED");
        app.as_user(&officer, export, json!({})).await.assert_code("REAUTH_REQUIRED");
        app.as_user(&nurse, open, json!({ "p": patient })).await.assert_code("REAUTH_REQUIRED");
        app.as_user(&admin, decide, json!({ "id": elevation })).await.assert_code("REAUTH_REQUIRED");
        // Other actions need no step-up.
        app.as_user(&admin, ME, json!({})).await.ok();
        // A role that may never do it still hears FORBIDDEN.
        app.as_user(&doctor, delete_user, json!({ "id": leaving.id })).await.assert_code("FORBIDDEN");

        // Re-authentication: the password, and the code for an account with one.
        app.as_user(&admin, REAUTH, json!({ "p": "not the admin password" })).await.assert_code("UNAUTHENTICATED");
        app.as_user(&nurse, REAUTH, json!({ "p": STAFF_PASSWORD })).await.assert_code("MFA_REQUIRED");
        assert_eq!(app.as_user(&admin, REAUTH, json!({ "p": ADMIN_PASSWORD })).await.ok()["reauthenticate"], true);
        app.as_user(&admin, delete_user, json!({ "id": leaving.id })).await.ok();
        app.as_user(&admin, delete_patient, json!({ "id": patient })).await.ok();
        app.as_user(&admin, decide, json!({ "id": elevation })).await.ok();
        app.as_user(&officer, REAUTH, json!({ "p": STAFF_PASSWORD })).await.ok();
        app.as_user(&officer, export, json!({})).await.ok();
        app.as_user(&nurse, REAUTH, json!({ "p": STAFF_PASSWORD, "o": code(&secret, 30) })).await.ok();
        app.as_user(&nurse, open, json!({ "p": other_patient })).await.ok();

        let reauth = events(&app, &admin.id, "REAUTHENTICATION").await;
        let outcomes: Vec<&str> = reauth.iter().map(|e| e.outcome.as_str()).collect();
        assert_eq!(outcomes, ["FAILURE", "SUCCESS"]);
        assert_eq!(reasons(&events(&app, &nurse.id, "REAUTHENTICATION").await), ["otp_missing", ""]);
    }
}

on_both_databases! {
    configure = |c| {
        c.mfa_roles = vec![Role::Nurse];
        c.login_throttle.address_failures = 3;
    };

    async fn wrong_second_factors_count_as_failed_logins(app) {
        let nurse = app.user("NURSE", "Guess Codes").await;
        let (secret, _, _) = enrol(&app, &nurse).await;
        let right = [code(&secret, -30), code(&secret, 0), code(&secret, 30)];
        let wrong: Vec<String> = (0..10)
            .map(|d| d.to_string().repeat(6))
            .filter(|c| !right.contains(c))
            .take(4)
            .collect();
        // The right password with guessed codes: each guess is a failure.
        let codes: Vec<String> = {
            let mut codes = Vec::new();
            for guess in &wrong {
                let reply = login_with(&app, &nurse.email, STAFF_PASSWORD, Some(guess)).await;
                codes.push(reply.codes()[0].clone());
            }
            codes
        };
        assert_eq!(codes[..3], ["MFA_REQUIRED", "MFA_REQUIRED", "MFA_REQUIRED"], "{codes:?}");
        assert_eq!(codes[3], "RATE_LIMITED", "{codes:?}");
    }
}

on_both_databases! {
    configure = |c| c.mfa_roles = vec![Role::Nurse];

    async fn a_second_factor_allows_a_shorter_password(app) {
        const CHANGE: &str = "mutation($c: String!, $n: String!) { changePassword(current: $c, new: $n) }";
        let short = "Kq7#zv!pLm2w"; // 12 characters: under 15, at least 8
        // A doctor here need not use MFA and has none: 15 characters at least.
        let without = app.user("DOCTOR", "Short Without").await;
        let refused = app
            .as_user(&without, CHANGE, json!({ "c": STAFF_PASSWORD, "n": short }))
            .await;
        refused.assert_code("BAD_USER_INPUT");
        let with = app.user("NURSE", "Short With").await;
        enrol(&app, &with).await;
        app.as_user(&with, CHANGE, json!({ "c": STAFF_PASSWORD, "n": short })).await.ok();
        login_with(&app, &with.email, "Kq7#zv!pL", None).await.assert_code("UNAUTHENTICATED");
    }
}
