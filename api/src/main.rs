//! The `caregraph` command.

use std::process::ExitCode;

use caregraph::access::unrestricted_publish_release;
use caregraph::config::Config;
use caregraph::policy::matrix;
use caregraph::seed::{self, SeedOutcome};
use caregraph::startup::{self, Application};
use caregraph::{audit, db, graphql, telemetry};

const USAGE: &str = "\
caregraph: GraphQL API for care teams

USAGE:
    caregraph [COMMAND]

COMMANDS:
    serve           Serve the API (the default): POST /graphql, GraphiQL at GET /graphql
    seed-demo       Create a demo clinic with documented logins (see README)
    create-admin --email E
                    Create an administrator; the password is read from the
                    first line of standard input (at least 15 characters)
    export-schema   Print the GraphQL schema (SDL) to standard output
    check-policy    Validate the access policy and exit
    research release
                    Publish a release of the research data set from the
                    configured database, as the server host's operator
                    (at most one per CAREGRAPH_RESEARCH_RELEASE_MIN_HOURS)
    policy matrix [PATH]
                    Write the access matrix generated from the policy
                    (default docs/access-matrix.md; - for standard output)
    audit verify [--checkpoint FILE]
                    Check the whole audit trail's hash chain; exit non-zero
                    naming the first broken event. With a checkpoint, also
                    check the trail still holds what it signed
    audit checkpoint [--out FILE]
                    Sign the trail's length and head hash with
                    CAREGRAPH_AUDIT_KEY (or the key file beside a SQLite
                    database) and print it, or write it to FILE
    help            Show this text

