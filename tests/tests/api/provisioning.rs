//! Four-eyes provisioning, replayed as the attacks that found it missing:
//! no single account can create, re-enable or re-invite a login that reads
//! patient data and then use it. Each attack now yields nothing; the
//! legitimate path still works.

use caregraph_entity::{account_enrolment, user};
use caregraph_tests::{ADMIN_EMAIL, STAFF_PASSWORD, Session, TestApp, full_patient, on_both_databases};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

const CREATE_USER: &str = "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id email role active } code expiresAt } }";
const INVITE: &str = "mutation($p: ID!, $e: String!) { invitePatient(patientId: $p, email: $e) { accountId code needsApproval } }";

fn new_email(tag: &str) -> String {
    format!("{tag}.{}@clinic.test", uuid::Uuid::new_v4().simple())
}

async fn stored_account(app: &TestApp, email: &str) -> Option<user::Model> {
    user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(&app.db)
        .await
        .unwrap()
}

/// Every response to a refused enrolment is this one, whatever was wrong.
fn assert_refused(reply: &caregraph_tests::Reply) {
    reply.assert_code("BAD_USER_INPUT");
    assert!(reply.text.contains("enrolment code is invalid"), "{}", reply.text);
}

async fn invite(app: &TestApp, desk: &Session, patient: &str, email: &str) -> Value {
    let reply = app
        .as_user(desk, INVITE, json!({ "p": patient, "e": email }))
        .await;
    reply.ok()["invitePatient"].clone()
}

