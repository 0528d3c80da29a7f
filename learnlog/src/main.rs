//! `learnlog`: run the whole system, one role, migrations, admin tasks or benchmarks.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use learnlog::app::migrate;
use learnlog::{App, Config, Role, embedded};
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(name = "learnlog", version, about = "Learnlog: an event-sourced online-learning marketplace backend")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run everything in one process. Without DATABASE_URL, PostgreSQL runs from the data folder.
    Up {
        /// Address to listen on (default 127.0.0.1:8080, or LEARNLOG_LISTEN).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Seed a demo catalogue (24 instructors, 216 courses) through the command API, unless the catalogue
        /// already has courses.
        #[arg(long)]
        demo: bool,
    },
    /// Run the whole system as separate processes on this machine: HAProxy in front of two command APIs and two
    /// query APIs, the other roles, the broker, and PostgreSQL with a streaming replica (the data folder's).
    Cluster {
        /// Where HAProxy listens (default 127.0.0.1:8080, or LEARNLOG_LISTEN).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Seed the demo catalogue through the balancer, as `up --demo` does.
        #[arg(long)]
        demo: bool,
    },
    /// Run some roles against DATABASE_URL (several --role flags may be given).
    Serve {
        #[arg(long = "role", value_enum, required = true)]
        roles: Vec<Role>,
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Apply every pending migration to DATABASE_URL (and LEARNLOG_READ_DATABASE_URL); with KAFKA_BROKERS,
    /// create the topics too.
    Migrate,
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Dead letters: events the projector could not apply or the sagas could not act on, each parking its
    /// stream, and streams the relay could not route.
    DeadLetters {
        #[command(subcommand)]
        command: DeadLetterCommand,
    },
    /// Export the event history into a directory: Parquet (one file per event type, typed columns), CSV or
    /// NDJSON. A directory that holds an export goes on from where it stopped.
    Export {
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// The directory (created if missing; its manifest.json says what it holds).
        #[arg(long)]
        out: std::path::PathBuf,
        /// Start after this position (a new directory only).
        #[arg(long)]
        after: Option<i64>,
        /// The history as it stood at this time (RFC 3339, like 2026-01-01T00:00:00Z): the events before the
        /// first one recorded after it.
        #[arg(long)]
        until: Option<String>,
        /// Only these event types (comma-separated).
        #[arg(long, value_delimiter = ',')]
        types: Vec<String>,
    },
    /// The event history's partitions: without --before, list them (hot and archived); with it, move every
    /// full partition that ends before that position out of the hot events table into the store's cold tier,
    /// after writing their Parquet copy into --out (an export directory, which goes on from what it holds).
    /// Archived events stay readable by every reader.
    Archive {
        /// Archive the partitions whose positions are all below this one.
        #[arg(long, requires = "out")]
        before: Option<i64>,
        /// The export directory for the Parquet copy.
        #[arg(long, requires = "before")]
        out: Option<std::path::PathBuf>,
    },
    /// Rebuild every read model into a fresh schema and switch the query API to it while it serves (the old
    /// schema stays until dropped); with --as-of or --position, build a snapshot instead, served read-only
    /// under /api/v1/as-of/{name}/.
    #[command(args_conflicts_with_subcommands = true)]
    Replay {
        #[command(subcommand)]
        command: Option<ReplayCommand>,
        /// The new schema's name (default rm_<time>, or asof_<time> for a snapshot).
        #[arg(long)]
        schema: Option<String>,
        /// A snapshot of the events recorded at or before this time (RFC 3339).
        #[arg(long)]
        as_of: Option<String>,
        /// A snapshot of the events up to this global position.
        #[arg(long)]
        position: Option<i64>,
        /// Rebuild only these projections (comma-separated: catalog, fx, commerce, enrollments, engagement,
        /// support, communication, users); the others' tables are taken from the served schema at the switch.
        #[arg(long, value_delimiter = ',')]
        projections: Vec<String>,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ReplayCommand {
    /// The served schema, and every schema built so far.
    List,
    /// Drop a schema that is not served.
    Drop { name: String },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ExportFormat {
    Parquet,
    Csv,
    Ndjson,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Print a signed access token (the secret is LEARNLOG_JWT_SECRET, or the data folder's).
    Token {
        /// admin, instructor, individual_trainee or corporate_trainee
        #[arg(long)]
        role: String,
        #[arg(long)]
        user: Uuid,
        /// How long the token is good for, in minutes (a day at most: no older token is accepted)
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=1440))]
        ttl_minutes: u64,
    },
    /// Create an admin; the password is read from the first line of standard input (no default exists).
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
    },
}

