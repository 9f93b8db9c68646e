//! Configuration: environment variables (`CAREGRAPH_*`), optionally on top of
//! a TOML file named by `CAREGRAPH_CONFIG`. Secrets are kept in `Secret` and
//! never logged.

use std::collections::HashMap;
use std::time::Duration;

use crate::domain::Secret;
use crate::policy::Role;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://caregraph.db?mode=rwc";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {message}")]
    File { path: String, message: String },
    #[error("{key}: {message}")]
    Invalid { key: &'static str, message: String },
}

/// Limits on what one GraphQL operation may ask for, checked before it runs
/// (`graphql::limits`). Each has a `CAREGRAPH_MAX_*` variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryLimits {
    /// Aliases in the operation, fragments expanded (`CAREGRAPH_MAX_ALIASES`).
    pub aliases: usize,
    /// Nesting of fields, introspection included (`CAREGRAPH_MAX_DEPTH`).
    pub depth: usize,
    /// async-graphql's complexity: each field counts one, lists as declared
    /// (`CAREGRAPH_MAX_COMPLEXITY`).
    pub complexity: usize,
    /// How often one response key may appear in one selection set, fragments
    /// included (`CAREGRAPH_MAX_FIELDS_REPEATED`).
    pub fields_repeated: usize,
    /// Directives on one field or fragment (`CAREGRAPH_MAX_DIRECTIVES`).
    pub directives: usize,
    /// Fragment spreads in the operation, each spread of a spread counted
    /// (`CAREGRAPH_MAX_FRAGMENTS`).
    pub fragments: usize,
    /// Lists of types nested on one path of an introspection query:
    /// `__type`, `types`, `fields`, `inputFields`, `interfaces`,
    /// `possibleTypes` (`CAREGRAPH_MAX_INTROSPECTION_DEPTH`). GraphiQL needs
    /// two (`types { fields }`); `fields { type { fields ...` is the
    /// circular query this stops.
    pub introspection_depth: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            aliases: 30,
            // GraphiQL's own introspection query nests 13 levels deep.
            depth: 15,
            complexity: 500,
            fields_repeated: 10,
            directives: 5,
            fragments: 50,
            introspection_depth: 2,
        }
    }
}

/// Where a limit is read from, its variable, and the values it may take.
struct LimitSetting {
    key: &'static str,
    env: &'static str,
    min: usize,
    max: usize,
}

const LIMIT_SETTINGS: [LimitSetting; 7] = [
    LimitSetting {
        key: "max_aliases",
        env: "CAREGRAPH_MAX_ALIASES",
        min: 0,
        max: 1000,
    },
    LimitSetting {
        key: "max_depth",
        env: "CAREGRAPH_MAX_DEPTH",
        min: 2,
        max: 30,
    },
    LimitSetting {
        key: "max_complexity",
        env: "CAREGRAPH_MAX_COMPLEXITY",
        min: 10,
        max: 100_000,
    },
    LimitSetting {
        key: "max_fields_repeated",
        env: "CAREGRAPH_MAX_FIELDS_REPEATED",
        min: 1,
        max: 1000,
    },
    LimitSetting {
        key: "max_directives",
        env: "CAREGRAPH_MAX_DIRECTIVES",
        min: 0,
        max: 50,
    },
    LimitSetting {
        key: "max_fragments",
        env: "CAREGRAPH_MAX_FRAGMENTS",
        min: 0,
        max: 1000,
    },
    LimitSetting {
        key: "max_introspection_depth",
        env: "CAREGRAPH_MAX_INTROSPECTION_DEPTH",
        min: 1,
        max: 10,
    },
];

impl QueryLimits {
    fn slots(&mut self) -> [&mut usize; 7] {
        [
            &mut self.aliases,
            &mut self.depth,
            &mut self.complexity,
            &mut self.fields_repeated,
            &mut self.directives,
            &mut self.fragments,
            &mut self.introspection_depth,
        ]
    }
}

