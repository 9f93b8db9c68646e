//! Just-in-time elevation: asked for with a reason, decided by a different
//! administrator, in force while approved and unexpired, audited at every step.

use caregraph_entity::{audit_event, session};
use caregraph_tests::{STAFF_PASSWORD, on_both_databases};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

const REQUEST: &str = "mutation($r: Role!, $why: String!, $m: Int!) {
    requestElevation(role: $r, reason: $why, minutes: $m) { id role status minutes active expiresAt }
}";
const DECIDE: &str = "mutation($id: ID!, $a: Boolean!) { decideElevation(id: $id, approve: $a) { id status active expiresAt } }";
const PATIENTS: &str = "{ patients { nodes { id } } }";
const WHY: &str = "Covering the front desk during the registration backlog this morning";

fn count(reply: &Value) -> usize {
    reply["patients"]["nodes"].as_array().unwrap().len()
}

on_both_databases! {
    async fn an_approved_elevation_applies_until_it_ends_and_nobody_approves_their_own(app) {
        let doctor = app.user("DOCTOR", "Doc Elevate").await;
        app.patient(&doctor, "Ella", "Vated").await;
        let nurse = app.user("NURSE", "Nora Upward").await;
        assert_eq!(count(app.as_user(&nurse, PATIENTS, json!({})).await.ok()), 0);

        let too_long = app.as_user(&nurse, REQUEST, json!({ "r": "RECEPTION", "why": WHY, "m": 481 })).await;
        too_long.assert_code("BAD_USER_INPUT");
        app.as_user(&nurse, REQUEST, json!({ "r": "RECEPTION", "why": "because", "m": 30 }))
            .await
            .assert_code("BAD_USER_INPUT");
        app.as_user(&nurse, REQUEST, json!({ "r": "NURSE", "why": WHY, "m": 30 }))
            .await
            .assert_code("BAD_USER_INPUT");
        let asked = app.as_user(&nurse, REQUEST, json!({ "r": "RECEPTION", "why": WHY, "m": 30 })).await;
        let request = asked.ok()["requestElevation"].clone();
        assert_eq!(request["status"], "REQUESTED");
        assert_eq!(request["active"], false);
        let id = request["id"].as_str().unwrap().to_owned();
        // Asking is not having.
        assert_eq!(count(app.as_user(&nurse, PATIENTS, json!({})).await.ok()), 0);
        // A nurse decides nothing; an administrator not their own request.
        app.as_user(&nurse, DECIDE, json!({ "id": id, "a": true })).await.assert_code("FORBIDDEN");
        let admin = app.login_admin().await;
        let own = app.as_user(&admin, REQUEST, json!({ "r": "DOCTOR", "why": WHY, "m": 60 })).await;
        let own_id = own.ok()["requestElevation"]["id"].as_str().unwrap().to_owned();
        app.as_user(&admin, DECIDE, json!({ "id": own_id, "a": true })).await.assert_code("FORBIDDEN");
        let waiting = app.as_user(&admin, "{ elevationRequests { id status } }", json!({})).await;
        assert_eq!(waiting.ok()["elevationRequests"].as_array().unwrap().len(), 2);

        // A different administrator approves: in force at once, on the
        // nurse's live session and on new ones; her own role is unchanged.
        let approver = app.login_approver().await;
        let approved = app.as_user(&approver, DECIDE, json!({ "id": id, "a": true })).await;
        assert_eq!(approved.ok()["decideElevation"]["status"], "APPROVED");
        assert_eq!(approved.ok()["decideElevation"]["active"], true);
        app.as_user(&approver, DECIDE, json!({ "id": id, "a": false })).await.assert_code("BAD_USER_INPUT");
        assert_eq!(count(app.as_user(&nurse, PATIENTS, json!({})).await.ok()), 1);
        let again = app.login(&nurse.email, STAFF_PASSWORD).await;
        assert_eq!(count(app.as_user(&again, PATIENTS, json!({})).await.ok()), 1);
        assert_eq!(app.as_user(&nurse, "{ me { role } }", json!({})).await.ok()["me"]["role"], "NURSE");
        // Refused: nothing changes for the admin.
        let refused = app.as_user(&approver, DECIDE, json!({ "id": own_id, "a": false })).await;
        assert_eq!(refused.ok()["decideElevation"]["status"], "REFUSED");

        // It ends by itself (time moved on: its end is now in the past).
        session::Entity::update_many()
            .col_expr(session::Column::ElevatedUntil, Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)))
            .exec(&app.db)
            .await
            .unwrap();
        assert_eq!(count(app.as_user(&nurse, PATIENTS, json!({})).await.ok()), 0);
        assert_eq!(count(app.as_user(&again, PATIENTS, json!({})).await.ok()), 0);

        let steps: Vec<String> = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("ELEVATION"))
            .order_by_asc(audit_event::Column::Seq)
            .all(&app.db)
            .await
            .unwrap()
            .iter()
            .map(|e| serde_json::from_str::<Value>(&e.detail).unwrap()["step"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(steps, ["REQUESTED", "REQUESTED", "APPROVED", "REFUSED"]);
    }
}