/// Who parked a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Subscriber {
    Projector,
    Sagas,
    Relay,
}

#[derive(Debug, Subcommand)]
enum DeadLetterCommand {
    /// Every parked stream of every subscriber, the Kafka records refused and the gaps found.
    List,
    /// Try a parked stream again (after a fix), then the events waiting behind it, in order. The projector
    /// does it now; the running sagas or relay within a second.
    Retry {
        #[arg(long, value_enum, default_value = "projector")]
        subscriber: Subscriber,
        /// The id of the dead letter that parks the stream, as `list` shows it.
        id: i64,
    },
    /// Give up on a parked event for good, recording who and why, then let the events waiting behind it
    /// through.
    Skip {
        #[arg(long, value_enum, default_value = "projector")]
        subscriber: Subscriber,
        /// The id of the parked dead letter, as `list` shows it.
        id: i64,
        #[arg(long)]
        reason: String,
    },
}

/// What `dead-letters` was asked to do, naming the subscriber as its dead letters do.
fn dead_letter_task(command: DeadLetterCommand) -> learnlog::operations::DeadLetterTask {
    use learnlog::operations::DeadLetterTask;
    let name = |subscriber| match subscriber {
        Subscriber::Projector => learnlog::operations::PROJECTOR,
        Subscriber::Sagas => sagas::SUBSCRIBER,
        Subscriber::Relay => relay::SUBSCRIBER,
    };
    match command {
        DeadLetterCommand::List => DeadLetterTask::List,
        DeadLetterCommand::Retry { subscriber, id } => DeadLetterTask::Retry { subscriber: name(subscriber), id },
        DeadLetterCommand::Skip { subscriber, id, reason } => {
            DeadLetterTask::Skip { subscriber: name(subscriber), id, reason }
        }
    }
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Append throughput and p99 latency against a one-transaction-per-command baseline.
    Append(learnlog::bench::AppendOptions),
    /// End-to-end lag from a command's 201 to the write being visible through the query API, in embedded
    /// mode and, with KAFKA_BROKERS, in Kafka mode; against a bare HTTP round trip as the baseline.
    Lag(learnlog::bench::lag::LagOptions),
    /// Relay throughput against a plain rdkafka producer sending the same records (needs KAFKA_BROKERS).
    Relay(learnlog::bench::relay::RelayOptions),
    /// How fast `learnlog replay` fills a fresh schema from a store of a million events, against a pure-SQL
    /// projection of the same events.
    Replay(learnlog::bench::replay::ReplayBenchOptions),
    /// Catalogue reads through the query API against the same SQL run straight on a pool, on the demo
    /// catalogue.
    Catalog(learnlog::bench::catalog::CatalogOptions),
    /// Wallet orders end to end, against raw appends.
    Checkout(learnlog::bench::checkout::CheckoutOptions),
    /// Lesson views through HTTP against raw appends at the same clients.
    Learn(learnlog::bench::learn::LearnOptions),
    /// Open live streams on one query API process: its memory, and how soon a message reaches them.
    Live(learnlog::bench::live::LiveOptions),
    /// `learnlog cluster` through HAProxy with ApacheBench: catalogue reads and commands with two processes of
    /// a pool, then one.
    Cluster(learnlog::bench::cluster::ClusterBenchOptions),
    /// Every role under a steady mix of people's requests for minutes: throughput and p99 per minute, memory
    /// and connections; at the end, every order fulfilled once, no dead letter, the read models equal to a
    /// rebuild, memory flat. Exits non-zero when a check fails.
    Soak(learnlog::bench::soak::SoakOptions),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tokio_postgres=warn,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let mut config = Config::from_env()?;
    match cli.command {
        Command::Up { listen, demo } => {
            config.listen = listen.unwrap_or(config.listen);
            up(config, demo).await
        }
        Command::Cluster { listen, demo } => {
            let balancer = listen.unwrap_or(config.listen);
            let mut cluster = learnlog::cluster::start(&config, balancer).await?;
            learnlog::cluster::print_layout(cluster.layout());
            if demo {
                seed_demo(&config, balancer)?;
            }
            cluster.supervise_until(shutdown_signal()).await;
            cluster.stop().await;
            write_line("Stopped.")
        }
        Command::Serve { roles, listen } => {
            config.listen = listen.unwrap_or(config.listen);
            let url = config.database_url.clone().context("`serve` needs DATABASE_URL")?;
            let app = App::build(&config, &url, &roles).await?;
            tracing::info!(address = %app.local_addr()?, ?roles, "serving");
            app.run(shutdown_signal()).await?;
            Ok(())
        }
        Command::Migrate => {
            let url = config.database_url.as_ref().context("`migrate` needs DATABASE_URL")?;
            migrate(url, config.read_database_url.as_ref(), config.kafka.as_ref()).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Admin { command: AdminCommand::Token { role, user, ttl_minutes } } => {
            let Some(role) = events::Role::parse(&role) else {
                bail!("unknown role {role:?}: use admin, instructor, individual_trainee, corporate_trainee or analyst");
            };
            // Signed with the secret `up` uses: never a new one made here.
            if config.jwt_secret.is_none() {
                embedded::existing_data_folder(&config.data_dir)?;
            }
            let secret = learnlog::secret::token_secret(config.jwt_secret.as_ref(), &config.data_dir)?;
            let keys = api_contract::TokenKeys::new(&secret)?;
            let token = keys.issue(user, role, Duration::from_secs(ttl_minutes.saturating_mul(60)))?;
            write_line(&token)
        }
        Command::Admin { command: AdminCommand::CreateAdmin { email, username, name } } => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password).context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            let admin = learnlog::admin::NewAdmin { email, username, name, password };
            let id = learnlog::admin::create_admin(&config, admin).await?;
            write_line(&format!("admin created: {id}"))
        }
        Command::DeadLetters { command } => {
            let task = dead_letter_task(command);
            let operator = std::env::var("USER").unwrap_or_else(|_| "operator".to_owned());
            write_line(&learnlog::operations::dead_letter_task(&config, task, &operator).await?)
        }
        Command::Replay { command, schema, as_of, position, projections } => {
            use learnlog::rebuild::{ReplayOptions, ReplayTask};
            let task = match command {
                Some(ReplayCommand::List) => ReplayTask::List,
                Some(ReplayCommand::Drop { name }) => ReplayTask::Drop { name },
                None => ReplayTask::Build(ReplayOptions {
                    schema,
                    as_of: rfc3339("--as-of", as_of)?,
                    position,
                    projections,
                }),
            };
            write_line(&learnlog::rebuild::replay(&config, task).await?)
        }
        Command::Export { format, out, after, until, types } => {
            let until = rfc3339("--until", until)?;
            let format = match format {
                ExportFormat::Parquet => export::Format::Parquet,
                ExportFormat::Csv => export::Format::Csv,
                ExportFormat::Ndjson => export::Format::Ndjson,
            };
            let options = export::ExportOptions { format, out, after, until, before: None, types };
            write_line(&learnlog::analytics::export(&config, &options).await?)
        }
        Command::Archive { before, out } => {
            use learnlog::archive::ArchiveTask;
            let task = match (before, out) {
                (Some(before), Some(out)) => ArchiveTask::Before { before, out },
                _ => ArchiveTask::List,
            };
            write_line(&learnlog::archive::archive(&config, task).await?)
        }
        Command::Bench { command } => {
            let report = match command {
                BenchCommand::Append(options) => learnlog::bench::append(&config, &options).await?,
                BenchCommand::Lag(options) => learnlog::bench::lag::lag(&config, &options).await?,
                BenchCommand::Relay(options) => learnlog::bench::relay::relay(&config, &options).await?,
                BenchCommand::Replay(options) => learnlog::bench::replay::replay(&config, &options).await?,
                BenchCommand::Catalog(options) => learnlog::bench::catalog::catalog(&config, &options).await?,
                BenchCommand::Checkout(options) => learnlog::bench::checkout::checkout(&config, &options).await?,
                BenchCommand::Learn(options) => learnlog::bench::learn::learn(&config, &options).await?,
                BenchCommand::Live(options) => learnlog::bench::live::live(&config, &options).await?,
                BenchCommand::Cluster(options) => learnlog::bench::cluster::cluster(&config, &options).await?,
                BenchCommand::Soak(options) => {
                    // The report as it comes: a minute's line at the end of the minute.
                    let mut progress = |text: &str| {
                        use std::io::Write;
                        let mut out = std::io::stdout().lock();
                        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
                    };
                    let soak = learnlog::bench::soak::soak(&config, &options, &mut progress).await?;
                    anyhow::ensure!(soak.passed, "a check of the soak failed (above)");
                    return Ok(());
                }
            };
            write_line(&report)
        }
    }
}