/// A certificate chain and its private key, both PEM files.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: String,
    pub key: String,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: Secret<String>,
    pub listen: String,
    /// `None`: a random key is generated once and kept in the database.
    pub jwt_secret: Option<Secret<Vec<u8>>>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl: Duration,
    pub session_idle_timeout: Duration,
    pub session_max_lifetime: Duration,
    pub admin_email: Option<String>,
    pub admin_password: Option<Secret<String>>,
    pub policy_file: Option<String>,
    pub log_json: bool,
    pub max_body_bytes: usize,
    /// How long a request body may take to arrive, all of it.
    pub body_read_timeout: Duration,
    /// How long one GraphQL operation may run.
    pub execution_timeout: Duration,
    /// HTTP worker threads; `None` means one per core.
    pub workers: Option<usize>,
    /// E-mail domains staff accounts must use (lower-case); empty: any.
    pub staff_email_domains: Vec<String>,
    /// The shortest time between two research releases (default one day);
    /// zero allows a release at any time.
    pub research_release_min_interval: Duration,
    /// Signs audit checkpoints (`CAREGRAPH_AUDIT_KEY`, at least 32 bytes);
    /// never stored in the database. `None`: a key file beside a SQLite
    /// database, or no checkpoints with PostgreSQL.
    pub audit_key: Option<Secret<Vec<u8>>>,
    /// FOR BENCHMARKS ONLY (`CAREGRAPH_BENCH_AUDIT_OFF=1`): record no audit
    /// events, to measure what auditing costs. Logged loudly at start-up.
    pub bench_audit_off: bool,
    /// Limits against hostile queries.
    pub limits: QueryLimits,
    /// Introspection (`__schema`, `__type`) answered; off in the production
    /// profile, where `schema.graphql` serves tooling.
    pub introspection: bool,
    /// GraphiQL served at `GET /graphql`; off in the production profile.
    pub graphiql: bool,
    /// `None`: plain HTTP (behind a TLS-terminating proxy, or local).
    pub tls: Option<TlsFiles>,
    /// Roles that must use a second factor (`CAREGRAPH_MFA_ROLES`,
    /// comma-separated; empty: none). Default: every staff role.
    pub mfa_roles: Vec<Role>,
    /// Encrypts TOTP secrets at rest (`CAREGRAPH_MFA_KEY`, at least 32
    /// bytes). `None`: a key generated once and kept in the database.
    pub mfa_key: Option<Secret<Vec<u8>>>,
    /// How recent an authentication high-risk actions need
    /// (`CAREGRAPH_STEP_UP_SECS`, default 300).
    pub step_up: Duration,
    /// Proxies whose `X-Forwarded-For` names the client
    /// (`CAREGRAPH_TRUSTED_PROXIES`); from anyone else the header is ignored.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Back-off after failed logins (`CAREGRAPH_LOGIN_*`).
    pub login_throttle: crate::auth::throttle::ThrottleSettings,
}

/// Every role but PATIENT: the default of `CAREGRAPH_MFA_ROLES`.
pub fn staff_roles() -> Vec<Role> {
    Role::ALL.into_iter().filter(|r| *r != Role::Patient).collect()
}

impl Config {
    /// Defaults for everything, with the given database.
    pub fn with_database(database_url: impl Into<String>) -> Config {
        Config {
            database_url: Secret::new(database_url.into()),
            listen: DEFAULT_LISTEN.to_owned(),
            jwt_secret: None,
            jwt_issuer: "caregraph".to_owned(),
            jwt_audience: "caregraph-api".to_owned(),
            access_token_ttl: Duration::from_secs(15 * 60),
            session_idle_timeout: Duration::from_secs(15 * 60),
            session_max_lifetime: Duration::from_secs(12 * 60 * 60),
            admin_email: None,
            admin_password: None,
            policy_file: None,
            log_json: false,
            max_body_bytes: 64 * 1024,
            body_read_timeout: Duration::from_secs(10),
            execution_timeout: Duration::from_secs(30),
            workers: None,
            staff_email_domains: Vec::new(),
            research_release_min_interval: Duration::from_secs(24 * 60 * 60),
            audit_key: None,
            bench_audit_off: false,
            limits: QueryLimits::default(),
            introspection: true,
            graphiql: true,
            tls: None,
            mfa_roles: staff_roles(),
            mfa_key: None,
            step_up: Duration::from_secs(5 * 60),
            trusted_proxies: Vec::new(),
            login_throttle: crate::auth::throttle::ThrottleSettings::default(),
        }
    }

