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
use crate::config::Config;
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
fn start_audit(config: &Config, db: &DatabaseConnection) -> Audit {
    if config.bench_audit_off {
        tracing::error!(
            target: "caregraph::security",
            "AUDITING IS OFF (CAREGRAPH_BENCH_AUDIT_OFF=1): no access, login or change is recorded. \
             This setting is for benchmarks only; never use it with real patient data."
        );
        return Audit::off_for_benchmarks();
    }
    Audit::start(db.clone())
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
        let audit = start_audit(&config, &db);
        let sessions = Arc::new(SessionStore::new(db.clone(), &config, audit.clone()).await?);
        let pseudonym_key =
            Arc::new(crate::auth::sessions::shared_key(&db, crate::access::PSEUDONYM_KEY_NAME).await?);
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
            schema: graphql::build(),
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
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(
                    DefaultHeaders::new()
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("Referrer-Policy", "no-referrer"))
                        .add(("X-Frame-Options", "DENY")),
                )
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
        })
        .listen(listener)
        .map_err(|source| StartError::Bind {
            address: config.listen.clone(),
            source,
        })?;
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        tracing::info!(port, "caregraph listening");
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
