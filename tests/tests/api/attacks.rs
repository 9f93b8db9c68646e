//! Attacks on the real server: forged and tampered access tokens, replay of
//! a token after logout or after its account ended, oversized or malformed
//! request bodies, and text aimed at the log and the audit trail. Each attempt is refused (401 UNAUTHENTICATED
//! for a token, a 4xx with a coded error for a body, never a 500 or
//! INTERNAL), leaks nothing of the server's internals, changes nothing
//! stored, and leaves the server healthy.
//!
//! Tested elsewhere, not here: hostile GraphQL queries (aliases, depth,
//! complexity, batching, introspection) in `hostile.rs`; a plain replay
//! after logout, deletion and deactivation, and refresh-token reuse in
//! `sessions.rs`; equal login answers for a wrong password and an unknown
//! e-mail in `login.rs`; SQL-looking and very long strings in every input
//! in `hostile_inputs.rs`. Throttling of failed logins (brute force),
//! login timing (enumeration), session families (refresh reuse at any age)
//! and password rules belong to the session work; TOTP MFA and step-up to
//! the MFA work: their tests live with those features.

use base64::Engine as _;
use caregraph::config::Config;
use caregraph_tests::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Reply, STAFF_PASSWORD, Session, TestApp, on_both_databases,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The signing key the server is configured with in these tests, so that
/// a test can sign tokens that differ from the server's in one claim only.
const SERVER_KEY: &[u8] = b"attacks.rs: the server's HS256 key, 48 bytes...";
const ISSUER: &str = "caregraph";
const AUDIENCE: &str = "caregraph-api";

fn known_key(config: &mut Config) {
    config.jwt_secret = Some(caregraph::domain::Secret::new(SERVER_KEY.to_vec()));
    config.jwt_issuer = ISSUER.to_owned();
    config.jwt_audience = AUDIENCE.to_owned();
}

/// An attacker's own RSA key (PKCS#1), made for this test only.
const ATTACKER_RSA_PEM: &str = "-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEA1IhWJgKyRjLyzo4+a2O8WEbcJJ/ISQqbfquhKYQaM6qGWKyM
MUz6YPCM7CApKU133i887EuFf+BwE3VtYwcLLZigQgr7o603k3bHnkyglPYCn/rF
x2bg3OORXz7qEijM4wh1VSPWrJ9LZqg6sdef4nmY3epWyiLaNFqHZj8XQaKVLE17
1JVRjeMz9XK7zJpiJy6PrlwgXEM88GI+rbhg1mbFk0m/sbBiOyv3BUuJy4VAAH79
93y53EyZls0UXBOfA7QUFYT85clx9lyK1ErVSqYivohrimmo6g2p2le8UFbIad/r
bF1L9pZm5YHCvF85fXr7vNWhJjqUxMkW2IePXwIDAQABAoIBAAHqlaX8zmEiqXg9
wRovyWRUYPOjTXnN++UXABXMY8c8MpqhXoVh2hfQrJgMLDCOFA1B5DYYX/JIu7ew
DnFfEofNOEr93oDZ0FiLZ5CpxKUw6va2dl0S2Obr1hde+u0vtJCqpDcOYuKBuXsc
RRKlA7pDjEcaQi7LIBXYVbIRG2yBIzVa4POFh2aHSaQRhw5jRkGAIFlEDDjiCzr2
2gxcf3HUjNYRMzd64dgBJJKlRgK2+87NR1Bl5xECejzI6o6eZh6yh+b4PibXw2tC
VBrl5DgNCWqBnUzwQfELsYsFxu7sCj3uskNjZ4mJcqZN0B5E3q7ClPCajLzFMkIw
VPpj1CECgYEA/jebqVpgpLYsfPZBAJVEcH2fJAM2lhBt4bPtiNajjCEkx9PxHRHa
6lWyjtT2FTg9ArzvsCV4BxSZ2IJaFtpN9wTER2cTWj3BuqrMUgu2pA5gu/5AZ/sd
aV5VWeTLoKnT2g97JjFXXsNPMHt6m89ytNlWRPbi33paErXVJ3zwoSECgYEA1gXk
h9JXzKjAgzpZIYXaKuHt7Vb+J1YVm+fZrN3uU+aNyzoV48a/4kTpVDqMzvfKeRQt
kD4a1raRMlhd3LDrPiAi4Dzg24Z+HkRmoUa1UEwYs5jwL4IfF0etaZxp30EWphRs
ywLpLk0Pnj8AQRl9DDZs0dyakq74GxhxxiMToH8CgYEAkZIWOOvf23HWF9iLcGIJ
RsEol96fK19NDKmTo4AFNwDjpuneb98BlJ5uGQwpvgzuIts+BYfvK17ImgpKvDtV
2dWI77o+grZKcTHMvk6mz1rMWdpF10UcmnHCPi+dyup0vbGPu1cVyNXeSszqcL5h
2N17YRJe58mQOpaU8H/C6wECgYBGeFw+KJFGTw5MZ0rv0c37LrcT3gADXcHxus6e
r9iIgbKQhwisHkYSL9SQKlMw1sAxS+aQxxI5PpXieNw3DX33z8cMBJ+ZSNiACM+u
LMUIsnWztRjo27R3Ct/blWf63ciiWLlVwxiaaT9KQL5JsSXOfqEoHLY8tCX3bf4Q
Wn5c6wKBgBMNFmg8Q5TC+PgATDAUngVOKkltxPKqlKuGH3eXBZBC0o+L5PY3nsga
wHSAU/f8sPcn5a9bTakGfQgsEN2V+YFQQi82I0YC2LkRHiJsDC5ImM2qtPMKdUEA
EgEq3jKmGtH0ILSSjA+jnmGyvF/D/NAZ5M6Vq92ikyZG6mj45JF9
-----END RSA PRIVATE KEY-----";