    pub fn from_env() -> Result<Config, ConfigError> {
        let mut values: HashMap<String, String> = HashMap::new();
        if let Ok(path) = std::env::var("CAREGRAPH_CONFIG") {
            values.extend(read_file(&path)?);
        }
        values.extend(prefixed(std::env::vars()));
        Config::from_values(&values)
    }

    /// The configuration these `CAREGRAPH_*` variables give (others are
    /// ignored), without reading the environment or a file.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Result<Config, ConfigError> {
        let values = prefixed(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        Config::from_values(&values)
    }

    fn from_values(values: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let get = |key: &str| {
            values
                .get(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut config =
            Config::with_database(get("database_url").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()));
        if let Some(listen) = get("listen") {
            config.listen = listen;
        }
        if let Some(secret) = values.get("jwt_secret").filter(|s| !s.is_empty()) {
            if secret.len() < 32 {
                return Err(ConfigError::Invalid {
                    key: "CAREGRAPH_JWT_SECRET",
                    message: "must be at least 32 bytes (256 bits) of random data".into(),
                });
            }
            config.jwt_secret = Some(Secret::new(secret.as_bytes().to_vec()));
        }
        if let Some(v) = get("jwt_issuer") {
            config.jwt_issuer = v;
        }
        if let Some(v) = get("jwt_audience") {
            config.jwt_audience = v;
        }
        let seconds =
            |key: &'static str, env: &'static str, default: Duration| -> Result<Duration, ConfigError> {
                match get(key) {
                    None => Ok(default),
                    Some(v) => v
                        .parse::<u64>()
                        .ok()
                        .filter(|s| *s > 0)
                        .map(Duration::from_secs)
                        .ok_or(ConfigError::Invalid {
                            key: env,
                            message: "must be a whole number of seconds".into(),
                        }),
                }
            };
        config.access_token_ttl = seconds(
            "access_token_ttl_secs",
            "CAREGRAPH_ACCESS_TOKEN_TTL_SECS",
            config.access_token_ttl,
        )?;
        config.session_idle_timeout = seconds(
            "session_idle_secs",
            "CAREGRAPH_SESSION_IDLE_SECS",
            config.session_idle_timeout,
        )?;
        config.session_max_lifetime = seconds(
            "session_max_secs",
            "CAREGRAPH_SESSION_MAX_SECS",
            config.session_max_lifetime,
        )?;
        config.body_read_timeout = seconds(
            "body_read_timeout_secs",
            "CAREGRAPH_BODY_READ_TIMEOUT_SECS",
            config.body_read_timeout,
        )?;
        config.execution_timeout = seconds(
            "execution_timeout_secs",
            "CAREGRAPH_EXECUTION_TIMEOUT_SECS",
            config.execution_timeout,
        )?;
        config.admin_email = get("admin_email");
        config.admin_password = values
            .get("admin_password")
            .filter(|p| !p.is_empty())
            .map(|p| Secret::new(p.clone()));
        config.policy_file = get("policy_file");
        config.log_json = match get("log_format").as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    key: "CAREGRAPH_LOG_FORMAT",
                    message: "must be text or json".into(),
                });
            }
        };
        if let Some(v) = get("staff_email_domains") {
            config.staff_email_domains = parse_domains(&v)?;
        }
        if let Some(v) = get("trusted_proxies") {
            config.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| p.parse::<std::net::IpAddr>().map(|ip| ip.to_canonical()))
                .collect::<Result<_, _>>()
                .map_err(|_| ConfigError::Invalid {
                    key: "CAREGRAPH_TRUSTED_PROXIES",
                    message: "must be a comma-separated list of IP addresses".into(),
                })?;
        }
        let count = |key: &str, env: &'static str, default: u32| -> Result<u32, ConfigError> {
            match get(key) {
                None => Ok(default),
                Some(v) => {
                    v.parse::<u32>()
                        .ok()
                        .filter(|n| (1..=1000).contains(n))
                        .ok_or(ConfigError::Invalid {
                            key: env,
                            message: "must be a whole number from 1 to 1000".into(),
                        })
                }
            }
        };
        let throttle = &mut config.login_throttle;
        throttle.account_failures = count(
            "login_account_failures",
            "CAREGRAPH_LOGIN_ACCOUNT_FAILURES",
            throttle.account_failures,
        )?;
        throttle.address_failures = count(
            "login_address_failures",
            "CAREGRAPH_LOGIN_ADDRESS_FAILURES",
            throttle.address_failures,
        )?;
        throttle.backoff_max = seconds(
            "login_backoff_max_secs",
            "CAREGRAPH_LOGIN_BACKOFF_MAX_SECS",
            throttle.backoff_max,
        )?;
        throttle.memory = seconds(
            "login_failure_memory_secs",
            "CAREGRAPH_LOGIN_FAILURE_MEMORY_SECS",
            throttle.memory,
        )?;
        if let Some(v) = get("workers") {
            config.workers = Some(v.parse().ok().filter(|n| *n > 0).ok_or(ConfigError::Invalid {
                key: "CAREGRAPH_WORKERS",
                message: "must be a positive whole number".into(),
            })?);
        }
        if let Some(v) = get("research_release_min_hours") {
            let hours: u64 = v
                .parse()
                .ok()
                .filter(|h| *h <= 24 * 366)
                .ok_or(ConfigError::Invalid {
                    key: "CAREGRAPH_RESEARCH_RELEASE_MIN_HOURS",
                    message: "must be a whole number of hours, 0 to 8784".into(),
                })?;
            config.research_release_min_interval = Duration::from_secs(hours * 60 * 60);
        }
        if let Some(key) = values.get("audit_key").filter(|s| !s.is_empty()) {
            if key.len() < crate::audit::MIN_KEY_BYTES {
                return Err(ConfigError::Invalid {
                    key: "CAREGRAPH_AUDIT_KEY",
                    message: "must be at least 32 bytes (256 bits) of random data".into(),
                });
            }
            config.audit_key = Some(Secret::new(key.as_bytes().to_vec()));
        }
        config.bench_audit_off = match get("bench_audit_off").as_deref() {
            None | Some("0") | Some("false") => false,
            Some("1") | Some("true") => true,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    key: "CAREGRAPH_BENCH_AUDIT_OFF",
                    message: "must be 1 or 0 (benchmarks only)".into(),
                });
            }
        };
        for (setting, slot) in LIMIT_SETTINGS.iter().zip(config.limits.slots()) {
            if let Some(v) = get(setting.key) {
                *slot = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (setting.min..=setting.max).contains(n))
                    .ok_or_else(|| ConfigError::Invalid {
                        key: setting.env,
                        message: format!("must be a whole number from {} to {}", setting.min, setting.max),
                    })?;
            }
        }
        let production = match get("profile").as_deref() {
            None | Some("development") => false,
            Some("production") => true,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    key: "CAREGRAPH_PROFILE",
                    message: "must be development or production".into(),
                });
            }
        };
        let switch = |key: &str, env: &'static str| -> Result<bool, ConfigError> {
            match get(key).as_deref() {
                None => Ok(!production),
                Some("on") => Ok(true),
                Some("off") => Ok(false),
                Some(_) => Err(ConfigError::Invalid {
                    key: env,
                    message: "must be on or off".into(),
                }),
            }
        };
        config.introspection = switch("introspection", "CAREGRAPH_INTROSPECTION")?;
        config.graphiql = switch("graphiql", "CAREGRAPH_GRAPHIQL")?;
        // Set but empty is meaningful here: no role must use MFA.
        if let Some(list) = values.get("mfa_roles") {
            config.mfa_roles = parse_roles(list)?;
        }
        if let Some(key) = values.get("mfa_key").filter(|s| !s.is_empty()) {
            if key.len() < 32 {
                return Err(ConfigError::Invalid {
                    key: "CAREGRAPH_MFA_KEY",
                    message: "must be at least 32 bytes (256 bits) of random data".into(),
                });
            }
            config.mfa_key = Some(Secret::new(key.as_bytes().to_vec()));
        }
        config.step_up = seconds("step_up_secs", "CAREGRAPH_STEP_UP_SECS", config.step_up)?;
        config.tls = match (get("tls_cert"), get("tls_key")) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (Some(_), None) => {
                return Err(ConfigError::Invalid {
                    key: "CAREGRAPH_TLS_KEY",
                    message: "must be set together with CAREGRAPH_TLS_CERT".into(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Invalid {
                    key: "CAREGRAPH_TLS_CERT",
                    message: "must be set together with CAREGRAPH_TLS_KEY".into(),
                });
            }
        };
        Ok(config)
    }
}

