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
