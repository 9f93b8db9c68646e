//! TLS from `CAREGRAPH_TLS_CERT` / `CAREGRAPH_TLS_KEY`: the server speaks
//! HTTPS only, with HSTS; a bad certificate stops the start.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use caregraph::config::{Config, TlsFiles};
use caregraph_tests::on_both_databases;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A self-signed certificate for `localhost`, made once per test process:
/// (its DER for the client to trust, the files the server reads).
fn certificate() -> &'static (CertificateDer<'static>, TlsFiles) {
    static CERT: OnceLock<(CertificateDer<'static>, TlsFiles)> = OnceLock::new();
    CERT.get_or_init(|| {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("a self-signed certificate");
        let dir = std::env::temp_dir().join(format!("caregraph-tls-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let cert: PathBuf = dir.join("cert.pem");
        let key: PathBuf = dir.join("key.pem");
        std::fs::write(&cert, generated.cert.pem()).unwrap();
        std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
        (
            generated.cert.der().clone(),
            TlsFiles {
                cert: cert.display().to_string(),
                key: key.display().to_string(),
            },
        )
    })
}

fn with_tls(config: &mut Config) {
    config.tls = Some(certificate().1.clone());
}

fn port(address: &str) -> u16 {
    address.rsplit(':').next().unwrap().parse().unwrap()
}

/// One HTTP/1.1 exchange over TLS, trusting only the test's certificate:
/// the raw answer (status line, headers, body).
async fn https(port: u16, request: &str) -> String {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certificate().0.clone()).unwrap();
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("the TLS handshake succeeds with the configured certificate");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 8192];
    // Until the server closes (it may do so without close_notify).
    while let Ok(n) = tls.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8(answer).unwrap()
}

fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let head = answer.split("\r\n\r\n").next().unwrap();
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

on_both_databases! {
    configure = with_tls;

    async fn tls_serves_graphql_with_hsts(app) {
        let port = port(&app.address);
        let body = r#"{"query":"{ __typename }"}"#;
        let answer = https(
            port,
            &format!(
                "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains(r#""__typename":"Query""#), "{answer}");
        assert_eq!(header(&answer, "strict-transport-security"), Some("max-age=31536000"));
        assert_eq!(header(&answer, "cache-control"), Some("no-store"));
        assert_eq!(header(&answer, "x-content-type-options"), Some("nosniff"));

        let health = https(port, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await;
        assert!(health.starts_with("HTTP/1.1 200"), "{health}");
        assert!(header(&health, "strict-transport-security").is_some());

        // Plain HTTP on the TLS port gets no answer over HTTP.
        let plain = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/graphql"))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await;
        assert!(plain.is_err() || !plain.unwrap().status().is_success());
    }
}

#[tokio::test]
async fn a_missing_or_bad_certificate_stops_the_start() {
    let dir = std::env::temp_dir();
    let id = uuid::Uuid::new_v4().simple();
    let not_pem = dir.join(format!("caregraph-not-a-cert-{id}.pem"));
    std::fs::write(&not_pem, "not a certificate").unwrap();
    for (cert, key, variable) in [
        (
            dir.join(format!("missing-{id}.pem")).display().to_string(),
            certificate().1.key.clone(),
            "CAREGRAPH_TLS_CERT",
        ),
        (
            not_pem.display().to_string(),
            certificate().1.key.clone(),
            "CAREGRAPH_TLS_CERT",
        ),
        (
            certificate().1.cert.clone(),
            not_pem.display().to_string(),
            "CAREGRAPH_TLS_KEY",
        ),
    ] {
        let mut config = Config::with_database(format!(
            "sqlite://{}?mode=rwc",
            dir.join(format!("cg-tls-{id}.db")).display()
        ));
        config.listen = "127.0.0.1:0".to_owned();
        config.tls = Some(TlsFiles { cert, key });
        let error = match caregraph::startup::Application::build(config).await {
            Ok(_) => panic!("the server started with a bad certificate"),
            Err(e) => e.to_string(),
        };
        assert!(error.contains(variable), "{error}");
        assert!(!error.contains("PRIVATE KEY"), "{error}");
    }
    let _ = std::fs::remove_file(not_pem);
}

/// A skip is printed and, like the harness's PostgreSQL skips, appended to
/// the file `.ci/run` counts (`CAREGRAPH_TEST_SKIP_FILE`): it never passes
/// for a success.
fn skip(reason: &str) {
    let line = format!(
        "SKIPPED-POSTGRES-TLS transport::postgres_over_tls_verifies_the_servers_certificate: {reason}"
    );
    eprintln!("{line}");
    if let Some(path) = std::env::var_os("CAREGRAPH_TEST_SKIP_FILE") {
        use std::io::Write as _;
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| writeln!(file, "{}", line.replace('\n', " ")));
    }
}

/// Whether the connection `db` holds to PostgreSQL is encrypted.
async fn encrypted(db: &sea_orm::DatabaseConnection) -> bool {
    use sea_orm::{ConnectionTrait, Statement};
    let row = db
        .query_one_raw(Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<bool>("", "ssl").unwrap()
}

/// `sslmode=verify-full` reaches PostgreSQL over TLS, checking its
/// certificate against `sslrootcert` and its name; a certificate from
/// elsewhere is refused. Runs where the local PostgreSQL has SSL on with a
/// certificate for `localhost` (Debian's default); says so and passes
/// where it has not, since there is nothing to connect to.
#[tokio::test]
async fn postgres_over_tls_verifies_the_servers_certificate() {
    use sea_orm::{ConnectionTrait, Statement};
    let admin_url = caregraph_tests::postgres_admin_url();
    let Ok((admin, _)) = caregraph::db::connect(&admin_url).await else {
        skip(&format!("PostgreSQL is not reachable at {admin_url}"));
        return;
    };
    let setting = |name: &'static str| {
        let admin = admin.clone();
        async move {
            admin
                .query_one_raw(Statement::from_string(
                    sea_orm::DatabaseBackend::Postgres,
                    format!("SELECT current_setting('{name}') AS v"),
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<String>("", "v")
                .unwrap()
        }
    };
    let cert_file = setting("ssl_cert_file").await;
    if setting("ssl").await != "on"
        || !std::path::Path::new(&cert_file).exists()
        || !admin_url.contains("@127.0.0.1:")
    {
        skip("the local PostgreSQL serves no TLS with a readable certificate");
        return;
    }
    // The server's certificate names `localhost`; a name check needs that name.
    let base = admin_url.replacen("@127.0.0.1:", "@localhost:", 1);
    let separator = if base.contains('?') { '&' } else { '?' };
    // TLS is compiled in: an encrypted connection.
    let encrypted_only = format!("{admin_url}{separator}sslmode=require");
    let (db, _) = caregraph::db::connect(&encrypted_only)
        .await
        .expect("sslmode=require connects");
    assert!(encrypted(&db).await);
    // A server certificate from another root is refused.
    let other = format!(
        "{base}{separator}sslmode=verify-full&sslrootcert={}",
        certificate().1.cert
    );
    assert!(
        caregraph::db::connect(&other).await.is_err(),
        "a server certificate from another root must be refused"
    );
    // The server's own certificate as the root, and its name: verified.
    let verified = format!("{base}{separator}sslmode=verify-full&sslrootcert={cert_file}");
    match caregraph::db::connect(&verified).await {
        Ok((db, _)) => assert!(encrypted(&db).await, "verify-full must encrypt"),
        // Not a self-signed certificate for localhost (Debian's snakeoil
        // names the host it was made on): nothing here to verify against.
        Err(e) => skip(&format!(
            "the server's certificate does not verify as localhost: {e}"
        )),
    }
}