/// `CAREGRAPH_MAX_ALIASES=30` becomes `max_aliases = 30`.
fn prefixed(vars: impl Iterator<Item = (String, String)>) -> HashMap<String, String> {
    vars.filter_map(|(key, value)| {
        key.strip_prefix("CAREGRAPH_")
            .map(|name| (name.to_lowercase(), value))
    })
    .collect()
}

/// `ADMIN, DOCTOR`: role names; an empty list is none.
fn parse_roles(list: &str) -> Result<Vec<Role>, ConfigError> {
    let mut roles = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let role = Role::parse(&name.to_uppercase()).ok_or_else(|| ConfigError::Invalid {
            key: "CAREGRAPH_MFA_ROLES",
            message: format!(
                "{name:?} is not a role (expected a comma-separated list of {})",
                Role::ALL.map(Role::as_str).join(", ")
            ),
        })?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    Ok(roles)
}

/// `clinic.example, ward.clinic.example`: bare domain names, no `@`.
fn parse_domains(list: &str) -> Result<Vec<String>, ConfigError> {
    list.split(',')
        .map(|d| d.trim().trim_start_matches('@').to_lowercase())
        .filter(|d| !d.is_empty())
        .map(|d| {
            let valid = d.contains('.')
                && !d.starts_with('.')
                && !d.ends_with('.')
                && d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
            if valid {
                Ok(d)
            } else {
                Err(ConfigError::Invalid {
                    key: "CAREGRAPH_STAFF_EMAIL_DOMAINS",
                    message: format!(
                        "{d:?} is not a domain name (expected e.g. clinic.example, ward.clinic.example)"
                    ),
                })
            }
        })
        .collect()
}

