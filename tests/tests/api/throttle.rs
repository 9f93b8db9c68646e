//! Failed logins are throttled per account and per client address, with an
//! exponential back-off that never locks the real user out for long; the
//! client address comes from `X-Forwarded-For` only through a trusted
//! proxy; an unknown e-mail costs the same time as a wrong password.

use std::time::{Duration, Instant};

use caregraph_entity::audit_event;
use caregraph_tests::{ADMIN_EMAIL, ADMIN_PASSWORD, Reply, STAFF_PASSWORD, TestApp, on_both_databases};
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};

const LOGIN: &str = "mutation($email: String!, $password: String!) {
    login(email: $email, password: $password) { accessToken }
}";

/// A login sent through the (trusted) proxy for the client `from`, or
/// straight from 127.0.0.1 when `from` is `None`.
async fn login_from(app: &TestApp, from: Option<&str>, email: &str, password: &str) -> Reply {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("Content-Type", "application/json")
        .body(json!({ "query": LOGIN, "variables": { "email": email, "password": password } }).to_string());
    if let Some(from) = from {
        request = request.header("X-Forwarded-For", format!("{from}, 10.9.9.9"));
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        text,
        body,
        headers,
    }
}

/// The `retryAfterSeconds` of a RATE_LIMITED answer, checked against its
/// `Retry-After` header.
fn retry_after(reply: &Reply) -> u64 {
    reply.assert_code("RATE_LIMITED");
    let seconds = reply.errors()[0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .unwrap_or_else(|| panic!("no retryAfterSeconds: {}", reply.text));
    let header = reply
        .headers
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap();
    assert_eq!(header, seconds.to_string());
    assert!(seconds >= 1);
    seconds
}

fn behind_a_trusted_proxy(config: &mut caregraph::config::Config) {
    // The test's requests come from 127.0.0.1, which then plays the proxy;
    // 10.9.9.9 is a second proxy in the chain.
    config.trusted_proxies = vec!["127.0.0.1".parse().unwrap(), "10.9.9.9".parse().unwrap()];
}

on_both_databases! {
    configure = behind_a_trusted_proxy;

    async fn wrong_passwords_for_one_account_are_held_back_and_the_owner_still_gets_in(app) {
        let nurse = app.user("NURSE", "Tess Throttle").await; // logs in from 127.0.0.1
        let attacker = Some("203.0.113.7");
        let mut answers = Vec::new();
        for _ in 0..30 {
            answers.push(login_from(&app, attacker, &nurse.email, "a wrong guess, long enough").await);
        }
        let codes: Vec<String> = answers.iter().map(|r| r.codes()[0].clone()).collect();
        assert!(codes[..5].iter().all(|c| c == "UNAUTHENTICATED"), "{codes:?}");
        assert!(codes.iter().filter(|c| *c == "RATE_LIMITED").count() >= 20, "{codes:?}");
        let limited = answers.iter().find(|r| r.codes()[0] == "RATE_LIMITED").unwrap();
        retry_after(limited);
        // The right password from the attacker's address, during the back-off: held back too.
        let held = login_from(&app, attacker, &nurse.email, STAFF_PASSWORD).await;
        let wait = retry_after(&held);
        assert!(wait <= 300, "the back-off is capped: {wait}");
        // The owner, from the address the account logged in from before (a
        // known device): not locked out.
        login_from(&app, None, &nurse.email, STAFF_PASSWORD).await.ok();
        // And once the back-off has passed, the right password works from anywhere.
        let nurse2 = app.user("NURSE", "Bea Ckoff").await;
        for _ in 0..5 {
            login_from(&app, Some("198.51.100.20"), &nurse2.email, "another wrong guess here").await;
        }
        let held = login_from(&app, Some("198.51.100.21"), &nurse2.email, STAFF_PASSWORD).await;
        let wait = retry_after(&held);
        tokio::time::sleep(Duration::from_millis(wait * 1000 + 200)).await;
        login_from(&app, Some("198.51.100.21"), &nurse2.email, STAFF_PASSWORD).await.ok();
    }

    async fn one_address_guessing_many_accounts_is_held_back_and_others_are_not(app) {
        let from = Some("203.0.113.99");
        for i in 0..20 {
            login_from(&app, from, &format!("nobody{i}@clinic.test"), "a wrong guess, long enough")
                .await
                .assert_code("UNAUTHENTICATED");
        }
        let held = login_from(&app, from, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        retry_after(&held);
        // Another client address is not affected.
        login_from(&app, Some("198.51.100.7"), ADMIN_EMAIL, ADMIN_PASSWORD).await.ok();
    }

    async fn unknown_emails_are_held_back_like_real_ones(app) {
        let from = Some("203.0.113.5");
        let mut codes = Vec::new();
        for email in [ADMIN_EMAIL, "nobody.at.all@clinic.test"] {
            for _ in 0..6 {
                codes.push(login_from(&app, from, email, "a wrong guess, long enough").await.codes()[0].clone());
            }
        }
        let expected: Vec<&str> = ["UNAUTHENTICATED"; 5].into_iter().chain(["RATE_LIMITED"]).collect();
        assert_eq!(codes[..6], expected[..], "{codes:?}");
        assert_eq!(codes[6..], expected[..], "{codes:?}");
    }

    async fn the_client_address_comes_from_x_forwarded_for_through_a_trusted_proxy(app) {
        login_from(&app, Some("192.0.2.44"), ADMIN_EMAIL, ADMIN_PASSWORD).await.ok();
        let last = audit_event::Entity::find()
            .order_by_desc(audit_event::Column::Seq)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(last.client_addr.as_deref(), Some("192.0.2.44"));
    }
}

on_both_databases! {
    async fn x_forwarded_for_from_an_untrusted_peer_is_ignored(app) {
        login_from(&app, Some("192.0.2.44"), ADMIN_EMAIL, ADMIN_PASSWORD).await.ok();
        let last = audit_event::Entity::find()
            .order_by_desc(audit_event::Column::Seq)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(last.client_addr.as_deref(), Some("127.0.0.1"));
    }
}

fn no_throttle(config: &mut caregraph::config::Config) {
    config.login_throttle.account_failures = 1000;
    config.login_throttle.address_failures = 1000;
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

on_both_databases! {
    configure = no_throttle;

    async fn an_unknown_email_takes_as_long_as_a_wrong_password(app) {
        // Warm up both paths (connections, the dummy hash).
        for _ in 0..3 {
            app.try_login(ADMIN_EMAIL, "a wrong guess, long enough").await;
            app.try_login("nobody@clinic.test", "a wrong guess, long enough").await;
        }
        let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
        // Interleaved, so that whatever else the machine does falls on both alike.
        for i in 0..25 {
            let start = Instant::now();
            app.try_login(ADMIN_EMAIL, "a wrong guess, long enough").await.assert_code("UNAUTHENTICATED");
            wrong.push(start.elapsed());
            let start = Instant::now();
            app.try_login(&format!("nobody{i}@clinic.test"), "a wrong guess, long enough")
                .await
                .assert_code("UNAUTHENTICATED");
            unknown.push(start.elapsed());
        }
        let (wrong, unknown) = (median(wrong), median(unknown));
        let (low, high) = (wrong.min(unknown), wrong.max(unknown));
        let difference = (high - low).as_secs_f64() / high.as_secs_f64();
        assert!(
            difference < 0.2,
            "median of a wrong password {wrong:?}, of an unknown e-mail {unknown:?}: {:.0}% apart",
            difference * 100.0
        );
    }
}
