//! The `caregraph` command as an operator runs it on the server host.

use std::io::Write;
use std::process::{Command, Stdio};

fn sqlite_url() -> (String, std::path::PathBuf) {
    let path = std::env::temp_dir().join(format!("caregraph-cli-{}.db", uuid::Uuid::new_v4().simple()));
    (format!("sqlite://{}?mode=rwc", path.display()), path)
}

fn create_admin(url: &str, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_caregraph"))
        .arg("create-admin")
        .args(args)
        .env("CAREGRAPH_DATABASE_URL", url)
        .env("CAREGRAPH_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn create_admin_reads_the_password_from_standard_input_and_never_prints_it() {
    let (url, path) = sqlite_url();
    let out = create_admin(
        &url,
        &["--email", "Ops.Admin@clinic.test"],
        "an operator's passphrase\n",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("administrator ops.admin@clinic.test created"),
        "{stdout}"
    );
    assert!(!stdout.contains("passphrase") && !stderr.contains("passphrase"));

    // The same e-mail again, and a password too short: refused, non-zero.
    let again = create_admin(
        &url,
        &["--email=ops.admin@clinic.test"],
        "another operator passphrase\n",
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let short = create_admin(&url, &["--email", "short@clinic.test"], "too short\n");
    assert!(!short.status.success());
    let short_err = String::from_utf8_lossy(&short.stderr);
    assert!(
        short_err.contains("characters") && !short_err.contains("too short"),
        "{short_err}"
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn create_admin_without_an_email_shows_its_usage() {
    let (url, _) = sqlite_url();
    let out = create_admin(&url, &[], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("create-admin --email"));
}