Configuration is read from CAREGRAPH_* environment variables (see README).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("serve");
    if command == "policy" {
        return policy_command(&args[1..]);
    }
    if command == "create-admin" {
        return create_admin_command(&args[1..]);
    }
    if command == "audit" {
        return audit_command(&args[1..]);
    }
    if command == "research" {
        if args.len() != 2 || args[1] != "release" {
            eprintln!("usage: caregraph research release\n\n{USAGE}");
            return ExitCode::from(2);
        }
        return run("research release");
    }
    if args.len() > 1 {
        eprintln!("unexpected argument: {}\n\n{USAGE}", args[1]);
        return ExitCode::from(2);
    }
    match command {
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        "export-schema" => {
            print!("{}", graphql::sdl());
            ExitCode::SUCCESS
        }
        "serve" => run("serve"),
        "seed-demo" => run("seed-demo"),
        "check-policy" => run("check-policy"),
        other => {
            eprintln!("unknown command: {other}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn policy_command(args: &[String]) -> ExitCode {
    let (Some("matrix"), rest) = (args.first().map(String::as_str), &args[1.min(args.len())..]) else {
        eprintln!("usage: caregraph policy matrix [PATH]\n\n{USAGE}");
        return ExitCode::from(2);
    };
    if rest.len() > 1 {
        eprintln!("usage: caregraph policy matrix [PATH]");
        return ExitCode::from(2);
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("caregraph: configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let policy = match startup::load_policy(&config) {
        Ok(policy) => policy,
        Err(e) => {
            eprintln!("caregraph: {e}");
            return ExitCode::FAILURE;
        }
    };
    let text = matrix::render(&policy);
    let path = rest.first().map(String::as_str).unwrap_or(matrix::DEFAULT_PATH);
    if path == "-" {
        print!("{text}");
        return ExitCode::SUCCESS;
    }
    match std::fs::write(path, text) {
        Ok(()) => {
            println!("wrote {path} from {}", policy.source());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("caregraph: cannot write {path}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `create-admin --email E` (or `--email=E`): the operator on the server
/// host makes an administrator, outside four-eyes provisioning.
fn create_admin_command(args: &[String]) -> ExitCode {
    let email = match args {
        [flag, email] if flag == "--email" => email.clone(),
        [flag] if flag.starts_with("--email=") => flag["--email=".len()..].to_owned(),
        _ => {
            eprintln!("usage: caregraph create-admin --email E   (password on standard input)");
            return ExitCode::from(2);
        }
    };
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!("password for {email} (it is echoed; prefer piping it in), then Enter:");
    }
    let mut password = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut password) {
        eprintln!("caregraph: cannot read the password from standard input: {e}");
        return ExitCode::FAILURE;
    }
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    run_with(move |config| {
        Box::pin(async move {
            let (db, _) = startup::open_database(&config).await.map_err(|e| e.to_string())?;
            let admin = caregraph::bootstrap::create_admin(&db, &email, password)
                .await
                .map_err(|e| e.to_string())?;
            println!("administrator {} created ({})", admin.email, admin.id);
            Ok(())
        })
    })
}

/// `audit verify [--checkpoint FILE]` and `audit checkpoint [--out FILE]`.
/// They read the database as configured for the server, without migrating
/// it; the checkpoint key never comes from the database.
fn audit_command(args: &[String]) -> ExitCode {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (verify, file) = match args.as_slice() {
        ["verify"] => (true, None),
        ["verify", "--checkpoint", file] => (true, Some(file.to_string())),
        ["checkpoint"] => (false, None),
        ["checkpoint", "--out", file] => (false, Some(file.to_string())),
        _ => {
            eprintln!(
                "usage: caregraph audit verify [--checkpoint FILE] | caregraph audit checkpoint [--out FILE]"
            );
            return ExitCode::from(2);
        }
    };
    run_with(move |config| {
        Box::pin(async move {
            if verify {
                audit_verify(&config, file.as_deref()).await
            } else {
                audit_checkpoint(&config, file.as_deref()).await
            }
        })
    })
}

async fn audit_verify(config: &Config, checkpoint: Option<&str>) -> Result<(), String> {
    let signed = match checkpoint {
        Some(path) => {
            let checkpoint =
                audit::Checkpoint::read(std::path::Path::new(path)).map_err(|e| e.to_string())?;
            let key = audit::AuditKey::load(config).map_err(|e| e.to_string())?;
            Some((checkpoint, key))
        }
        None => None,
    };
    let (db, _) = db::connect(config.database_url.expose_secret())
        .await
        .map_err(|e| e.to_string())?;
    let verified = audit::verify(&db, signed.as_ref().map(|(c, k)| (c, k)))
        .await
        .map_err(|e| e.to_string())?;
    match signed {
        Some((checkpoint, _)) => println!(
            "audit trail verified: {} events, head {}; it holds the {} events of the checkpoint of {}",
            verified.head.count,
            verified.head.hash,
            checkpoint.count,
            checkpoint.at.to_rfc3339()
        ),
        None => println!(
            "audit trail verified: {} events, head {}",
            verified.head.count, verified.head.hash
        ),
    }
    Ok(())
}

async fn audit_checkpoint(config: &Config, out: Option<&str>) -> Result<(), String> {
    let key = audit::AuditKey::load_or_create(config).map_err(|e| e.to_string())?;
    let (db, _) = db::connect(config.database_url.expose_secret())
        .await
        .map_err(|e| e.to_string())?;
    let checkpoint = audit::checkpoint(&db, &key).await.map_err(|e| e.to_string())?;
    match out {
        None => print!("{}", checkpoint.to_json()),
        Some(path) => {
            std::fs::write(path, checkpoint.to_json()).map_err(|e| format!("cannot write {path}: {e}"))?;
            println!(
                "checkpoint written to {path}: {} events, head {}",
                checkpoint.count, checkpoint.head
            );
        }
    }
    Ok(())
}

type Job = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>>>>;

/// Reads the configuration, starts logging and a runtime, and runs `job`.
fn run_with(job: impl FnOnce(Config) -> Job) -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("caregraph: configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(config.log_json);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("caregraph: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(job(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("caregraph: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: &'static str) -> ExitCode {
    run_with(move |config| {
        Box::pin(async move {
            match command {
                "check-policy" => {
                    let policy = startup::load_policy(&config).map_err(|e| e.to_string())?;
                    println!(
                        "{}: valid ({} grants, sha256 {})",
                        policy.source(),
                        policy.grants().len(),
                        policy.digest()
                    );
                    Ok(())
                }
                "seed-demo" => {
                    let (db, _) = startup::open_database(&config).await.map_err(|e| e.to_string())?;
                    match seed::seed_demo(&db).await.map_err(|e| e.to_string())? {
                        SeedOutcome::Seeded => {
                            println!("demo clinic created; logins are listed in the README")
                        }
                        SeedOutcome::AlreadyThere => println!("demo clinic already present; nothing changed"),
                    }
                    if !config.mfa_roles.is_empty() {
                        println!(
                            "staff roles must use a second factor: serve with CAREGRAPH_MFA_ROLES= (empty) \
                             to try the demo logins with passwords alone, or enrol each with \
                             startTotpEnrolment (see the README)"
                        );
                    }
                    Ok(())
                }
                "research release" => {
                    let (db, _) = startup::open_database(&config).await.map_err(|e| e.to_string())?;
                    let release = unrestricted_publish_release(&db, config.research_release_min_interval)
                        .await
                        .map_err(|e| e.to_string())?;
                    println!(
                        "published research release {} of {}: {} patients",
                        release.number, release.released_on, release.patient_count
                    );
                    Ok(())
                }
                _ => {
                    let app = Application::build(config).await.map_err(|e| e.to_string())?;
                    app.run_until_stopped().await.map_err(|e| e.to_string())
                }
            }
        })
    })
}