/// An optional RFC 3339 time given as option `name`.
fn rfc3339(name: &str, text: Option<String>) -> anyhow::Result<Option<time::OffsetDateTime>> {
    text.map(|text| {
        time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
            .with_context(|| format!("{name} {text:?} is not an RFC 3339 time (2026-01-01T00:00:00Z)"))
    })
    .transpose()
}

async fn up(config: Config, demo: bool) -> anyhow::Result<()> {
    let (cluster, url) = embedded::up_store_url(&config).await.context("starting the embedded PostgreSQL")?;
    migrate(&url, config.read_database_url.as_ref(), config.kafka.as_ref()).await?;
    let app = App::build(&config, &url, &Role::everything(&config)).await?;
    // The password stays in the data folder (or DATABASE_URL): shown, the URL hides it.
    write_line(&format!("PostgreSQL: {url}"))?;
    let address = app.local_addr()?;
    write_line(&format!("Learnlog is up on http://{address} (Ctrl-C stops it)"))?;
    if demo {
        seed_demo(&config, address)?;
    }
    let result = app.run(shutdown_signal()).await;
    if let Some(cluster) = cluster {
        cluster.stop().await?;
    }
    result?;
    write_line("Stopped.")
}

/// Seeds the demo catalogue through the API at `address`, in the background, and says when it is ready.
fn seed_demo(config: &Config, address: SocketAddr) -> anyhow::Result<()> {
    let secret = learnlog::secret::token_secret(config.jwt_secret.as_ref(), &config.data_dir)?;
    let keys = api_contract::TokenKeys::new(&secret)?;
    tokio::spawn(async move {
        match learnlog::demo::seed(&format!("http://{address}"), &keys).await {
            Ok(Some(report)) => {
                let _ = write_line(&format!(
                    "Demo catalogue ready: {} instructors and {} trainees (password {:?}), {} courses",
                    report.instructors,
                    report.trainees,
                    learnlog::demo::DEMO_PASSWORD,
                    report.courses
                ));
            }
            Ok(None) => tracing::info!("the catalogue already has courses; no demo data added"),
            Err(error) => tracing::error!(%error, "seeding the demo catalogue failed"),
        }
    });
    Ok(())
}