fn attacker_rsa_key() -> EncodingKey {
    let body: String = ATTACKER_RSA_PEM
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
    EncodingKey::from_rsa_der(&der)
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(part: &str) -> Value {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The claims of a token the server issued.
fn claims_of(token: &str) -> Value {
    unb64(token.split('.').nth(1).unwrap())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Signs `claims` with `key` under `header` (jsonwebtoken, as a client would).
fn sign(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).expect("the test signs its token")
}

fn hs256(claims: &Value) -> String {
    sign(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SERVER_KEY),
    )
}

/// A token put together by hand: any header, any signature.
fn by_hand(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.to_string()),
        b64(claims.to_string())
    )
}

/// HMAC-SHA256 of `header.claims` with the server's key, whatever the header says.
fn hmac_signed(header: &Value, claims: &Value) -> String {
    use hmac::Mac as _;
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SERVER_KEY).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(mac.finalize().into_bytes()))
}

/// Claims exactly like those the server issues for this session, fresh.
fn fresh_claims(of: &Session) -> Value {
    let mut claims = claims_of(&of.token);
    let now = now();
    claims["iat"] = json!(now);
    claims["nbf"] = json!(now);
    claims["exp"] = json!(now + 600);
    claims
}

/// What must never be in an answer: traces of the server's insides.
pub fn assert_no_internals(what: &str, text: &str) {
    for leak in [
        "panicked",
        "backtrace",
        "stack",
        "SELECT ",
        "INSERT INTO",
        "UPDATE \"",
        "sqlx",
        "sea_orm",
        "SqlxError",
        "DbErr",
        "SQLSTATE",
        "syntax error at",
        "no such table",
        "relation \"",
        "src/",
        ".rs:",
        "jsonwebtoken",
        "InvalidSignature",
        "InvalidAlgorithm",
        "ExpiredSignature",
    ] {
        assert!(!text.contains(leak), "{what}: the answer shows {leak:?}: {text}");
    }
}

/// Refused as a caller with no valid credentials, before anything ran.
fn assert_unauthenticated(what: &str, reply: &Reply) {
    assert_eq!(reply.status, 401, "{what}: {}", reply.text);
    reply.assert_code("UNAUTHENTICATED");
    assert!(reply.data().is_null(), "{what}: {}", reply.text);
    assert_no_internals(what, &reply.text);
}

/// `/healthz` and `/readyz` answer 200 and a normal login works.
pub async fn assert_healthy(app: &TestApp) {
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.as_user(&admin, "{ me { id role } }", json!({})).await.ok();
}

/// An ADMIN-only write with a visible effect: run with a forged token, it
/// must leave the departments as they were.
const PROBE: &str = "mutation { createDepartment(name: \"Forged Ward\") { id } }";
const ME: &str = "{ me { id role } }";

