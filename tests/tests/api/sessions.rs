use caregraph_tests::{STAFF_PASSWORD, on_both_databases};
use serde_json::json;

const ME: &str = "{ me { id role } }";

on_both_databases! {
    async fn logout_ends_the_session_on_the_server(app) {
        let nurse = app.user("NURSE", "Lea Logout").await;
        app.as_user(&nurse, ME, json!({})).await.ok();
        let out = app.as_user(&nurse, "mutation { logout }", json!({})).await;
        assert_eq!(out.ok()["logout"], true);
        let after = app.as_user(&nurse, ME, json!({})).await;
        assert_eq!(after.status, 401);
        after.assert_code("UNAUTHENTICATED");
    }

    async fn deleting_a_user_kills_their_live_tokens(app) {
        let admin = app.login_admin().await;
        let nurse = app.user("NURSE", "Del Eted").await;
        app.as_user(&nurse, ME, json!({})).await.ok();
        app.as_user(&admin, "mutation($id: ID!) { deleteUser(id: $id) }", json!({ "id": nurse.id })).await.ok();
        app.as_user(&nurse, ME, json!({})).await.assert_code("UNAUTHENTICATED");
        app.try_login(&nurse.email, STAFF_PASSWORD).await.assert_code("UNAUTHENTICATED");
    }

    async fn deactivating_a_user_kills_their_live_tokens_and_logins(app) {
        let admin = app.login_admin().await;
        let doctor = app.user("DOCTOR", "Dee Activated").await;
        let reply = app
            .as_user(&admin, "mutation($id: ID!) { deactivateUser(id: $id) { active } }", json!({ "id": doctor.id }))
            .await;
        assert_eq!(reply.ok()["deactivateUser"]["active"], false);
        app.as_user(&doctor, ME, json!({})).await.assert_code("UNAUTHENTICATED");
        app.try_login(&doctor.email, STAFF_PASSWORD).await.assert_code("UNAUTHENTICATED");
        let refreshed = app
            .graphql(None, "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }", json!({ "t": doctor.refresh_token }))
            .await;
        refreshed.assert_code("UNAUTHENTICATED");
    }

    async fn a_refresh_token_works_once_and_its_reuse_ends_the_session(app) {
        let nurse = app.user("NURSE", "Ray Fresh").await;
        let refresh = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }";
        let first = app.graphql(None, refresh, json!({ "t": nurse.refresh_token })).await;
        let pair = first.ok()["refreshSession"].clone();
        let new_access = pair["accessToken"].as_str().unwrap();
        app.graphql(Some(new_access), ME, json!({})).await.ok();
        // The old refresh token again: treated as stolen, the session ends.
        app.graphql(None, refresh, json!({ "t": nurse.refresh_token })).await.assert_code("UNAUTHENTICATED");
        app.graphql(Some(new_access), ME, json!({})).await.assert_code("UNAUTHENTICATED");
        app.graphql(None, refresh, json!({ "t": pair["refreshToken"] })).await.assert_code("UNAUTHENTICATED");
    }

    async fn forged_tampered_and_malformed_tokens_are_refused(app) {
        use base64::Engine as _;
        let nurse = app.user("NURSE", "Tam Pered").await;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut parts: Vec<String> = nurse.token.split('.').map(str::to_owned).collect();
        let mut claims: serde_json::Value = serde_json::from_slice(&b64.decode(&parts[1]).unwrap()).unwrap();
        claims["role"] = json!("ADMIN");
        parts[1] = b64.encode(claims.to_string());
        let tampered = parts.join(".");
        let unsigned = format!("{}.{}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#), parts[1]);
        for token in [tampered.as_str(), unsigned.as_str(), "not-a-jwt", "a.b.c"] {
            let reply = app.graphql(Some(token), ME, json!({})).await;
            assert_eq!(reply.status, 401, "{token}");
            reply.assert_code("UNAUTHENTICATED");
        }
        let basic = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("Content-Type", "application/json")
            .header("Authorization", "Basic YWRtaW46YWRtaW4=")
            .body(json!({ "query": ME }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(basic.status(), 401);
    }

    async fn an_anonymous_caller_reaches_nothing_but_login(app) {
        let me = app.graphql(None, ME, json!({})).await;
        me.assert_code("UNAUTHENTICATED");
        let patients = app.graphql(None, "{ patients { nodes { id } } }", json!({})).await;
        patients.assert_code("UNAUTHENTICATED");
        let users = app.graphql(None, "{ users { id } }", json!({})).await;
        users.assert_code("UNAUTHENTICATED");
    }
}

const REFRESH: &str =
    "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }";

on_both_databases! {
    async fn a_refresh_token_reused_several_rotations_later_still_ends_the_session(app) {
        let nurse = app.user("NURSE", "Ola Der").await;
        let first = nurse.refresh_token.clone();
        let mut refresh = first.clone();
        let mut access = nurse.token.clone();
        for _ in 0..3 {
            let pair = app.graphql(None, REFRESH, json!({ "t": refresh })).await.ok()["refreshSession"].clone();
            refresh = pair["refreshToken"].as_str().unwrap().to_owned();
            access = pair["accessToken"].as_str().unwrap().to_owned();
        }
        app.graphql(Some(&access), ME, json!({})).await.ok();
        // Three rotations back: still recognised as spent, and the whole
        // family ends with it.
        app.graphql(None, REFRESH, json!({ "t": first })).await.assert_code("UNAUTHENTICATED");
        app.graphql(Some(&access), ME, json!({})).await.assert_code("UNAUTHENTICATED");
        app.graphql(None, REFRESH, json!({ "t": refresh })).await.assert_code("UNAUTHENTICATED");
        // The account itself is fine: a new login works.
        app.login(&nurse.email, STAFF_PASSWORD).await;
    }

    async fn logout_everywhere_ends_every_session_of_the_account_and_no_other(app) {
        let nurse = app.user("NURSE", "Eve Rywhere").await;
        let other_device = app.login(&nurse.email, STAFF_PASSWORD).await;
        let colleague = app.user("NURSE", "Col League").await;
        let ended = app.as_user(&nurse, "mutation { logoutEverywhere }", json!({})).await;
        assert_eq!(ended.ok()["logoutEverywhere"], 2, "{}", ended.text);
        for session in [&nurse, &other_device] {
            app.as_user(session, ME, json!({})).await.assert_code("UNAUTHENTICATED");
            app.graphql(None, REFRESH, json!({ "t": session.refresh_token })).await.assert_code("UNAUTHENTICATED");
        }
        app.as_user(&colleague, ME, json!({})).await.ok();
        app.graphql(None, "mutation { logoutEverywhere }", json!({})).await.assert_code("UNAUTHENTICATED");
    }

    async fn change_password_needs_the_current_one_and_ends_the_other_sessions(app) {
        let nurse = app.user("NURSE", "Pat Sword").await;
        let other_device = app.login(&nurse.email, STAFF_PASSWORD).await;
        let change = "mutation($c: String!, $n: String!) { changePassword(current: $c, new: $n) }";
        let new_password = "a quiet sunny meadow by the river";
        let wrong = app
            .as_user(&nurse, change, json!({ "c": "not my current password", "n": new_password }))
            .await;
        wrong.assert_code("BAD_USER_INPUT");
        app.as_user(&other_device, ME, json!({})).await.ok();
        // The rules apply: too short, common, or built on the e-mail.
        for refused in ["short one", "PasswordPassword", &format!("{} is my name", nurse.email.split('@').next().unwrap())] {
            app.as_user(&nurse, change, json!({ "c": STAFF_PASSWORD, "n": refused }))
                .await
                .assert_code("BAD_USER_INPUT");
        }
        let changed = app
            .as_user(&nurse, change, json!({ "c": STAFF_PASSWORD, "n": new_password }))
            .await;
        assert_eq!(changed.ok()["changePassword"], 1, "{}", changed.text);
        // This session stays; the other one ended, refresh token included.
        app.as_user(&nurse, ME, json!({})).await.ok();
        app.as_user(&other_device, ME, json!({})).await.assert_code("UNAUTHENTICATED");
        app.graphql(None, REFRESH, json!({ "t": other_device.refresh_token })).await.assert_code("UNAUTHENTICATED");
        app.try_login(&nurse.email, STAFF_PASSWORD).await.assert_code("UNAUTHENTICATED");
        app.login(&nurse.email, new_password).await;
    }

    async fn a_role_change_ends_the_refresh_token_too(app) {
        use caregraph_entity::user;
        use sea_orm::sea_query::Expr;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let nurse = app.user("NURSE", "Rolf Change").await;
        user::Entity::update_many()
            .col_expr(user::Column::Role, Expr::value("DOCTOR"))
            .filter(user::Column::Id.eq(uuid::Uuid::parse_str(&nurse.id).unwrap()))
            .exec(&app.db)
            .await
            .unwrap();
        // Without touching the access token first: the refresh token alone
        // must not hand out a token with the new role.
        app.graphql(None, REFRESH, json!({ "t": nurse.refresh_token })).await.assert_code("UNAUTHENTICATED");
        app.as_user(&nurse, ME, json!({})).await.assert_code("UNAUTHENTICATED");
    }

    async fn revocations_on_one_instance_take_effect_on_another_at_the_next_request(app) {
        let second = app.second_instance().await;
        let admin = app.login_admin().await;
        // Logout on the second instance; the token is refused on the first.
        let nurse = app.user("NURSE", "Two Servers").await;
        second.graphql(Some(&nurse.token), ME, json!({})).await.ok();
        second.graphql(Some(&nurse.token), "mutation { logout }", json!({})).await.ok();
        app.as_user(&nurse, ME, json!({})).await.assert_code("UNAUTHENTICATED");
        // logoutEverywhere on the first; both sessions refused on the second.
        let a = app.login(&nurse.email, STAFF_PASSWORD).await;
        let b = app.login(&nurse.email, STAFF_PASSWORD).await;
        second.graphql(Some(&b.token), ME, json!({})).await.ok();
        app.as_user(&a, "mutation { logoutEverywhere }", json!({})).await.ok();
        second.graphql(Some(&b.token), ME, json!({})).await.assert_code("UNAUTHENTICATED");
        second.graphql(None, REFRESH, json!({ "t": b.refresh_token })).await.assert_code("UNAUTHENTICATED");
        // A password changed on the second ends the other session on the first.
        let c = app.login(&nurse.email, STAFF_PASSWORD).await;
        let d = app.login(&nurse.email, STAFF_PASSWORD).await;
        second
            .graphql(
                Some(&c.token),
                "mutation($c: String!, $n: String!) { changePassword(current: $c, new: $n) }",
                json!({ "c": STAFF_PASSWORD, "n": "two servers, one password rule" }),
            )
            .await
            .ok();
        app.as_user(&d, ME, json!({})).await.assert_code("UNAUTHENTICATED");
        app.as_user(&c, ME, json!({})).await.ok();
        // Deactivation on the first; the token is refused on the second.
        let doctor = app.user("DOCTOR", "Dee Two").await;
        second.graphql(Some(&doctor.token), ME, json!({})).await.ok();
        app.as_user(&admin, "mutation($id: ID!) { deactivateUser(id: $id) { active } }", json!({ "id": doctor.id }))
            .await
            .ok();
        second.graphql(Some(&doctor.token), ME, json!({})).await.assert_code("UNAUTHENTICATED");
        // Deletion on the second; refused on the first.
        let billing = app.user("BILLING", "Del Two").await;
        app.as_user(&billing, ME, json!({})).await.ok();
        second
            .graphql(Some(&admin.token), "mutation($id: ID!) { deleteUser(id: $id) }", json!({ "id": billing.id }))
            .await
            .ok();
        app.as_user(&billing, ME, json!({})).await.assert_code("UNAUTHENTICATED");
        second.stop().await;
    }
}
