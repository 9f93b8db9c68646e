//! A fresh database per test: a SQLite file in the temp directory, or a new
//! PostgreSQL database on the server named by `CAREGRAPH_TEST_POSTGRES_URL`.
//!
//! PostgreSQL is never skipped silently: an unreachable server fails the test,
//! unless `CAREGRAPH_TEST_SKIP_POSTGRES=1` asks for a skip, which is refused
//! under `CI=true`.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use sea_orm::{ConnectionTrait, Database, Statement};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestDatabase {
    pub url: String,
    file: Option<PathBuf>,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Option<TestDatabase> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let file = std::env::temp_dir().join(format!("caregraph-test-{id}.db"));
                Some(TestDatabase {
                    url: format!("sqlite://{}?mode=rwc", file.display()),
                    file: Some(file),
                })
            }
            Backend::Postgres => postgres(&id).await,
        }
    }
}

/// The PostgreSQL server's maintenance database, where test databases are made.
pub fn postgres_admin_url() -> String {
    std::env::var("CAREGRAPH_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// Printed by every skipped test (`cargo test` shows it with `--nocapture`).
pub const SKIP_MARKER: &str = "SKIPPED-POSTGRES";

/// A skip must not pass for a success: it is printed, and appended as one
/// line to the file named by `CAREGRAPH_TEST_SKIP_FILE` (`.ci/run` sets it
/// and counts the lines in its summary).
fn record_skip(reason: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_owned();
    let line = format!(
        "{SKIP_MARKER} {test}: CAREGRAPH_TEST_SKIP_POSTGRES=1 and PostgreSQL is unreachable: {reason}"
    );
    println!("{line}");
    eprintln!("{line}");
    if let Some(path) = std::env::var_os("CAREGRAPH_TEST_SKIP_FILE") {
        use std::io::Write as _;
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(format!("{}\n", line.replace('\n', " ")).as_bytes()));
        if let Err(e) = written {
            panic!(
                "cannot record the skip in {}: {e}",
                std::path::Path::new(&path).display()
            );
        }
    }
}

async fn postgres(id: &str) -> Option<TestDatabase> {
    let admin_url = postgres_admin_url();
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let skip = std::env::var("CAREGRAPH_TEST_SKIP_POSTGRES").is_ok_and(|v| v == "1");
    let admin = match Database::connect(admin_url.as_str()).await {
        Ok(admin) => admin,
        Err(e) if skip && !in_ci => {
            record_skip(&e.to_string());
            return None;
        }
        Err(e) => panic!(
            "PostgreSQL is not reachable at {admin_url}: {e}. Start it (`.ci/run` does), point \
             CAREGRAPH_TEST_POSTGRES_URL at one, or set CAREGRAPH_TEST_SKIP_POSTGRES=1 to skip \
             explicitly (refused under CI=true)."
        ),
    };
    // Databases of earlier runs that did not clean up: drop those over an hour old.
    let old = admin
        .query_all_raw(Statement::from_string(
            admin.get_database_backend(),
            "SELECT datname FROM pg_database WHERE datname LIKE 'caregraph_test_%'",
        ))
        .await
        .unwrap_or_default();
    for row in old {
        let Ok(name) = row.try_get::<String>("", "datname") else {
            continue;
        };
        let stamp = name
            .split('_')
            .nth(2)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        if stamp.saturating_add(3600) < now_secs() {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
    let name = format!("caregraph_test_{}_{id}", now_secs());
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("a test database can be created");
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(&admin_url);
    Some(TestDatabase {
        url: format!("{base}/{name}"),
        file: None,
    })
}