on_both_databases! {
    configure = known_key;

    async fn forged_and_tampered_tokens_are_refused(app) {
        let nurse = app.user("NURSE", "Nora Forged").await;
        let admin = app.login_admin().await;
        let nurse_claims = claims_of(&nurse.token);
        let admin_claims = claims_of(&admin.token);
        assert_eq!(nurse_claims["iss"], ISSUER);
        assert_eq!(nurse_claims["aud"], AUDIENCE);

        // The control: claims signed here with the server's key are
        // accepted, so every refusal below is about the one thing changed.
        let control = app.graphql(Some(&*hs256(&fresh_claims(&nurse))), ME, json!({})).await;
        assert_eq!(control.ok()["me"]["id"], nurse.id);
        let admin_control = hs256(&fresh_claims(&admin));
        app.graphql(Some(&*admin_control), ME, json!({})).await.ok();

        // A token signed with the server's key whose role or user differs
        // from its session's is what a token looks like after a role change:
        // the server ends that session. Those cases use a session of their own.
        let decoy = app.user("NURSE", "Dee Coy").await;
        let decoy_claims = fresh_claims(&decoy);
        let on_decoy = |key: &str, value: Value| {
            let mut claims = decoy_claims.clone();
            claims[key] = value;
            claims
        };

        let before = app.stored().await;
        let fresh = fresh_claims(&nurse);
        let with = |key: &str, value: Value| {
            let mut claims = fresh.clone();
            claims[key] = value;
            claims
        };
        let without = |key: &str| {
            let mut claims = fresh.clone();
            claims.as_object_mut().unwrap().remove(key);
            claims
        };
        let as_admin = {
            let mut claims = fresh.clone();
            claims["role"] = json!("ADMIN");
            claims
        };
        let hs = |alg: &str| json!({ "alg": alg, "typ": "JWT" });
        let real_parts: Vec<&str> = nurse.token.split('.').collect();
        let admin_parts: Vec<&str> = admin.token.split('.').collect();
        let keep_signature = |claims: &Value| format!("{}.{}.{}", real_parts[0], b64(claims.to_string()), real_parts[2]);
        let wrong_key = EncodingKey::from_secret(b"not the server's key, but 32+ bytes long");
        let t = now();

        let mut forged: Vec<(&str, String)> = vec![
            // No signature at all.
            ("alg none, empty signature", by_hand(&hs("none"), &as_admin, "")),
            ("alg None, empty signature", by_hand(&hs("None"), &as_admin, "")),
            ("alg NONE, empty signature", by_hand(&hs("NONE"), &as_admin, "")),
            ("alg none, the nurse's own claims", by_hand(&hs("none"), &fresh, "")),
            ("alg none, the real signature kept", by_hand(&hs("none"), &nurse_claims, real_parts[2])),
            ("no alg", by_hand(&json!({ "typ": "JWT" }), &fresh, "")),
            ("HS256 header, signature stripped", format!("{}.{}.", real_parts[0], real_parts[1])),
            ("HS256 header, no signature part", format!("{}.{}", real_parts[0], real_parts[1])),
            // Signed, but not by the server's key, or not as it signs.
            ("HS256 with a wrong key", sign(&Header::new(Algorithm::HS256), &as_admin, &wrong_key)),
            ("HS256 with a wrong key, the nurse's own claims", sign(&Header::new(Algorithm::HS256), &fresh, &wrong_key)),
            ("HS256 with an empty key", sign(&Header::new(Algorithm::HS256), &fresh, &EncodingKey::from_secret(b""))),
            ("HS384 with the server's key", sign(&Header::new(Algorithm::HS384), &fresh, &EncodingKey::from_secret(SERVER_KEY))),
            ("HS512 with the server's key", sign(&Header::new(Algorithm::HS512), &fresh, &EncodingKey::from_secret(SERVER_KEY))),
            ("RS256 signed with an attacker's RSA key", sign(&Header::new(Algorithm::RS256), &as_admin, &attacker_rsa_key())),
            ("RS256 signed with an attacker's RSA key, the nurse's own claims", sign(&Header::new(Algorithm::RS256), &fresh, &attacker_rsa_key())),
            ("RS256 header, HMAC-SHA256 signature with the server's key", hmac_signed(&hs("RS256"), &fresh)),
            ("ES256 header, HMAC-SHA256 signature with the server's key", hmac_signed(&hs("ES256"), &fresh)),
            ("alg none, HMAC-SHA256 signature with the server's key", hmac_signed(&hs("none"), &fresh)),
            ("the admin's signature on the nurse's claims", format!("{}.{}.{}", real_parts[0], real_parts[1], admin_parts[2])),
            ("the nurse's signature on the admin's claims", format!("{}.{}.{}", admin_parts[0], admin_parts[1], real_parts[2])),
            // Times and audience, signed with the server's key.
            ("exp an hour ago", hs256(&with("exp", json!(t - 3600)))),
            ("exp a minute ago", hs256(&with("exp", json!(t - 60)))),
            ("exp before nbf", hs256(&{ let mut c = with("nbf", json!(t - 120)); c["exp"] = json!(t - 60); c })),
            ("nbf in an hour", hs256(&with("nbf", json!(t + 3600)))),
            ("nbf in a minute", hs256(&with("nbf", json!(t + 60)))),
            ("exp not a number", hs256(&with("exp", json!("tomorrow")))),
            ("wrong aud", hs256(&with("aud", json!("another-api")))),
            ("aud of another caregraph part", hs256(&with("aud", json!("caregraph")))),
            ("empty aud", hs256(&with("aud", json!("")))),
            ("wrong iss", hs256(&with("iss", json!("evil-issuer")))),
            ("iss differing in case", hs256(&with("iss", json!("Caregraph")))),
            ("no exp", hs256(&without("exp"))),
            ("no nbf", hs256(&without("nbf"))),
            ("no aud", hs256(&without("aud"))),
            ("no iss", hs256(&without("iss"))),
            ("no sub", hs256(&without("sub"))),
            ("no sid", hs256(&without("sid"))),
            ("no role", hs256(&without("role"))),
            // A real token with its payload edited, the signature kept.
            ("role edited to ADMIN, signature kept", keep_signature(&{ let mut c = nurse_claims.clone(); c["role"] = json!("ADMIN"); c })),
            ("sub edited to the admin, signature kept", keep_signature(&{ let mut c = nurse_claims.clone(); c["sub"] = admin_claims["sub"].clone(); c })),
            ("sid edited to the admin's session, signature kept", keep_signature(&{ let mut c = nurse_claims.clone(); c["sid"] = admin_claims["sid"].clone(); c })),
            ("exp extended by a year, signature kept", keep_signature(&{ let mut c = nurse_claims.clone(); c["exp"] = json!(t + 365 * 86400); c })),
            // Signed with the server's key: the session behind the token decides.
            ("the admin's sub on a nurse's session", hs256(&on_decoy("sub", admin_claims["sub"].clone()))),
            ("role ADMIN on a nurse's session", hs256(&on_decoy("role", json!("ADMIN")))),
            ("the nurse's sub on another nurse's session", hs256(&with("sid", decoy_claims["sid"].clone()))),
            ("a session that does not exist", hs256(&with("sid", json!(uuid::Uuid::new_v4())))),
            ("a user that does not exist", hs256(&on_decoy("sub", json!(uuid::Uuid::new_v4())))),
            ("sid not a uuid", hs256(&with("sid", json!("' OR 1=1 --")))),
            ("sub not a uuid", hs256(&with("sub", json!("'; DROP TABLE users; --")))),
            ("role not a role", hs256(&on_decoy("role", json!("ROOT")))),
            // Unknown key ids and extra header fields, with a wrong key.
            ("unknown kid, wrong key", sign(&Header { kid: Some("key-2026".to_owned()), ..Header::new(Algorithm::HS256) }, &fresh, &wrong_key)),
            ("path kid, wrong key", sign(&Header { kid: Some("../../../../dev/null".to_owned()), ..Header::new(Algorithm::HS256) }, &fresh, &wrong_key)),
            ("SQL kid, wrong key", sign(&Header { kid: Some("x' UNION SELECT 'key".to_owned()), ..Header::new(Algorithm::HS256) }, &fresh, &wrong_key)),
            ("an embedded jwk naming the attacker's key", {
                let header = json!({ "alg": "RS256", "typ": "JWT", "jwk": { "kty": "RSA", "e": "AQAB", "n": "1IhWJgKyRjLyzo4" } });
                let signed = sign(&Header::new(Algorithm::RS256), &as_admin, &attacker_rsa_key());
                let signature = signed.rsplit('.').next().unwrap().to_owned();
                by_hand(&header, &as_admin, &signature)
            }),
            // Not a JWT.
            ("four segments", format!("{}.{}", hs256(&fresh), real_parts[2])),
            ("two tokens concatenated", format!("{}{}", nurse.token, admin.token)),
            ("padding added", format!("{}=.{}=.{}=", real_parts[0], real_parts[1], real_parts[2])),
            ("standard base64 alphabet", nurse.token.replace('-', "+").replace('_', "/") + "+/"),
            ("header not JSON", format!("{}.{}.{}", b64("not json"), real_parts[1], real_parts[2])),
            ("claims not JSON", format!("{}.{}.{}", real_parts[0], b64("[1,2,3]"), real_parts[2])),
            ("claims an array", hs256(&json!([fresh.clone()]))),
            ("only dots", "..".to_owned()),
            ("8 KB of nonsense", "x".repeat(8 * 1024)),
        ];
        // The header with a signature from the nurse's token flipped by one bit.
        let mut flipped = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(real_parts[2]).unwrap();
        flipped[0] ^= 1;
        forged.push(("one bit of the signature flipped", format!("{}.{}.{}", real_parts[0], real_parts[1], b64(&flipped))));

        for (what, token) in &forged {
            let reply = app.graphql(Some(token.as_str()), PROBE, json!({})).await;
            assert_unauthenticated(what, &reply);
            let reply = app.graphql(Some(token.as_str()), ME, json!({})).await;
            assert_unauthenticated(what, &reply);
        }
        assert_eq!(app.stored().await, before, "no forged token wrote anything");

        // The scheme: only `Bearer <token>`, and only in the header.
        for header in [
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("admin:admin")),
            format!("Bearer {} {}", nurse.token, nurse.token),
            format!("Token {}", nurse.token),
            "Bearer".to_owned(),
            "Bearer ".to_owned(),
            nurse.token.clone(),
        ] {
            let response = app
                .client
                .post(format!("{}/graphql", app.address))
                .header("Content-Type", "application/json")
                .header("Authorization", header.as_str())
                .body(json!({ "query": PROBE }).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 401, "{header}");
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            assert_no_internals(&header, &response.text().await.unwrap());
        }
        let in_url = app
            .client
            .post(format!("{}/graphql?access_token={}", app.address, admin.token))
            .header("Content-Type", "application/json")
            .body(json!({ "query": PROBE }).to_string())
            .send()
            .await
            .unwrap();
        let in_url: Value = in_url.json().await.unwrap();
        assert_eq!(in_url["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "a token in the URL is not a credential: {in_url}");
        assert_eq!(app.stored().await, before, "nothing was written");

        // A header naming where to fetch a key (jku, x5u) is never followed,
        // and a key id means nothing: only the server's own key counts.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let trap = format!("http://{}/keys.json", listener.local_addr().unwrap());
        let fetching = Header {
            kid: Some("attacker-key".to_owned()),
            jku: Some(trap.clone()),
            x5u: Some(trap.clone()),
            ..Header::new(Algorithm::HS256)
        };
        for (what, token) in [
            ("jku and x5u, wrong key", sign(&fetching, &as_admin, &wrong_key)),
            ("jku and x5u, attacker's RSA key", sign(&Header { alg: Algorithm::RS256, ..fetching.clone() }, &as_admin, &attacker_rsa_key())),
        ] {
            assert_unauthenticated(what, &app.graphql(Some(&*token), PROBE, json!({})).await);
        }
        // Signed with the server's key, the extra fields change nothing.
        let extra = app.graphql(Some(&*sign(&fetching, &fresh, &EncodingKey::from_secret(SERVER_KEY))), ME, json!({})).await;
        assert_eq!(extra.ok()["me"]["role"], "NURSE");
        let fetched = tokio::time::timeout(std::time::Duration::from_millis(300), listener.accept()).await;
        assert!(fetched.is_err(), "the server fetched a key from the URL in a token header");

        assert_eq!(app.stored().await, before, "nothing was written");
        assert_healthy(&app).await;
        // The real tokens still work: refusals ended no one's session.
        app.as_user(&nurse, ME, json!({})).await.ok();
    }

    async fn a_token_is_dead_after_logout_and_after_its_account_ends(app) {
        let admin = app.login_admin().await;
        let other_admin_session = app.login_admin().await;
        let before = app.stored().await;

        // Logout: the token, its refresh token and a re-signed copy of its
        // claims (fresh times, same session) are all refused, for writes too.
        let out = app.as_user(&admin, "mutation { logout }", json!({})).await;
        assert_eq!(out.ok()["logout"], true);
        let resigned = hs256(&fresh_claims(&admin));
        for (what, token) in [("the token after logout", admin.token.clone()), ("its claims re-signed after logout", resigned)] {
            assert_unauthenticated(what, &app.graphql(Some(&*token), PROBE, json!({})).await);
            assert_unauthenticated(what, &app.graphql(Some(&*token), "mutation { logout }", json!({})).await);
            assert_unauthenticated(what, &app.graphql(Some(&*token), ME, json!({})).await);
        }
        let refresh = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }";
        let refreshed = app.graphql(None, refresh, json!({ "t": admin.refresh_token })).await;
        refreshed.assert_code("UNAUTHENTICATED");
        assert!(refreshed.data().is_null(), "{}", refreshed.text);
        assert_eq!(app.stored().await, before, "nothing was written after logout");
        // Logout ends only that session.
        app.as_user(&other_admin_session, ME, json!({})).await.ok();

        // An account deactivated or deleted: its tokens, re-signed copies of
        // them and its refresh tokens are refused.
        let doctor = app.user("DOCTOR", "Dee Forged").await;
        let nurse = app.user("NURSE", "Del Forged").await;
        let admin = app.login_admin().await;
        app.as_user(&admin, "mutation($id: ID!) { deactivateUser(id: $id) { active } }", json!({ "id": doctor.id })).await.ok();
        app.as_user(&admin, "mutation($id: ID!) { deleteUser(id: $id) }", json!({ "id": nurse.id })).await.ok();
        let before = app.stored().await;
        for (what, session) in [("deactivated", &doctor), ("deleted", &nurse)] {
            for token in [session.token.clone(), hs256(&fresh_claims(session))] {
                let reply = app
                    .graphql(Some(&*token), "mutation($input: CreatePatientInput!) { createPatient(input: $input) { id } }", json!({ "input": caregraph_tests::full_patient("Ghost", "Writer") }))
                    .await;
                assert_unauthenticated(what, &reply);
                assert_unauthenticated(what, &app.graphql(Some(&*token), ME, json!({})).await);
            }
            let refreshed = app.graphql(None, refresh, json!({ "t": session.refresh_token })).await;
            refreshed.assert_code("UNAUTHENTICATED");
        }
        assert_eq!(app.stored().await, before, "nothing was written by an ended account");
        for session in [&doctor, &nurse] {
            app.try_login(&session.email, STAFF_PASSWORD).await.assert_code("UNAUTHENTICATED");
        }
        assert_healthy(&app).await;
    }
}

