//! How much a burst of logins slows other queries. Password hashing runs on
//! the blocking pool, so `me` queries should stay fast while 32 logins hash.
//!
//! `cargo bench -p caregraph-tests --bench login_burst` (SQLite; set
//! `BENCH_POSTGRES=1` for PostgreSQL). Prints timings; asserts nothing.

use std::time::{Duration, Instant};

use caregraph_tests::{Backend, TestApp};
use serde_json::json;

const LOGINS: usize = 32;
const QUERIES: usize = 50;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn me_latencies(app: &TestApp, token: &str) -> Vec<Duration> {
    let mut out = Vec::with_capacity(QUERIES);
    for _ in 0..QUERIES {
        let start = Instant::now();
        app.graphql(Some(token), "{ me { id } }", json!({})).await.ok();
        out.push(start.elapsed());
    }
    out.sort();
    out
}

fn report(label: &str, latencies: &[Duration]) {
    println!(
        "{label:<28} p50 {:>8.2?}  p95 {:>8.2?}  max {:>8.2?}",
        percentile(latencies, 0.5),
        percentile(latencies, 0.95),
        latencies[latencies.len() - 1]
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let backend = if std::env::var_os("BENCH_POSTGRES").is_some() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let app = TestApp::spawn(backend).await.expect("a database");
    let nurse = app.user("NURSE", "Bench Nurse").await;
    let quiet = me_latencies(&app, &nurse.token).await;

    let logins = Instant::now();
    let burst: Vec<_> = (0..LOGINS)
        .map(|_| {
            let client = app.client.clone();
            let url = format!("{}/graphql", app.address);
            let email = nurse.email.clone();
            tokio::spawn(async move {
                let body = json!({
                    "query": "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
                    "variables": { "e": email, "p": caregraph_tests::STAFF_PASSWORD },
                });
                client.post(url).json(&body).send().await.map(|r| r.status())
            })
        })
        .collect();
    let during = me_latencies(&app, &nurse.token).await;
    for login in burst {
        login.await.expect("task").expect("login answered");
    }
    let burst_time = logins.elapsed();

    println!("backend: {backend:?}");
    report("me, quiet", &quiet);
    report(&format!("me, during {LOGINS} logins"), &during);
    println!("{LOGINS} logins finished in {burst_time:.2?}");
}
