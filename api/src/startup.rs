//! Building the application: policy, database, sessions, HTTP server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, Service};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpMessage as _, HttpServer, web};
use sea_orm::DatabaseConnection;
use tracing::Instrument;

use crate::audit::{Audit, RequestId};
use crate::auth::sessions::SessionStore;
use crate::config::{Config, TlsFiles};
use crate::db::{self, StatementCounter};
use crate::error::AppError;
use crate::http::{self, AppState};
use crate::policy::{BUILT_IN, BUILT_IN_NAME, Policy, PolicyError};
use crate::{bootstrap, graphql};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid access policy: {0}")]
    Policy(#[from] PolicyError),
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Setup(#[from] AppError),
    #[error("TLS: {0}")]
    Tls(String),
}

/// The server's TLS configuration from `CAREGRAPH_TLS_CERT` (a PEM chain,
/// the server's certificate first) and `CAREGRAPH_TLS_KEY` (a PEM private
/// key): rustls with ring, TLS 1.2 and 1.3, rustls's safe defaults.
pub fn tls_config(files: &TlsFiles) -> Result<rustls::ServerConfig, StartError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            StartError::Tls(format!(
                "cannot read the certificate chain CAREGRAPH_TLS_CERT={}: {e}",
                files.cert
            ))
        })?;
    if certs.is_empty() {
        return Err(StartError::Tls(format!(
            "CAREGRAPH_TLS_CERT={} holds no PEM certificate",
            files.cert
        )));
    }
    // The key's path is named, never its contents.
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        StartError::Tls(format!(
            "cannot read the private key CAREGRAPH_TLS_KEY={}: {e}",
            files.key
        ))
    })?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| {
            StartError::Tls(format!(
                "the certificate and key do not make a TLS configuration: {e}"
            ))
        })
}

/// Loads the policy named in the config (or the built-in one) and checks its
/// field table against the schema: an unclassified field stops the server.
pub fn load_policy(config: &Config) -> Result<Policy, PolicyError> {
    let policy = match &config.policy_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Unreadable {
                path: path.clone(),
                source,
            })?;
            Policy::parse(path, &text)?
        }
        None => Policy::parse(BUILT_IN_NAME, BUILT_IN)?,
    };
    policy.check_fields(&graphql::patient_data_fields(&graphql::build()))?;
    Ok(policy)
}

/// Connects and migrates; used by `serve` and `seed-demo`.
pub async fn open_database(config: &Config) -> Result<(DatabaseConnection, StatementCounter), StartError> {
    let (db, counter) = db::connect(config.database_url.expose_secret()).await?;
    db::migrate(&db).await?;
    Ok((db, counter))
}

/// The audit writer, or (for benchmarks only) none at all.
async fn start_audit(
    config: &Config,
    db: &DatabaseConnection,
    statements: &StatementCounter,
) -> Result<Audit, StartError> {
    if config.bench_audit_off {
        tracing::error!(
            target: "caregraph::security",
            "AUDITING IS OFF (CAREGRAPH_BENCH_AUDIT_OFF=1): no access, login or change is recorded. \
             This setting is for benchmarks only; never use it with real patient data."
        );
        return Ok(Audit::off_for_benchmarks());
    }
    let own = db::connect_audit_writer(config.database_url.expose_secret(), statements).await?;
    Ok(Audit::start(own.unwrap_or_else(|| db.clone())))
}