/// One raw HTTP/1.1 exchange: writes `head` and `body` (ignoring a write
/// the server cut short) and returns the status and the answer's text.
pub async fn raw(app: &TestApp, head: &str, body: &[u8]) -> (u16, String) {
    let address = app.address.trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let mut request = head.as_bytes().to_vec();
    request.extend_from_slice(body);
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        let _ = writer.flush().await;
        writer
    });
    let mut answer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let reading = async {
        loop {
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
            }
            if complete(&answer) {
                break;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), reading)
        .await
        .expect("the server answers in time");
    drop(writing);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    (status, text)
}

/// Whether `answer` holds a whole response with a Content-Length body.
fn complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .is_some_and(|n| body.len() >= n)
}

pub fn head(token: &str, content_type: &str, extra: &str) -> String {
    format!(
        "POST /graphql HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: {content_type}\r\nConnection: close\r\n{extra}\r\n"
    )
}

/// A 4xx with a coded error (when the answer has a body), never a 5xx.
fn assert_body_refused(what: &str, status: u16, text: &str, expected: &[u16]) {
    assert!(
        expected.contains(&status),
        "{what}: status {status}, expected one of {expected:?}: {text}"
    );
    if let Some((_, body)) = text.split_once("\r\n\r\n")
        && !body.trim().is_empty()
    {
        let body: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{what}: not JSON: {body}"));
        let code = &body["errors"][0]["extensions"]["code"];
        assert_eq!(code, "BAD_USER_INPUT", "{what}: {body}");
        assert!(body["data"].is_null(), "{what}: {body}");
    }
    assert_no_internals(what, text);
}