fn read_file(path: &str) -> Result<HashMap<String, String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::File {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    Ok(table
        .into_iter()
        .map(|(k, v)| {
            let value = match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Float(f) => f.to_string(),
                other => format!("{other:?}"),
            };
            (k.to_lowercase(), value)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_jwt_secret_is_refused() {
        let values = HashMap::from([("jwt_secret".to_owned(), "too short".to_owned())]);
        assert!(Config::from_values(&values).is_err());
    }

    #[test]
    fn trusted_proxies_and_login_throttle_are_read_and_checked() {
        let values = HashMap::from([
            ("trusted_proxies".to_owned(), "10.0.0.1, ::1".to_owned()),
            ("login_account_failures".to_owned(), "3".to_owned()),
            ("login_backoff_max_secs".to_owned(), "60".to_owned()),
        ]);
        let config = Config::from_values(&values).unwrap();
        assert_eq!(
            config.trusted_proxies,
            [
                "10.0.0.1".parse::<std::net::IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert_eq!(config.login_throttle.account_failures, 3);
        assert_eq!(config.login_throttle.address_failures, 20);
        assert_eq!(config.login_throttle.backoff_max, Duration::from_secs(60));
        for (key, value) in [
            ("trusted_proxies", "10.0.0.0/8"),
            ("login_address_failures", "0"),
            ("login_failure_memory_secs", "soon"),
        ] {
            let bad = HashMap::from([(key.to_owned(), value.to_owned())]);
            assert!(Config::from_values(&bad).is_err(), "{key}={value}");
        }
    }

    #[test]
    fn staff_email_domains_are_a_comma_separated_list() {
        let values = HashMap::from([(
            "staff_email_domains".to_owned(),
            " Clinic.Example, @ward.clinic.example ".to_owned(),
        )]);
        let config = Config::from_values(&values).unwrap();
        assert_eq!(
            config.staff_email_domains,
            ["clinic.example", "ward.clinic.example"]
        );
        let bad = HashMap::from([("staff_email_domains".to_owned(), "not a domain".to_owned())]);
        assert!(Config::from_values(&bad).is_err());
    }

    #[test]
    fn defaults_serve_sqlite_on_localhost() {
        let config = Config::from_values(&HashMap::new()).unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert_eq!(config.database_url.expose_secret(), DEFAULT_DATABASE_URL);
        assert!(config.jwt_secret.is_none());
        assert_eq!(
            config.research_release_min_interval,
            Duration::from_secs(24 * 60 * 60)
        );
    }

    #[test]
    fn the_research_release_interval_is_read_in_hours() {
        let values = HashMap::from([("research_release_min_hours".to_owned(), "0".to_owned())]);
        assert_eq!(
            Config::from_values(&values)
                .unwrap()
                .research_release_min_interval,
            Duration::ZERO
        );
        let values = HashMap::from([("research_release_min_hours".to_owned(), "a day".to_owned())]);
        assert!(Config::from_values(&values).is_err());
    }

    #[test]
    fn the_audit_key_must_be_long_and_the_bench_switch_explicit() {
        let defaults = Config::from_values(&HashMap::new()).unwrap();
        assert!(defaults.audit_key.is_none() && !defaults.bench_audit_off);
        let short = HashMap::from([("audit_key".to_owned(), "short".to_owned())]);
        assert!(Config::from_values(&short).is_err());
        let values = HashMap::from([
            ("audit_key".to_owned(), "k".repeat(32)),
            ("bench_audit_off".to_owned(), "1".to_owned()),
        ]);
        let config = Config::from_values(&values).unwrap();
        assert_eq!(config.audit_key.unwrap().expose_secret().len(), 32);
        assert!(config.bench_audit_off);
        let vague = HashMap::from([("bench_audit_off".to_owned(), "yes please".to_owned())]);
        assert!(Config::from_values(&vague).is_err());
    }

    #[test]
    fn query_limits_have_safe_defaults_and_refuse_nonsense() {
        let defaults = Config::from_values(&HashMap::new()).unwrap();
        assert_eq!(defaults.limits, QueryLimits::default());
        assert_eq!(defaults.limits.aliases, 30);
        let config =
            Config::from_vars([("CAREGRAPH_MAX_ALIASES", "5"), ("CAREGRAPH_MAX_DEPTH", "20")]).unwrap();
        assert_eq!((config.limits.aliases, config.limits.depth), (5, 20));
        for (key, bad) in [
            ("CAREGRAPH_MAX_ALIASES", "lots"),
            ("CAREGRAPH_MAX_DEPTH", "0"),
            ("CAREGRAPH_MAX_COMPLEXITY", "-1"),
            ("CAREGRAPH_MAX_FRAGMENTS", "1000000"),
        ] {
            let error = Config::from_vars([(key, bad)]).unwrap_err().to_string();
            assert!(error.contains(key), "{error}");
        }
    }

    #[test]
    fn the_production_profile_switches_introspection_and_graphiql_off() {
        let dev = Config::from_vars(Vec::<(String, String)>::new()).unwrap();
        assert!(dev.introspection && dev.graphiql);
        let prod = Config::from_vars([("CAREGRAPH_PROFILE", "production")]).unwrap();
        assert!(!prod.introspection && !prod.graphiql);
        let mixed =
            Config::from_vars([("CAREGRAPH_PROFILE", "production"), ("CAREGRAPH_GRAPHIQL", "on")]).unwrap();
        assert!(!mixed.introspection && mixed.graphiql);
        let off = Config::from_vars([("CAREGRAPH_INTROSPECTION", "off")]).unwrap();
        assert!(!off.introspection && off.graphiql);
        assert!(Config::from_vars([("CAREGRAPH_PROFILE", "prod")]).is_err());
        assert!(Config::from_vars([("CAREGRAPH_GRAPHIQL", "no")]).is_err());
    }

    #[test]
    fn mfa_is_for_staff_by_default_and_an_empty_list_means_none() {
        let defaults = Config::from_values(&HashMap::new()).unwrap();
        assert_eq!(defaults.mfa_roles.len(), Role::ALL.len() - 1);
        assert!(!defaults.mfa_roles.contains(&Role::Patient));
        assert_eq!(defaults.step_up, Duration::from_secs(300));
        let none = Config::from_vars([("CAREGRAPH_MFA_ROLES", "")]).unwrap();
        assert!(none.mfa_roles.is_empty());
        let some = Config::from_vars([
            ("CAREGRAPH_MFA_ROLES", "admin, DOCTOR"),
            ("CAREGRAPH_STEP_UP_SECS", "1"),
        ])
        .unwrap();
        assert_eq!(some.mfa_roles, [Role::Admin, Role::Doctor]);
        assert_eq!(some.step_up, Duration::from_secs(1));
        let error = Config::from_vars([("CAREGRAPH_MFA_ROLES", "ADMIN, WIZARD")])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("CAREGRAPH_MFA_ROLES") && error.contains("WIZARD"),
            "{error}"
        );
        assert!(Config::from_vars([("CAREGRAPH_MFA_KEY", "short")]).is_err());
        assert!(Config::from_vars([("CAREGRAPH_STEP_UP_SECS", "0")]).is_err());
    }

    #[test]
    fn tls_needs_both_a_certificate_and_a_key() {
        assert!(Config::from_vars([("CAREGRAPH_TLS_CERT", "c.pem")]).is_err());
        assert!(Config::from_vars([("CAREGRAPH_TLS_KEY", "k.pem")]).is_err());
        let tls = Config::from_vars([("CAREGRAPH_TLS_CERT", "c.pem"), ("CAREGRAPH_TLS_KEY", "k.pem")])
            .unwrap()
            .tls
            .unwrap();
        assert_eq!((tls.cert.as_str(), tls.key.as_str()), ("c.pem", "k.pem"));
    }

    #[test]
    fn the_request_time_limits_are_read_in_seconds() {
        let defaults = Config::from_values(&HashMap::new()).unwrap();
        assert_eq!(defaults.body_read_timeout, Duration::from_secs(10));
        assert_eq!(defaults.execution_timeout, Duration::from_secs(30));
        let values = HashMap::from([
            ("body_read_timeout_secs".to_owned(), "3".to_owned()),
            ("execution_timeout_secs".to_owned(), "7".to_owned()),
        ]);
        let config = Config::from_values(&values).unwrap();
        assert_eq!(config.body_read_timeout, Duration::from_secs(3));
        assert_eq!(config.execution_timeout, Duration::from_secs(7));
        let zero = HashMap::from([("execution_timeout_secs".to_owned(), "0".to_owned())]);
        assert!(Config::from_values(&zero).is_err());
    }
}
