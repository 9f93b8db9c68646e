//! The black-box test harness: the real server on a free port, a fresh
//! database per test (SQLite file or PostgreSQL database), real logins over
//! HTTP. Tests use only what a client has: HTTP, GraphQL and the documented
//! configuration. The database handle is used to check what was stored.

mod database;
mod logs;
mod stored;

use std::time::Duration;

use caregraph::config::Config;
use caregraph::db::StatementCounter;
use caregraph::startup::Application;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tracing::Instrument;

pub use database::{Backend, TestDatabase, postgres_admin_url};
pub use logs::unattributed_logs;
pub use stored::Stored;

pub const ADMIN_EMAIL: &str = "root-admin@clinic.test";
pub const ADMIN_PASSWORD: &str = "bootstrap admin passphrase";
/// A second administrator, made by the operator (`caregraph create-admin`),
/// who approves the first one's account requests.
pub const APPROVER_EMAIL: &str = "second-admin@clinic.test";
pub const APPROVER_PASSWORD: &str = "second admin passphrase";
/// Every account the harness creates gets this password.
pub const STAFF_PASSWORD: &str = "correct horse battery staple";

/// Runs the test body once on SQLite and once on PostgreSQL, as
/// `<name>::sqlite` and `<name>::postgres`. A leading `configure = f;`
/// changes the server's `Config` (`fn(&mut Config)`) for every test listed.
/// The server is stopped after the body (`TestApp::stop`); a body that
/// panics leaves it to `Drop`.
#[macro_export]
macro_rules! on_both_databases {
    (configure = $configure:expr; $(async fn $name:ident($app:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let Some($app) = $crate::TestApp::spawn_with($crate::Backend::Sqlite, $configure).await else { return };
                    $body
                    $app.stop().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some($app) = $crate::TestApp::spawn_with($crate::Backend::Postgres, $configure).await else { return };
                    $body
                    $app.stop().await;
                }
            }
        )*
    };
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        $crate::on_both_databases! { configure = |_| {}; $(async fn $name($app) $body)* }
    };
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub statements: StatementCounter,
    /// Reads of patient data the server's one door allowed and denied.
    pub disclosures: caregraph::access::DisclosureCounter,
    pub db: sea_orm::DatabaseConnection,
    server: actix_web::dev::ServerHandle,
    /// The task polling the server; `None` once stopped.
    running: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    log: logs::AppLog,
    /// What the server was started with: a second instance uses it too.
    config: Config,
    _database: database::TestDatabase,
}

/// Another server on the same database, with its own connection pool, as a
/// second instance behind a load balancer is.
pub struct OtherInstance {
    pub address: String,
    client: reqwest::Client,
    server: actix_web::dev::ServerHandle,
    running: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl OtherInstance {
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Reply {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .header("Content-Type", "application/json")
            .body(json!({ "query": query, "variables": variables }).to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the second instance answers");
        Reply::read(response).await
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            self.server.stop(true).await;
            let _ = running.await;
        }
    }
}

impl Drop for OtherInstance {
    fn drop(&mut self) {
        if self.running.is_some() {
            drop(self.server.stop(false));
        }
    }
}

impl Drop for TestApp {
    /// The fallback when `stop` was not reached (a failed assertion): no
    /// runtime needed. `ServerHandle::stop` sends its command when called,
    /// not when awaited, and the server task takes it at its next poll; if
    /// the test's runtime shuts down first, dropping that task drops the
    /// server, which closes the listener and stops the workers itself.
    fn drop(&mut self) {
        if self.running.is_some() {
            drop(self.server.stop(false));
        }
    }
}

/// A logged-in user.
#[derive(Clone, Debug)]
pub struct Session {
    pub id: String,
    pub email: String,
    pub token: String,
    pub refresh_token: String,
}

/// A GraphQL response with its HTTP status and raw text.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub text: String,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    async fn read(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            text,
            body,
            headers,
        }
    }

    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    pub fn errors(&self) -> Vec<Value> {
        self.body["errors"].as_array().cloned().unwrap_or_default()
    }

    /// The codes of all errors, in order.
    pub fn codes(&self) -> Vec<String> {
        self.errors()
            .iter()
            .map(|e| e["extensions"]["code"].as_str().unwrap_or("<none>").to_owned())
            .collect()
    }

    /// Asserts there are no errors and returns `data`.
    pub fn ok(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.text
        );
        assert_eq!(self.status, StatusCode::OK, "{}", self.text);
        self.data()
    }

    /// Asserts that every error has this code and there is at least one.
    pub fn assert_code(&self, code: &str) {
        let codes = self.codes();
        assert!(
            !codes.is_empty() && codes.iter().all(|c| c == code),
            "expected {code}, got {}",
            self.text
        );
    }
}