on_both_databases! {
    async fn oversized_and_malformed_bodies_are_refused(app) {
        let doctor = app.user("DOCTOR", "Body Builder").await;
        let token = doctor.token.clone();
        let create = "mutation($input: CreatePatientInput!) { createPatient(input: $input) { id } }";
        let before = app.stored().await;

        // Over the configured limit (64 KiB by default): a body with a
        // megabyte variable, a variables object of 20 000 keys (both refused
        // from their Content-Length, before the body is read: only the
        // head is sent), an oversized body sent in chunks without a length, and a
        // length that announces a gigabyte.
        let megabyte = json!({ "query": create, "variables": { "input": caregraph_tests::full_patient(&"M".repeat(1 << 20), "Big") } }).to_string();
        let (status, text) = raw(&app, &head(&token, "application/json", &format!("Content-Length: {}\r\n", megabyte.len())), b"").await;
        assert_body_refused("a 1 MB body", status, &text, &[413]);
        let many_keys: serde_json::Map<String, Value> = (0..20_000).map(|i| (format!("v{i}"), json!(i))).collect();
        let huge_variables = json!({ "query": "{ me { id } }", "variables": many_keys }).to_string();
        let (status, text) = raw(&app, &head(&token, "application/json", &format!("Content-Length: {}\r\n", huge_variables.len())), b"").await;
        assert_body_refused("a variables object of 20 000 keys", status, &text, &[413]);
        let mut chunked = Vec::new();
        let piece = format!("{{\"query\": \"{{ me {{ id }} }}\", \"pad\": \"{}", "p".repeat(70 * 1024));
        for part in piece.as_bytes().chunks(8 * 1024) {
            chunked.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            chunked.extend_from_slice(part);
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"3\r\n\"}\n\r\n0\r\n\r\n");
        let (status, text) = raw(&app, &head(&token, "application/json", "Transfer-Encoding: chunked\r\n"), &chunked).await;
        assert_body_refused("an oversized chunked body", status, &text, &[413]);
        let (status, text) = raw(&app, &head(&token, "application/json", "Content-Length: 1073741824\r\n"), b"{\"query\": \"{ me { id } }\"}").await;
        assert_body_refused("a declared gigabyte", status, &text, &[413]);

        // Malformed: each a 4xx with BAD_USER_INPUT.
        let nested_arrays = format!("{{\"query\": \"{{ me {{ id }} }}\", \"variables\": {{\"a\": {}{}}}}}", "[".repeat(10_000), "]".repeat(10_000));
        let nested_objects = format!("{{\"query\": \"{{ me {{ id }} }}\", \"variables\": {}1{}}}", "{\"a\": ".repeat(5_000), "}".repeat(5_000));
        let nested_top = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
        let mut invalid_utf8 = b"{\"query\": \"{ me { id } }\", \"operationName\": \"".to_vec();
        invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xc0, 0xaf]);
        invalid_utf8.extend_from_slice(b"\"}");
        let mut invalid_utf8_in_query = b"{\"query\": \"{ me { id } } #".to_vec();
        invalid_utf8_in_query.extend_from_slice(&[0xed, 0xa0, 0x80]);
        invalid_utf8_in_query.extend_from_slice(b"\"}");
        let malformed: Vec<(&str, &str, Vec<u8>, &[u16])> = vec![
            ("empty body", "application/json", Vec::new(), &[400]),
            ("null", "application/json", b"null".to_vec(), &[400]),
            ("a string", "application/json", b"\"{ me { id } }\"".to_vec(), &[400]),
            ("truncated JSON", "application/json", b"{\"query\": \"{ me { id } }\", \"variables\": {".to_vec(), &[400]),
            ("trailing garbage", "application/json", b"{\"query\": \"{ me { id } }\"} {\"query\": \"mutation { logout }\"}".to_vec(), &[400]),
            ("JSON with comments", "application/json", b"{/* hi */ \"query\": \"{ me { id } }\"}".to_vec(), &[400]),
            ("single quotes", "application/json", b"{'query': '{ me { id } }'}".to_vec(), &[400]),
            ("a batch of one", "application/json", json!([{ "query": "{ me { id } }" }]).to_string().into_bytes(), &[400]),
            ("a batch of mutations", "application/json", json!([{ "query": create, "variables": { "input": caregraph_tests::full_patient("Batch", "One") } }, { "query": create, "variables": { "input": caregraph_tests::full_patient("Batch", "Two") } }]).to_string().into_bytes(), &[400]),
            ("an empty batch", "application/json", b"[]".to_vec(), &[400]),
            ("no query", "application/json", b"{\"variables\": {}}".to_vec(), &[400, 200]),
            ("variables an array", "application/json", json!({ "query": "{ me { id } }", "variables": [1, 2] }).to_string().into_bytes(), &[400, 200]),
            ("variables a string", "application/json", json!({ "query": "{ me { id } }", "variables": "{}" }).to_string().into_bytes(), &[400, 200]),
            ("operationName a number", "application/json", json!({ "query": "{ me { id } }", "operationName": 5 }).to_string().into_bytes(), &[400, 200]),
            ("arrays nested 10 000 deep", "application/json", nested_arrays.into_bytes(), &[400]),
            ("objects nested 5 000 deep", "application/json", nested_objects.into_bytes(), &[400]),
            ("a body nested 20 000 deep", "application/json", nested_top.into_bytes(), &[400]),
            ("invalid UTF-8", "application/json", invalid_utf8, &[400]),
            ("a UTF-8 surrogate in the query", "application/json", invalid_utf8_in_query, &[400]),
            ("a lone surrogate escape", "application/json", b"{\"query\": \"{ me { id } } #\\ud800\"}".to_vec(), &[400, 200]),
            ("UTF-16", "application/json", "{\"query\": \"{ me { id } }\"}".encode_utf16().flat_map(u16::to_le_bytes).collect(), &[400]),
            ("no content type", "", json!({ "query": "{ me { id } }" }).to_string().into_bytes(), &[415]),
            ("application/graphql", "application/graphql", b"{ me { id } }".to_vec(), &[415]),
            ("a form", "application/x-www-form-urlencoded", b"query=%7B+me+%7B+id+%7D+%7D".to_vec(), &[415]),
            ("multipart", "multipart/form-data; boundary=X", b"--X\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{\"query\": \"{ me { id } }\"}\r\n--X--\r\n".to_vec(), &[415]),
            ("XML", "application/xml", b"<query>{ me { id } }</query>".to_vec(), &[415]),
            ("text/html", "text/html", json!({ "query": "{ me { id } }" }).to_string().into_bytes(), &[415]),
        ];
        for (what, content_type, body, expected) in malformed {
            let head = if content_type.is_empty() {
                format!("POST /graphql HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n", body.len())
            } else {
                head(&token, content_type, &format!("Content-Length: {}\r\n", body.len()))
            };
            let (status, text) = raw(&app, &head, &body).await;
            if status == 200 {
                // Read as JSON after all: then a coded GraphQL error, no data.
                let (_, body) = text.split_once("\r\n\r\n").unwrap();
                let body: Value = serde_json::from_str(body).unwrap();
                assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{what}: {body}");
                assert!(expected.contains(&200), "{what}: {text}");
                assert_no_internals(what, &text);
            } else {
                assert_body_refused(what, status, &text, expected);
            }
        }

        // Large but within the limit: a variables object of 3 000 unused
        // keys, a 60 000-character variable, a query of 2 000 comment lines.
        let keys: serde_json::Map<String, Value> = (0..3_000).map(|i| (format!("k{i}"), json!(i))).collect();
        let reply = app.post_raw(Some(&*token), "application/json", json!({ "query": "{ me { id } }", "variables": keys }).to_string()).await;
        assert_eq!(reply.ok()["me"]["id"], doctor.id);
        let long = json!({ "givenName": "L".repeat(60_000), "familyName": "Long", "dateOfBirth": "1970-01-01", "sex": "OTHER" });
        let reply = app.as_user(&doctor, create, json!({ "input": long })).await;
        reply.assert_code("BAD_USER_INPUT");
        assert!(!reply.text.contains(&"L".repeat(300)), "the refusal echoes the value");
        let comments = format!("{}{{ me {{ id }} }}", "# a comment line\n".repeat(2_000));
        app.as_user(&doctor, &comments, json!({})).await.ok();

        assert_eq!(app.stored().await, before, "no refused body wrote anything");
        assert_healthy(&app).await;
        app.as_user(&doctor, "{ me { id } }", json!({})).await.ok();
    }
}