fn write_line(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    Ok(out.flush()?)
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use learnlog::operations::DeadLetterTask;

    fn task(line: &str) -> Result<DeadLetterTask, clap::Error> {
        let cli = Cli::try_parse_from(line.split(' '))?;
        let Command::DeadLetters { command } = cli.command else { panic!("a dead-letters command") };
        Ok(dead_letter_task(command))
    }

    #[test]
    fn one_vocabulary_reaches_every_subscriber_by_a_dead_letters_id() {
        assert_eq!(
            task("learnlog dead-letters retry 7").expect("parsed"),
            DeadLetterTask::Retry { subscriber: "projector", id: 7 }
        );
        assert_eq!(
            task("learnlog dead-letters skip --subscriber sagas 7 --reason bad").expect("parsed"),
            DeadLetterTask::Skip { subscriber: "sagas", id: 7, reason: "bad".to_owned() }
        );
        assert_eq!(
            task("learnlog dead-letters retry --subscriber relay 9").expect("parsed"),
            DeadLetterTask::Retry { subscriber: "relay", id: 9 }
        );
        assert!(task("learnlog dead-letters retry --subscriber sagas order-1").is_err(), "an id is a number");
        assert!(task("learnlog dead-letters retry --subscriber mailer 1").is_err(), "no such subscriber");
    }
}