pub struct Application {
    port: u16,
    server: Server,
    statements: StatementCounter,
    disclosures: crate::access::DisclosureCounter,
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, StartError> {
        let policy = Arc::new(load_policy(&config)?);
        let patient_classes = Arc::new(crate::access::PatientClasses::from_policy(&policy)?);
        tracing::info!(
            policy = policy.source(),
            sha256 = policy.digest(),
            "access policy loaded"
        );
        let (db, statements) = open_database(&config).await?;
        let disclosures = crate::access::DisclosureCounter::default();
        let audit = start_audit(&config, &db, &statements).await?;
        let sessions = Arc::new(SessionStore::new(db.clone(), &config, audit.clone()).await?);
        let pseudonym_key =
            Arc::new(crate::auth::sessions::shared_key(&db, crate::access::PSEUDONYM_KEY_NAME).await?);
        // Read before anything listens: a bad certificate stops the start.
        let tls = config.tls.as_ref().map(tls_config).transpose()?;
        bootstrap::ensure_admin(&db, &config).await?;
        crate::auth::password::warm_up().await;

        let listener = TcpListener::bind(&config.listen).map_err(|source| StartError::Bind {
            address: config.listen.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                address: config.listen.clone(),
                source,
            })?
            .port();
        let state = web::Data::new(AppState {
            schema: graphql::build_with(config.limits, config.introspection),
            graphiql: config.graphiql,
            trusted_proxies: config.trusted_proxies.clone(),
            audit: audit.clone(),
            services: crate::access::Services {
                policy,
                patient_classes,
                db,
                sessions,
                pseudonym_key,
                account_rules: Arc::new(crate::access::AccountRules {
                    staff_email_domains: config.staff_email_domains.clone(),
                }),
                research_release_min_interval: config.research_release_min_interval,
                disclosures: disclosures.clone(),
                audit: audit.clone(),
                break_glass_feed: crate::access::BreakGlassFeed::default(),
            },
            max_body_bytes: config.max_body_bytes,
            body_read_timeout: config.body_read_timeout,
            execution_timeout: config.execution_timeout,
        });
        let https = tls.is_some();
        let server = HttpServer::new(move || {
            // Every answer, unless its handler says otherwise (GraphiQL's
            // static assets): not cached anywhere, not sniffed, not framed.
            let mut headers = DefaultHeaders::new()
                .add(("Cache-Control", "no-store"))
                .add(("X-Content-Type-Options", "nosniff"))
                .add(("Referrer-Policy", "no-referrer"))
                .add(("X-Frame-Options", "DENY"));
            if https {
                // Browsers come back over HTTPS only, for a year.
                headers = headers.add(("Strict-Transport-Security", "max-age=31536000"));
            }
            App::new()
                .app_data(state.clone())
                .wrap(headers)
                .wrap_fn(move |req, srv| {
                    let request_id = uuid::Uuid::new_v4();
                    // The handler stamps the request's audit events with it.
                    req.extensions_mut().insert(RequestId(request_id));
                    // The listening port tells apart servers sharing a process
                    // (the tests route each one's log by it).
                    let span = tracing::info_span!(
                        "request",
                        port,
                        %request_id,
                        method = %req.method(),
                        path = %req.path(),
                        user_id = tracing::field::Empty,
                    );
                    let response = srv.call(req);
                    async move {
                        let mut response = response.await?;
                        tracing::info!(status = response.status().as_u16(), "request finished");
                        if let Ok(value) = HeaderValue::from_str(&request_id.to_string()) {
                            response
                                .headers_mut()
                                .insert(HeaderName::from_static("x-request-id"), value);
                        }
                        Ok(response)
                    }
                    .instrument(span)
                })
                .configure(http::routes)
        });
        let server = match config.workers {
            Some(workers) => server.workers(workers),
            None => server,
        };
        let server = match tls {
            Some(tls) => server.listen_rustls_0_23(listener, tls),
            None => server.listen(listener),
        }
        .map_err(|source| StartError::Bind {
            address: config.listen.clone(),
            source,
        })?;
        tracing::info!(
            port,
            tls = https,
            introspection = config.introspection,
            graphiql = config.graphiql,
            "caregraph listening"
        );
        Ok(Application {
            port,
            server: server.run(),
            statements,
            disclosures,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Reads of patient data the door allowed and denied so far.
    pub fn disclosure_counter(&self) -> crate::access::DisclosureCounter {
        self.disclosures.clone()
    }

    /// SQL statements sent so far; the N+1 tests read it.
    pub fn statement_counter(&self) -> StatementCounter {
        self.statements.clone()
    }

    /// Stops the server from elsewhere (tests, signal handlers).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