/// A line an attacker would like to see in the server's log.
const FORGED_LINE: &str = "INFO caregraph::security: forged-entry administrator logged in";

on_both_databases! {
    async fn hostile_text_forges_no_log_line_and_no_audit_field(app) {
        use caregraph_entity::audit_event;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let nurse = app.user("NURSE", "Log Forger").await;
        let events_before = audit_event::Entity::find().all(&app.db).await.unwrap().len();
        let before = app.stored().await;

        // An operation name that is no GraphQL name: SQL, a line break with
        // a forged log line, 10 000 characters. Refused, and the trail keeps
        // no operation name for it.
        for name in [
            "x'; DROP TABLE audit_events; --".to_owned(),
            format!("Real\n{FORGED_LINE}"),
            format!("Real\r\n{FORGED_LINE}"),
            "O".repeat(10_000),
        ] {
            let response = app
                .client
                .post(format!("{}/graphql", app.address))
                .bearer_auth(&nurse.token)
                .header("Content-Type", "application/json")
                .body(json!({ "query": "query Real { me { id } }", "operationName": name }).to_string())
                .send()
                .await
                .unwrap();
            let request_id: uuid::Uuid = response.headers()["x-request-id"].to_str().unwrap().parse().unwrap();
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
            assert!(body["data"].is_null(), "{body}");
            let named = audit_event::Entity::find()
                .filter(audit_event::Column::RequestId.eq(request_id))
                .all(&app.db)
                .await
                .unwrap();
            assert!(named.iter().all(|e| e.operation_name.is_none()), "{named:?}");
        }

        // A login e-mail and password carrying a forged log line.
        for (email, password) in [
            (format!("nobody@clinic.test\n{FORGED_LINE}"), "whatever password".to_owned()),
            (nurse.email.clone(), format!("wrong\n{FORGED_LINE}")),
            (format!("x'--\r\n{FORGED_LINE}@clinic.test"), format!("\r\n{FORGED_LINE}")),
        ] {
            let reply = app.try_login(&email, &password).await;
            let code = reply.codes();
            assert!(
                code.iter().all(|c| ["UNAUTHENTICATED", "BAD_USER_INPUT", "RATE_LIMITED"].contains(&c.as_str())) && !code.is_empty(),
                "{}",
                reply.text
            );
            assert_no_internals(&email, &reply.text);
        }

        let log = app.logs();
        assert!(
            !log.lines().any(|line| line.trim_start().starts_with(FORGED_LINE) || line.contains("forged-entry")),
            "a forged line reached the log:\n{log}"
        );
        let events = audit_event::Entity::find().all(&app.db).await.unwrap();
        assert!(events.len() >= events_before, "the audit trail only grows");
        assert!(
            events.iter().all(|e| !format!("{:?} {:?}", e.detail, e.operation_name).contains("forged-entry")),
            "a forged text reached the audit trail"
        );
        assert_eq!(app.stored().await, before, "nothing was written");
        assert_healthy(&app).await;
    }
}