impl TestApp {
    /// `None` only when PostgreSQL is explicitly skipped outside CI.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        TestApp::spawn_with(backend, |_| {}).await
    }

    /// As `spawn`, with the configuration changed by `configure` first.
    pub async fn spawn_with(backend: Backend, configure: fn(&mut Config)) -> Option<TestApp> {
        let mut log = logs::AppLog::new();
        let database = database::TestDatabase::create(backend).await?;
        let mut config = Config::with_database(database.url.clone());
        config.listen = "127.0.0.1:0".to_owned();
        config.jwt_secret = Some(caregraph::domain::Secret::new(rand_bytes()));
        config.admin_email = Some(ADMIN_EMAIL.to_owned());
        config.admin_password = Some(caregraph::domain::Secret::new(ADMIN_PASSWORD.to_owned()));
        config.workers = Some(2);
        // As `CAREGRAPH_MFA_ROLES=` (empty): the suite logs staff in with
        // passwords everywhere; the MFA tests set the roles they test.
        config.mfa_roles = Vec::new();
        configure(&mut config);
        let app = Application::build(config.clone())
            .instrument(log.span())
            .await
            .expect("the server starts");
        let port = app.port();
        log.listening_on(port);
        let statements = app.statement_counter();
        let disclosures = app.disclosure_counter();
        let server = app.handle();
        let running = tokio::spawn(app.run_until_stopped().instrument(log.span()));
        let (db, _) = caregraph::db::connect(&database.url)
            .await
            .expect("the test connects to its database");
        caregraph::bootstrap::create_admin(&db, APPROVER_EMAIL, APPROVER_PASSWORD.to_owned())
            .instrument(log.span())
            .await
            .expect("the operator creates a second administrator");
        Some(TestApp {
            address: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("a client"),
            statements,
            disclosures,
            db,
            server,
            running: Some(running),
            log,
            config,
            _database: database,
        })
    }

    /// A second server on this test's database, configured alike (the same
    /// signing key), with a pool of its own.
    pub async fn second_instance(&self) -> OtherInstance {
        let app = Application::build(self.config.clone())
            .instrument(self.log.span())
            .await
            .expect("the second instance starts");
        let port = app.port();
        let server = app.handle();
        let running = tokio::spawn(app.run_until_stopped().instrument(self.log.span()));
        OtherInstance {
            address: format!("http://127.0.0.1:{port}"),
            client: self.client.clone(),
            server,
            running: Some(running),
        }
    }

    /// Stops the server and waits until it has: the listener is closed and
    /// every worker has finished (graceful: requests in flight complete;
    /// none are, between tests). The database is dropped only after.
    pub async fn stop(mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        self.server.stop(true).await;
        running
            .await
            .expect("the server task ends")
            .expect("the server ran without an I/O error");
        self.log.close();
    }

    /// The URL of this test's database (a second connection, a second
    /// writer, an operator command pointed at it).
    pub fn database_url(&self) -> &str {
        &self._database.url
    }

    /// Everything this app's server logged so far (and the harness's
    /// in-process operator commands run in `log_span`), one event a line.
    pub fn logs(&self) -> String {
        self.log.text()
    }

    /// A span whose events go to this app's log: wrap in-process operator
    /// commands (`unrestricted_publish_release` ...) in it.
    pub fn log_span(&self) -> tracing::Span {
        self.log.span()
    }

    /// Every stored row that a refused mutation could have written (all
    /// tables but sessions and server keys), read with SeaORM.
    pub async fn stored(&self) -> Stored {
        Stored::read(&self.db).await
    }

    pub async fn post_raw(
        &self,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .header("Content-Type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        Reply::read(response).await
    }

    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Reply {
        let body = json!({ "query": query, "variables": variables }).to_string();
        self.post_raw(token, "application/json", body).await
    }

    /// As a logged-in user.
    pub async fn as_user(&self, session: &Session, query: &str, variables: Value) -> Reply {
        self.graphql(Some(&session.token), query, variables).await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("the server answers")
    }

    pub async fn try_login(&self, email: &str, password: &str) -> Reply {
        self.graphql(
            None,
            "mutation($email: String!, $password: String!) {
                login(email: $email, password: $password) {
                    accessToken refreshToken expiresAt user { id role email }
                }
            }",
            json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Session {
        let reply = self.try_login(email, password).await;
        let login = &reply.ok()["login"];
        Session {
            id: login["user"]["id"].as_str().unwrap().to_owned(),
            email: email.to_owned(),
            token: login["accessToken"].as_str().unwrap().to_owned(),
            refresh_token: login["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn login_admin(&self) -> Session {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    pub async fn login_approver(&self) -> Session {
        self.login(APPROVER_EMAIL, APPROVER_PASSWORD).await
    }

    /// Creates an account of the role the way a clinic does and logs it in:
    /// the bootstrap admin requests it, the second admin approves it, and the
    /// new staff member enrols with both halves of the code.
    pub async fn user(&self, role: &str, name: &str) -> Session {
        let email = format!(
            "{}.{}@clinic.test",
            name.to_lowercase().replace(' ', "."),
            uuid::Uuid::new_v4().simple()
        );
        let (id, requester_half) = self.request_account(&email, name, role).await;
        let approver_half = self.approve(&self.login_approver().await, &id).await;
        self.enrol(&format!("{requester_half}{approver_half}"), None, STAFF_PASSWORD)
            .await
            .ok();
        self.login(&email, STAFF_PASSWORD).await
    }

    /// `createUser` as the bootstrap admin: the new account's id and the
    /// requester's half of its code.
    pub async fn request_account(&self, email: &str, name: &str, role: &str) -> (String, String) {
        self.request_account_as(&self.login_admin().await, email, name, role)
            .await
    }

    /// `createUser` as this administrator.
    pub async fn request_account_as(
        &self,
        admin: &Session,
        email: &str,
        name: &str,
        role: &str,
    ) -> (String, String) {
        let reply = self
            .as_user(
                admin,
                "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } code } }",
                json!({ "input": { "email": email, "name": name, "role": role } }),
            )
            .await;
        let created = &reply.ok()["createUser"];
        (
            created["user"]["id"].as_str().unwrap().to_owned(),
            created["code"].as_str().unwrap().to_owned(),
        )
    }

    /// `approveAccount` as `approver`: the second half of the code.
    pub async fn approve(&self, approver: &Session, account_id: &str) -> String {
        let reply = self
            .as_user(
                approver,
                "mutation($u: ID!) { approveAccount(userId: $u) }",
                json!({ "u": account_id }),
            )
            .await;
        reply.ok()["approveAccount"].as_str().unwrap().to_owned()
    }

    /// `enrolAccount`, anonymously.
    pub async fn enrol(&self, code: &str, national_id: Option<&str>, password: &str) -> Reply {
        self.graphql(
            None,
            "mutation($c: String!, $n: String, $p: String!) { enrolAccount(code: $c, nationalId: $n, password: $p) }",
            json!({ "c": code, "n": national_id, "p": password }),
        )
        .await
    }

    /// Registers a patient as `doctor` with every field filled; returns its id.
    pub async fn patient(&self, doctor: &Session, given: &str, family: &str) -> String {
        let reply = self
            .as_user(
                doctor,
                "mutation($input: CreatePatientInput!) { createPatient(input: $input) { id } }",
                json!({ "input": full_patient(given, family) }),
            )
            .await;
        reply.ok()["createPatient"]["id"].as_str().unwrap().to_owned()
    }

    pub async fn assign(&self, doctor: &Session, patient_id: &str, nurse: &Session) {
        self.as_user(
            doctor,
            "mutation($p: ID!, $n: ID!) { assignPatient(patientId: $p, nurseId: $n) { id } }",
            json!({ "p": patient_id, "n": nurse.id }),
        )
        .await
        .ok();
    }

    /// `assignCareTeam` as `doctor`: `staff` joins the patient's care team as
    /// NURSE or ATTENDING, for the window given (RFC 3339; open if `None`).
    /// Returns the assignment's id.
    pub async fn assign_care_team(
        &self,
        doctor: &Session,
        patient_id: &str,
        staff: &Session,
        kind: &str,
        window: (Option<String>, Option<String>),
    ) -> String {
        let (starts, ends) = window;
        let reply = self
            .as_user(
                doctor,
                "mutation($i: AssignCareTeamInput!) { assignCareTeam(input: $i) { id } }",
                json!({ "i": { "patientId": patient_id, "staffId": staff.id, "kind": kind, "startsAt": starts, "endsAt": ends } }),
            )
            .await;
        reply.ok()["assignCareTeam"]["id"].as_str().unwrap().to_owned()
    }

    /// A PATIENT account for this record, the way a patient gets one: the
    /// desk invites, the patient enrols with the code and their national id.
    pub async fn patient_account(&self, patient_id: &str, national_id: &str) -> Session {
        let desk = self.user("RECEPTION", "Desk Clerk").await;
        let email = format!("patient.{}@clinic.test", uuid::Uuid::new_v4().simple());
        let invitation = self
            .as_user(
                &desk,
                "mutation($p: ID!, $e: String!) { invitePatient(patientId: $p, email: $e) { code } }",
                json!({ "p": patient_id, "e": email }),
            )
            .await;
        let code = invitation.ok()["invitePatient"]["code"]
            .as_str()
            .unwrap()
            .to_owned();
        self.enrol(&code, Some(national_id), STAFF_PASSWORD).await.ok();
        self.login(&email, STAFF_PASSWORD).await
    }

    /// One record of every chart kind, the texts starting with `tag`: a
    /// diagnosis, a medication, an allergy, a normal note (by `doctor`), and
    /// coverage and an invoice (by a billing clerk).
    pub async fn fill_chart(&self, doctor: &Session, patient_id: &str, tag: &str) {
        let p = json!(patient_id);
        for (query, input) in [
            (
                "mutation($p: ID!, $i: RecordDiagnosisInput!) { recordDiagnosis(patientId: $p, input: $i) { id } }",
                json!({ "icd10Code": "J45.909", "description": format!("{tag} asthma") }),
            ),
            (
                "mutation($p: ID!, $i: PrescribeMedicationInput!) { prescribeMedication(patientId: $p, input: $i) { id } }",
                json!({ "name": format!("{tag}olol"), "dose": "5 mg", "route": "oral", "frequency": "daily" }),
            ),
            (
                "mutation($p: ID!, $i: RecordAllergyInput!) { recordAllergy(patientId: $p, input: $i) { id } }",
                json!({ "substance": format!("{tag} pollen"), "reaction": "sneezing", "severity": "MILD" }),
            ),
            (
                "mutation($p: ID!, $i: WriteNoteInput!) { writeNote(patientId: $p, input: $i) { id } }",
                json!({ "sensitivity": "NORMAL", "body": format!("{tag} note body") }),
            ),
        ] {
            self.as_user(doctor, query, json!({ "p": p, "i": input }))
                .await
                .ok();
        }
        let billing = self.user("BILLING", "Bill Ing").await;
        for (query, input) in [
            (
                "mutation($p: ID!, $i: AddCoverageInput!) { addCoverage(patientId: $p, input: $i) { id } }",
                json!({ "payer": format!("{tag} Insurance"), "plan": "Gold", "memberId": format!("M-{tag}"), "validFrom": "2026-01-01" }),
            ),
            (
                "mutation($p: ID!, $i: IssueInvoiceInput!) { issueInvoice(patientId: $p, input: $i) { id } }",
                json!({ "description": format!("{tag} consultation"), "amountCents": 12000, "currency": "EUR" }),
            ),
        ] {
            self.as_user(&billing, query, json!({ "p": p, "i": input }))
                .await
                .ok();
        }
    }

    /// Publishes a research release as a new compliance officer and
    /// returns the reply (`publishResearchRelease { number releasedOn patientCount }`).
    pub async fn try_research_release(&self) -> Reply {
        let officer = self.user("COMPLIANCE_OFFICER", "Release Officer").await;
        self.as_user(
            &officer,
            "mutation { publishResearchRelease { number releasedOn patientCount } }",
            json!({}),
        )
        .await
    }

    /// Publishes a research release, which must succeed; returns it.
    pub async fn research_release(&self) -> Value {
        self.try_research_release().await.ok()["publishResearchRelease"].clone()
    }

    pub async fn record_vital(&self, who: &Session, patient_id: &str, kind: &str, value: f64) -> Reply {
        self.as_user(
            who,
            "mutation($p: ID!, $input: RecordObservationInput!) {
                recordObservation(patientId: $p, input: $input) { id kind value unit }
            }",
            json!({ "p": patient_id, "input": { "kind": kind, "value": value } }),
        )
        .await
    }
}

/// Input for a patient with every field set, the values derived from the name
/// so that a test can search a response or a log for them.
pub fn full_patient(given: &str, family: &str) -> Value {
    json!({
        "givenName": given,
        "familyName": family,
        "dateOfBirth": "1961-07-04",
        "sex": "FEMALE",
        "phone": format!("+1 555 {given} phone"),
        "address": format!("{given} {family} Street 1"),
        "postalCode": "10001",
        "email": format!("{}.{}@patient.test", given.to_lowercase(), family.to_lowercase()),
        "nationalId": format!("NID-{given}-{family}"),
    })
}

fn rand_bytes() -> Vec<u8> {
    (0..4).flat_map(|_| uuid::Uuid::new_v4().into_bytes()).collect()
}