on_both_databases! {
    async fn an_admin_alone_cannot_mint_a_login_that_reads_patient_data(app) {
        let admin = app.login_admin().await;
        // The attack: a BILLING login with a password the admin chooses.
        let email = new_email("mole");
        let with_password = app
            .as_user(&admin, CREATE_USER, json!({ "input": { "email": email, "name": "Mo Le", "role": "BILLING", "password": STAFF_PASSWORD } }))
            .await;
        assert!(!with_password.errors().is_empty(), "createUser must not take a password: {}", with_password.text);
        assert!(stored_account(&app, &email).await.is_none(), "a refused request stored an account");

        let reply = app.as_user(&admin, CREATE_USER, json!({ "input": { "email": email, "name": "Mo Le", "role": "BILLING" } })).await;
        let created = reply.ok()["createUser"].clone();
        assert_eq!(created["user"]["active"], false);
        let id = created["user"]["id"].as_str().unwrap().to_owned();
        let first_half = created["code"].as_str().unwrap().to_owned();
        // The requested account cannot log in, whatever password is tried.
        app.try_login(&email, STAFF_PASSWORD).await.assert_code("UNAUTHENTICATED");
        // The requester's half alone enrols nothing.
        assert_refused(&app.enrol(&first_half, None, STAFF_PASSWORD).await);
        // Nor can the requester approve its own request.
        let own = app.as_user(&admin, "mutation($u: ID!) { approveAccount(userId: $u) }", json!({ "u": id })).await;
        own.assert_code("FORBIDDEN");
        assert!(own.data().is_null() || own.data()["approveAccount"].is_null());
        let stored = account_enrolment::Entity::find()
            .filter(account_enrolment::Column::AccountId.eq(uuid::Uuid::parse_str(&id).unwrap()))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert!(stored.approved_by.is_none() && stored.used_at.is_none());
        assert!(!stored.request_hash.contains(&first_half), "the code itself is never stored");
        // Nobody else can approve with a role that lacks the grant.
        let desk = app.user("RECEPTION", "Front Desk").await;
        app.as_user(&desk, "mutation($u: ID!) { approveAccount(userId: $u) }", json!({ "u": id }))
            .await
            .assert_code("FORBIDDEN");
        assert!(stored_account(&app, &email).await.is_none(), "no account exists before enrolment");

        // The legitimate path: a compliance officer approves and holds the
        // other half; neither half alone, nor both in the wrong order, enrols.
        let compliance = app.user("COMPLIANCE_OFFICER", "Co Mpliance").await;
        let pending = app.as_user(&compliance, "{ accountRequests { accountId kind role name email requestedBy approved } }", json!({})).await;
        let expected = json!({ "accountId": id, "kind": "STAFF_ACCOUNT", "role": "BILLING", "name": "Mo Le", "email": email, "requestedBy": admin.id, "approved": false });
        assert!(pending.ok()["accountRequests"].as_array().unwrap().contains(&expected), "{}", pending.text);
        let second_half = app.approve(&compliance, &id).await;
        assert_ne!(first_half, second_half);
        assert_refused(&app.enrol(&second_half, None, STAFF_PASSWORD).await);
        assert_refused(&app.enrol(&format!("{second_half}{first_half}"), None, STAFF_PASSWORD).await);
        app.as_user(&compliance, "mutation($u: ID!) { approveAccount(userId: $u) }", json!({ "u": id }))
            .await
            .assert_code("BAD_USER_INPUT");
        app.enrol(&format!("{first_half}{second_half}"), None, "the clerk's own passphrase").await.ok();
        let clerk = app.login(&email, "the clerk's own passphrase").await;
        let me = app.as_user(&clerk, "{ me { role active } }", json!({})).await;
        assert_eq!(me.ok()["me"], json!({ "role": "BILLING", "active": true }));
        // Used once: the same code cannot set another password.
        assert_refused(&app.enrol(&format!("{first_half}{second_half}"), None, "the admin's chosen passphrase").await);
        app.try_login(&email, "the admin's chosen passphrase").await.assert_code("UNAUTHENTICATED");
    }

    async fn an_enrolment_code_expires_after_72_hours(app) {
        let email = new_email("late");
        let (id, first) = app.request_account(&email, "La Te", "NURSE").await;
        let second = app.approve(&app.login_approver().await, &id).await;
        let row = account_enrolment::Entity::find()
            .filter(account_enrolment::Column::AccountId.eq(uuid::Uuid::parse_str(&id).unwrap()))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        let hours = (row.expires_at - row.requested_at).num_hours();
        assert_eq!(hours, 72);
        account_enrolment::Entity::update_many()
            .col_expr(account_enrolment::Column::ExpiresAt, sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)))
            .filter(account_enrolment::Column::Id.eq(row.id))
            .exec(&app.db)
            .await
            .unwrap();
        assert_refused(&app.enrol(&format!("{first}{second}"), None, STAFF_PASSWORD).await);
        app.try_login(&email, STAFF_PASSWORD).await.assert_code("UNAUTHENTICATED");
        // An expired request is made again, with a fresh approval.
        let (id, first) = app.request_account(&email, "La Te", "NURSE").await;
        let second = app.approve(&app.login_approver().await, &id).await;
        app.enrol(&format!("{first}{second}"), None, STAFF_PASSWORD).await.ok();
        app.login(&email, STAFF_PASSWORD).await;
    }

    async fn re_activating_an_account_needs_a_second_approval_and_a_new_password(app) {
        let admin = app.login_admin().await;
        let nurse = app.user("NURSE", "Re Turn").await;
        app.as_user(&admin, "mutation($u: ID!) { deactivateUser(id: $u) { active } }", json!({ "u": nurse.id })).await.ok();
        app.try_login(&nurse.email, STAFF_PASSWORD).await.assert_code("UNAUTHENTICATED");
        let reply = app.as_user(&admin, "mutation($u: ID!) { reactivateUser(id: $u) { user { active } code } }", json!({ "u": nurse.id })).await;
        let first = reply.ok()["reactivateUser"]["code"].as_str().unwrap().to_owned();
        assert_eq!(reply.ok()["reactivateUser"]["user"]["active"], false);
        // Still closed: the request alone re-enables nothing.
        app.try_login(&nurse.email, STAFF_PASSWORD).await.assert_code("UNAUTHENTICATED");
        app.as_user(&admin, "mutation($u: ID!) { approveAccount(userId: $u) }", json!({ "u": nurse.id }))
            .await
            .assert_code("FORBIDDEN");
        assert_refused(&app.enrol(&first, None, "a fresh nurse passphrase").await);
        let second = app.approve(&app.login_approver().await, &nurse.id).await;
        app.enrol(&format!("{first}{second}"), None, "a fresh nurse passphrase").await.ok();
        app.login(&nurse.email, "a fresh nurse passphrase").await;
        app.try_login(&nurse.email, STAFF_PASSWORD).await.assert_code("UNAUTHENTICATED");
        // An active account is not "re-activated".
        app.as_user(&admin, "mutation($u: ID!) { reactivateUser(id: $u) { code } }", json!({ "u": nurse.id }))
            .await
            .assert_code("BAD_USER_INPUT");
    }

    async fn deleting_a_patients_account_and_inviting_again_needs_a_second_approval(app) {
        let doctor = app.user("DOCTOR", "Ann Doc").await;
        let desk = app.user("RECEPTION", "Desk Two").await;
        let admin = app.login_admin().await;
        let patient = app.patient(&doctor, "Paula", "Again").await;
        let first_account = app.patient_account(&patient, "NID-Paula-Again").await;
        // The attack: remove the real account, then invite "the patient" anew.
        app.as_user(&admin, "mutation($u: ID!) { deleteUser(id: $u) }", json!({ "u": first_account.id })).await.ok();
        let email = new_email("taker");
        let invitation = invite(&app, &desk, &patient, &email).await;
        assert_eq!(invitation["needsApproval"], true);
        let desk_half = invitation["code"].as_str().unwrap().to_owned();
        assert_refused(&app.enrol(&desk_half, Some("NID-Paula-Again"), STAFF_PASSWORD).await);
        app.try_login(&email, STAFF_PASSWORD).await.assert_code("UNAUTHENTICATED");
        let account_id = invitation["accountId"].as_str().unwrap().to_owned();
        // The desk cannot approve its own invitation.
        app.as_user(&desk, "mutation($u: ID!) { approveAccount(userId: $u) }", json!({ "u": account_id }))
            .await
            .assert_code("FORBIDDEN");
        // With a second person's approval the patient enrols.
        let approver_half = app.approve(&admin, &account_id).await;
        app.enrol(&format!("{desk_half}{approver_half}"), Some("NID-Paula-Again"), "paula's own passphrase").await.ok();
        let paula = app.login(&email, "paula's own passphrase").await;
        assert_eq!(paula.id, account_id);
        let own = app.as_user(&paula, "{ patients { nodes { familyName } } }", json!({})).await;
        assert_eq!(own.ok()["patients"]["nodes"], json!([{ "familyName": "Again" }]));
    }

    async fn concurrent_guesses_evaluate_at_most_five_attempts_per_code(app) {
        let doctor = app.user("DOCTOR", "Race Doc").await;
        let desk = app.user("RECEPTION", "Race Desk").await;
        let patient = app.patient(&doctor, "Rita", "Race").await;
        let email = new_email("rita");
        let code = invite(&app, &desk, &patient, &email).await["code"].as_str().unwrap().to_owned();
        let guesses = (0..100).map(|n| {
            let code = code.clone();
            let app = &app;
            async move { app.enrol(&code, Some(&format!("NID-GUESS-{n}")), STAFF_PASSWORD).await }
        });
        let replies = futures_util::future::join_all(guesses).await;
        for reply in &replies {
            assert_refused(reply);
        }
        let row = account_enrolment::Entity::find()
            .filter(account_enrolment::Column::Email.eq(email.as_str()))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.attempts, 5, "exactly five guesses were evaluated");
        // The right national id comes too late: the code is spent.
        assert_refused(&app.enrol(&code, Some("NID-Rita-Race"), STAFF_PASSWORD).await);
        assert!(stored_account(&app, &email).await.is_none());
        // The guesses are spent for the record too: a fresh invitation needs
        // a second person, and then works for the real patient.
        let fresh = invite(&app, &desk, &patient, &email).await;
        assert_eq!(fresh["needsApproval"], true);
        let approved = app.approve(&app.login_admin().await, fresh["accountId"].as_str().unwrap()).await;
        let code = format!("{}{approved}", fresh["code"].as_str().unwrap());
        app.enrol(&code, Some("NID-Rita-Race"), STAFF_PASSWORD).await.ok();
        app.login(&email, STAFF_PASSWORD).await;
    }

    async fn a_pending_account_answers_a_login_exactly_like_an_unknown_email(app) {
        let email = new_email("pending");
        app.request_account(&email, "Pen Ding", "DOCTOR").await;
        let pending = app.try_login(&email, STAFF_PASSWORD).await;
        let unknown = app.try_login(&new_email("nobody"), STAFF_PASSWORD).await;
        let wrong = app.try_login(ADMIN_EMAIL, "not the admin's passphrase").await;
        pending.assert_code("UNAUTHENTICATED");
        assert_eq!(pending.body, unknown.body);
        assert_eq!(pending.body, wrong.body);
    }

    async fn the_desk_learns_nothing_it_may_not_read_from_an_invitation(app) {
        let doctor = app.user("DOCTOR", "Quiet Doc").await;
        let desk = app.user("RECEPTION", "Quiet Desk").await;
        // A record without a national id, and one with.
        let mut input = full_patient("Nora", "Noid");
        input["nationalId"] = Value::Null;
        let reply = app.as_user(&doctor, "mutation($input: CreatePatientInput!) { createPatient(input: $input) { id } }", json!({ "input": input })).await;
        let no_id = reply.ok()["createPatient"]["id"].as_str().unwrap().to_owned();
        let with_id = app.patient(&doctor, "Ivan", "Hasid").await;
        let staff_email = doctor.email.clone();
        // Same answer for all four: with or without national id, a fresh
        // e-mail or a colleague's.
        let mut shapes = Vec::new();
        for (patient, email) in [(&no_id, new_email("n1")), (&with_id, new_email("n2")), (&no_id, staff_email.clone()), (&with_id, staff_email.clone())] {
            let reply = app.as_user(&desk, INVITE, json!({ "p": patient, "e": email })).await;
            let invitation = reply.ok()["invitePatient"].clone();
            assert_eq!(invitation["needsApproval"], false);
            shapes.push((invitation["code"].as_str().unwrap().len(), reply.errors().len()));
        }
        assert!(shapes.windows(2).all(|w| w[0] == w[1]), "{shapes:?}");
        // Without a national id on record, no guess enrols (the desk holding
        // the code learns nothing either).
        let code = invite(&app, &desk, &no_id, &new_email("n3")).await["code"].as_str().unwrap().to_owned();
        assert_refused(&app.enrol(&code, Some(""), STAFF_PASSWORD).await);
        assert_refused(&app.enrol(&code, None, STAFF_PASSWORD).await);
        // The patient, having proved who they are, is told the e-mail is taken.
        let code = invite(&app, &desk, &with_id, &staff_email).await["code"].as_str().unwrap().to_owned();
        let taken = app.enrol(&code, Some("NID-Ivan-Hasid"), "ivan's own passphrase").await;
        taken.assert_code("BAD_USER_INPUT");
        assert!(taken.text.contains("already exists"), "{}", taken.text);
        let wrong_id = app.enrol(&code, Some("NID-Someone-Else"), "ivan's own passphrase").await;
        assert_refused(&wrong_id);
        // The colleague's account is untouched.
        app.login(&doctor.email, STAFF_PASSWORD).await;
    }

    async fn patient_accounts_in_the_user_list_follow_the_patients_scope(app) {
        let registrar = app.user("DOCTOR", "List Doc").await;
        let attending = app.user("DOCTOR", "Att Doc").await;
        let admin = app.login_admin().await;
        let open = app.patient(&registrar, "Otto", "Open").await;
        let vip = app.patient(&registrar, "Vivian", "Vip").await;
        let open_account = app.patient_account(&open, "NID-Otto-Open").await;
        let vip_account = app.patient_account(&vip, "NID-Vivian-Vip").await;
        app.assign_care_team(&registrar, &vip, &attending, "ATTENDING", (None, None)).await;
        app.as_user(&registrar, "mutation($id: ID!) { updatePatient(id: $id, input: { restricted: true }) { id } }", json!({ "id": vip }))
            .await
            .ok();
        let reply = app.as_user(&admin, "{ users(role: PATIENT) { id name email } }", json!({})).await;
        let listed = reply.data()["users"].as_array().unwrap().clone();
        let ids: Vec<&str> = listed.iter().map(|u| u["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [open_account.id.as_str()], "{}", reply.text);
        assert!(!reply.text.contains("Vivian") && !reply.text.contains(&vip_account.email));
        // A patient's login e-mail is CONTACT data, which an admin may not read.
        assert!(listed[0]["email"].is_null());
        assert!(!reply.text.contains(&open_account.email));
        assert_eq!(reply.codes(), ["FORBIDDEN"]);
        let all = app.as_user(&admin, "{ users { id } }", json!({})).await;
        assert!(!all.text.contains(&vip_account.id));
        // Staff e-mails stay readable to the admin.
        let staff = app.as_user(&admin, "{ users(role: DOCTOR) { email } }", json!({})).await;
        assert!(staff.ok()["users"].as_array().unwrap().iter().any(|u| u["email"] == registrar.email));
        // The patient still reaches their own restricted record and e-mail.
        let me = app.as_user(&vip_account, "{ me { email } patients { nodes { givenName } } }", json!({})).await;
        assert_eq!(me.ok()["me"]["email"], vip_account.email);
        assert_eq!(me.ok()["patients"]["nodes"], json!([{ "givenName": "Vivian" }]));
    }
}

on_both_databases! {
    async fn whoever_ever_requested_an_account_cannot_approve_it_later(app) {
        // An admin requests an account for an address it controls; an honest
        // colleague approves; later the account is closed and the colleague
        // asks to re-open it. The first admin must not be the second pair of
        // eyes for an account it asked for.
        let first = app.login_admin().await;
        let second = app.login_approver().await;
        let alias = new_email("alias");
        let (id, half) = app.request_account_as(&first, &alias, "Al Ias", "BILLING").await;
        let other_half = app.approve(&second, &id).await;
        app.enrol(&format!("{half}{other_half}"), None, STAFF_PASSWORD).await.ok();
        app.as_user(&second, "mutation($u: ID!) { deactivateUser(id: $u) { active } }", json!({ "u": id })).await.ok();
        app.as_user(&second, "mutation($u: ID!) { reactivateUser(id: $u) { code } }", json!({ "u": id })).await.ok();
        let approve = app.as_user(&first, "mutation($u: ID!) { approveAccount(userId: $u) }", json!({ "u": id })).await;
        approve.assert_code("FORBIDDEN");
        app.try_login(&alias, STAFF_PASSWORD).await.assert_code("UNAUTHENTICATED");
    }

    async fn closing_or_cancelling_an_account_voids_its_approved_code(app) {
        let first = app.login_admin().await;
        let second = app.login_approver().await;
        // A request approved, then cancelled before the owner enrolled.
        let email = new_email("cancelled");
        let (id, half) = app.request_account_as(&first, &email, "Can Celled", "DOCTOR").await;
        let other_half = app.approve(&second, &id).await;
        app.as_user(&second, "mutation($u: ID!) { deleteUser(id: $u) }", json!({ "u": id })).await.ok();
        assert_refused(&app.enrol(&format!("{half}{other_half}"), None, STAFF_PASSWORD).await);
        assert!(stored_account(&app, &email).await.is_none());
        // A re-activation approved, then the account closed again for cause.
        let nurse = app.user("NURSE", "For Cause").await;
        app.as_user(&first, "mutation($u: ID!) { deactivateUser(id: $u) { active } }", json!({ "u": nurse.id })).await.ok();
        let reopen = app.as_user(&first, "mutation($u: ID!) { reactivateUser(id: $u) { code } }", json!({ "u": nurse.id })).await;
        let half = reopen.ok()["reactivateUser"]["code"].as_str().unwrap().to_owned();
        let other_half = app.approve(&second, &nurse.id).await;
        app.as_user(&second, "mutation($u: ID!) { deactivateUser(id: $u) { active } }", json!({ "u": nurse.id })).await.ok();
        assert_refused(&app.enrol(&format!("{half}{other_half}"), None, "the nurse's new passphrase").await);
        let stored = stored_account(&app, &nurse.email).await.unwrap();
        assert!(!stored.active);
    }

    async fn the_desk_cannot_buy_more_guesses_with_fresh_invitations(app) {
        let doctor = app.user("DOCTOR", "Guess Doc").await;
        let desk = app.user("RECEPTION", "Guess Desk").await;
        let admin = app.login_admin().await;
        let patient = app.patient(&doctor, "Vera", "Victim").await;
        let email = new_email("desk.alias");
        let mut guesses = 0;
        for batch in 0..3 {
            let invitation = invite(&app, &desk, &patient, &email).await;
            if batch > 0 {
                // Five wrong guesses on this record: the next invitation
                // needs a second person.
                assert_eq!(invitation["needsApproval"], true, "after {guesses} guesses");
                let code = invitation["code"].as_str().unwrap();
                assert_refused(&app.enrol(code, Some("NID-Vera-Victim"), STAFF_PASSWORD).await);
                continue;
            }
            assert_eq!(invitation["needsApproval"], false);
            let code = invitation["code"].as_str().unwrap();
            for k in 0..5 {
                assert_refused(&app.enrol(code, Some(&format!("NID-GUESS-{k}")), STAFF_PASSWORD).await);
                guesses += 1;
            }
        }
        app.try_login(&email, STAFF_PASSWORD).await.assert_code("UNAUTHENTICATED");
        // With a second person the real patient still gets in.
        let invitation = invite(&app, &desk, &patient, "vera@home.example").await;
        let account = invitation["accountId"].as_str().unwrap();
        let approved = app.approve(&admin, account).await;
        let code = format!("{}{approved}", invitation["code"].as_str().unwrap());
        app.enrol(&code, Some("NID-Vera-Victim"), "my own passphrase, chosen by me").await.ok();
        app.login("vera@home.example", "my own passphrase, chosen by me").await;
    }

    async fn an_invitation_issued_before_the_account_was_deleted_needs_the_approval_too(app) {
        let doctor = app.user("DOCTOR", "Old Doc").await;
        let desk = app.user("RECEPTION", "Old Desk").await;
        let admin = app.login_admin().await;
        let patient = app.patient(&doctor, "Olga", "Old").await;
        let stale_email = new_email("desk.old");
        let stale = invite(&app, &desk, &patient, &stale_email).await["code"].as_str().unwrap().to_owned();
        // A newer invitation supersedes the stale one at once.
        let account = app.patient_account(&patient, "NID-Olga-Old").await;
        app.as_user(&admin, "mutation($u: ID!) { deleteUser(id: $u) }", json!({ "u": account.id })).await.ok();
        assert_refused(&app.enrol(&stale, Some("NID-Olga-Old"), STAFF_PASSWORD).await);
        app.try_login(&stale_email, STAFF_PASSWORD).await.assert_code("UNAUTHENTICATED");
        let row = account_enrolment::Entity::find()
            .filter(account_enrolment::Column::Email.eq(stale_email.as_str()))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert!(row.used_at.is_none() && row.expires_at <= chrono::Utc::now());
    }

    async fn a_staff_request_does_not_reveal_who_has_a_patient_account(app) {
        let doctor = app.user("DOCTOR", "Mail Doc").await;
        let admin = app.login_admin().await;
        let patient = app.patient(&doctor, "Mia", "Mail").await;
        let mia = app.patient_account(&patient, "NID-Mia-Mail").await;
        let nobody = new_email("nobody");
        let with_patient_email = app.as_user(&admin, CREATE_USER, json!({ "input": { "email": mia.email, "name": "Pro Be", "role": "NURSE" } })).await;
        let with_fresh_email = app.as_user(&admin, CREATE_USER, json!({ "input": { "email": nobody, "name": "Pro Be", "role": "NURSE" } })).await;
        assert!(with_patient_email.errors().is_empty() && with_fresh_email.errors().is_empty(), "{}", with_patient_email.text);
        // The owner learns it at enrolment; Mia's account is untouched.
        let created = &with_patient_email.data()["createUser"];
        let id = created["user"]["id"].as_str().unwrap();
        let code = format!("{}{}", created["code"].as_str().unwrap(), app.approve(&app.login_approver().await, id).await);
        let taken = app.enrol(&code, None, "a passphrase of the nurse").await;
        taken.assert_code("BAD_USER_INPUT");
        assert!(taken.text.contains("already exists"), "{}", taken.text);
        app.login(&mia.email, STAFF_PASSWORD).await;
    }

    async fn approvers_see_no_re_invitation_of_a_restricted_patient(app) {
        let registrar = app.user("DOCTOR", "Reg Doc").await;
        let attending = app.user("DOCTOR", "Att Doc").await;
        let desk = app.user("RECEPTION", "Vip Desk").await;
        let admin = app.login_admin().await;
        let vip = app.patient(&registrar, "Vic", "Vip").await;
        let account = app.patient_account(&vip, "NID-Vic-Vip").await;
        app.as_user(&admin, "mutation($u: ID!) { deleteUser(id: $u) }", json!({ "u": account.id })).await.ok();
        let invitation = invite(&app, &desk, &vip, &new_email("vic")).await;
        let pending = app.as_user(&admin, "{ accountRequests { patientId } }", json!({})).await;
        assert!(pending.text.contains(&vip), "{}", pending.text);
        app.assign_care_team(&registrar, &vip, &attending, "ATTENDING", (None, None)).await;
        app.as_user(&registrar, "mutation($id: ID!) { updatePatient(id: $id, input: { restricted: true }) { id } }", json!({ "id": vip }))
            .await
            .ok();
        let hidden = app.as_user(&admin, "{ accountRequests { patientId } }", json!({})).await;
        assert!(!hidden.text.contains(&vip), "{}", hidden.text);
        let approve = app.as_user(&admin, "mutation($u: ID!) { approveAccount(userId: $u) }", json!({ "u": invitation["accountId"] })).await;
        approve.assert_code("NOT_FOUND");
    }
}

on_both_databases! {
    configure = |config| config.staff_email_domains = vec!["clinic.test".to_owned()];

    async fn staff_accounts_use_the_clinics_email_domains(app) {
        let admin = app.login_admin().await;
        let outside = app
            .as_user(&admin, CREATE_USER, json!({ "input": { "email": "someone@gmail.example", "name": "Out Side", "role": "NURSE" } }))
            .await;
        outside.assert_code("BAD_USER_INPUT");
        assert!(outside.text.contains("clinic.test"), "{}", outside.text);
        assert!(stored_account(&app, "someone@gmail.example").await.is_none());
        let inside = app
            .as_user(&admin, CREATE_USER, json!({ "input": { "email": "in.side@CLINIC.test", "name": "In Side", "role": "NURSE" } }))
            .await;
        assert_eq!(inside.ok()["createUser"]["user"]["email"], "in.side@clinic.test");
        // Patients keep their own addresses.
        let doctor = app.user("DOCTOR", "Dom Doc").await;
        let desk = app.user("RECEPTION", "Dom Desk").await;
        let patient = app.patient(&doctor, "Gail", "Mail").await;
        invite(&app, &desk, &patient, "gail@home.example").await;
    }
}
