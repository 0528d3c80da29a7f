//! `learnlog cluster`: the whole system on one machine as it runs on many, every part a process of its own on
//! loopback. HAProxy (`deploy/haproxy.cfg`) in front; two command APIs and two query APIs behind it; the projector,
//! the sagas, the relay, the mailer and the payment sandbox; the broker (nisshi, keeping its log in PostgreSQL)
//! unless `KAFKA_BROKERS` names one; a PostgreSQL primary (the data folder's, as `learnlog up` uses) and a streaming
//! replica made from it with `pg_basebackup`, which the query APIs read from while it is current.
//!
//! The cluster supervises its parts: one that ends is started again, on the same address, after a second. Where
//! every part is, with its process id, is written to `<data folder>/cluster.json` (and again after a restart); each
//! part logs into `<data folder>/cluster-logs/`.

mod processes;
mod running;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

use dev_cluster::ClusterOptions;

use crate::config::Config;
use crate::error::Error;
use processes::{Member, clear_leftovers, wait_for_port};
pub use running::Running;

/// The balancer's configuration, as kept in `deploy/haproxy.cfg`.
const HAPROXY_CFG: &str = include_str!("../../../deploy/haproxy.cfg");
/// Where `scripts/test` installs the broker, under the home folder.
const NISSHI_UNDER_HOME: &str = ".cache/learnlog-nisshi-0.8.1/bin/nisshi";
/// How long the parts have to get ready.
const READY_WITHIN: Duration = Duration::from_secs(180);
/// How often the supervisor looks at the parts.
const SUPERVISE_EVERY: Duration = Duration::from_millis(500);

/// The layout of a running cluster, as written to `cluster.json`.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Where clients connect: HAProxy.
    pub balancer: SocketAddr,
    /// HAProxy's statistics page.
    pub stats: SocketAddr,
    /// Every process, by name (`command-api-1`, `query-api-2`, `projector`, `haproxy`, `broker`, ...).
    pub processes: BTreeMap<String, Part>,
    pub primary_port: u16,
    pub replica_port: u16,
    pub replica_pid: Option<u32>,
    /// The broker's address, when Kafka carries the events.
    pub kafka_brokers: Option<String>,
    pub logs: PathBuf,
}

/// One process of the cluster.
#[derive(Debug, Clone)]
pub struct Part {
    pub address: Option<SocketAddr>,
    pub pid: Option<u32>,
    /// How many times it was started again.
    pub restarts: u32,
    pub program: PathBuf,
}

/// Runs the cluster until `shutdown` completes, then stops every part it started.
pub async fn run(config: &Config, balancer: SocketAddr, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let mut cluster = start(config, balancer).await?;
    print_layout(&cluster.layout);
    cluster.supervise_until(shutdown).await;
    cluster.stop().await;
    Ok(())
}

/// Starts every part and returns once all are ready, HAProxy on `balancer`. The caller supervises
/// ([`Running::supervise`], now and then) and stops it.
pub async fn start(config: &Config, balancer: SocketAddr) -> Result<Running, Error> {
    let data_dir = std::path::absolute(&config.data_dir)?;
    std::fs::create_dir_all(&data_dir)?;
    clear_leftovers(&data_dir.join("cluster.json")).await?;
    let logs = data_dir.join("cluster-logs");
    std::fs::create_dir_all(&logs)?;
    let haproxy = find_program("haproxy", &["/usr/sbin/haproxy"])
        .ok_or_else(|| Error::Config("HAProxy is not installed: apt-get install -y haproxy".into()))?;

    let primary = crate::embedded::start(&data_dir).await?;
    let store_url = primary.url(crate::embedded::DATABASE);
    let replica_dir = data_dir.join("replica");
    let mut replica_options = ClusterOptions::default();
    let replica = primary.start_replica(&replica_dir, &replica_options).await?;
    replica.stop_when_this_process_exits(false)?;
    replica_options.port = Some(replica.port());
    let replica_url = replica.url(crate::embedded::DATABASE);

    // Made once here, before any part starts, so that every part finds the same keys in the data folder.
    crate::secret::token_secret(config.jwt_secret.as_ref(), &data_dir)?;
    crate::secret::data_key(config.data_key.as_ref(), &data_dir)?;
    crate::secret::payment_secrets(&config.payments, &data_dir)?;

    let mut members = Vec::new();
    let kafka_brokers = match &config.kafka {
        Some(kafka) => Some(kafka.brokers.clone()),
        None => match find_broker() {
            Some(program) => {
                crate::embedded::create_database(&primary.url("postgres"), "broker").await?;
                let address = free_address()?;
                let url = format!("tcp://{address}");
                members.push(Member {
                    name: "broker".to_owned(),
                    program,
                    args: vec![
                        "broker".into(),
                        "--listener-url".into(),
                        url.clone(),
                        "--advertised-listener-url".into(),
                        url,
                    ],
                    // Its log in PostgreSQL, so that it keeps the topics when it is started again; the URL (with
                    // the password) goes by the environment, never on a command line.
                    env: vec![
                        ("STORAGE_ENGINE".into(), primary.url("broker")),
                        // Its own log at warnings only: at info it writes a line per fetch, gigabytes a minute.
                        ("RUST_LOG".into(), "warn".into()),
                    ],
                    address: Some(address),
                    log: logs.join("broker.log"),
                    child: None,
                    restarts: 0,
                    held: false,
                });
                Some(address.to_string())
            }
            None => {
                tracing::warn!("no broker found (nisshi, or KAFKA_BROKERS): the projector and sagas follow the feed");
                None
            }
        },
    };
    for broker in &mut members {
        broker.start()?;
        wait_for_port(broker).await?;
    }
    let mut overrides = vec![("DATABASE_URL".to_owned(), store_url.clone())];
    if let Some(brokers) = &kafka_brokers {
        overrides.push(("KAFKA_BROKERS".to_owned(), brokers.clone()));
    }
    let settings = config_with(&overrides)?;
    crate::app::migrate(&store_url.as_str().into(), None, settings.kafka.as_ref()).await?;

    let stats = free_address()?;
    let sandbox = free_address()?;
    let mut common = overrides.clone();
    common.extend([
        ("LEARNLOG_DATA_DIR".to_owned(), data_dir.display().to_string()),
        ("LEARNLOG_TRUSTED_PROXIES".to_owned(), "127.0.0.1".to_owned()),
        ("LEARNLOG_PAYMENTS_SANDBOX_LISTEN".to_owned(), sandbox.to_string()),
        ("LEARNLOG_PAYMENTS_WEBHOOK_URL".to_owned(), format!("http://{balancer}/api/v1/payments/webhook")),
    ]);
    let executable = std::env::current_exe()?;
    let mut roles: Vec<(String, &str)> = vec![
        ("command-api-1".into(), "command-api"),
        ("command-api-2".into(), "command-api"),
        ("query-api-1".into(), "query-api"),
        ("query-api-2".into(), "query-api"),
        ("projector".into(), "projector"),
        ("sagas".into(), "sagas"),
        ("mailer".into(), "mailer"),
        ("payments-sandbox".into(), "payments-sandbox"),
    ];
    if kafka_brokers.is_some() {
        roles.push(("relay".into(), "relay"));
    }
    let mut balancer_env = vec![
        ("LEARNLOG_BALANCER_LISTEN".to_owned(), balancer.to_string()),
        ("LEARNLOG_BALANCER_STATS".to_owned(), stats.to_string()),
    ];
    let first_learnlog = members.len();
    for (name, role) in roles {
        let address = free_address()?;
        let mut env = common.clone();
        if role == "query-api" {
            env.push(("LEARNLOG_READ_REPLICA_URLS".to_owned(), replica_url.clone()));
        }
        if let Some(variable) = name.strip_prefix("command-api-").map(|n| format!("LEARNLOG_COMMAND_API_{n}")) {
            balancer_env.push((variable, address.to_string()));
        }
        if let Some(variable) = name.strip_prefix("query-api-").map(|n| format!("LEARNLOG_QUERY_API_{n}")) {
            balancer_env.push((variable, address.to_string()));
        }
        members.push(Member {
            log: logs.join(format!("{name}.log")),
            name,
            program: executable.clone(),
            args: vec!["serve".into(), "--role".into(), role.into(), "--listen".into(), address.to_string()],
            env,
            address: Some(address),
            child: None,
            restarts: 0,
            held: false,
        });
    }
    let haproxy_cfg = data_dir.join("haproxy.cfg");
    std::fs::write(&haproxy_cfg, HAPROXY_CFG)?;
    members.push(Member {
        name: "haproxy".to_owned(),
        program: haproxy,
        args: vec!["-db".into(), "-f".into(), haproxy_cfg.display().to_string()],
        env: balancer_env,
        address: Some(balancer),
        log: logs.join("haproxy.log"),
        child: None,
        restarts: 0,
        held: false,
    });
    for member in &mut members[first_learnlog..] {
        member.start()?;
    }

    let mut cluster = Running {
        members,
        primary,
        replica,
        replica_dir,
        replica_options,
        layout_file: data_dir.join("cluster.json"),
        layout: Layout {
            balancer,
            stats,
            processes: BTreeMap::new(),
            primary_port: 0,
            replica_port: 0,
            replica_pid: None,
            kafka_brokers,
            logs,
        },
    };
    let ready = cluster.wait_ready().await;
    if let Err(error) = ready {
        cluster.stop().await;
        return Err(error);
    }
    cluster.write_layout()?;
    Ok(cluster)
}

/// Prints every part's address.
pub fn print_layout(layout: &Layout) {
    let mut lines = vec![
        format!("Learnlog cluster is up on http://{} (HAProxy; Ctrl-C stops it)", layout.balancer),
        format!("  {:<18} http://{}", "haproxy stats", layout.stats),
    ];
    for (name, part) in &layout.processes {
        if let Some(address) = part.address.filter(|_| name != "haproxy") {
            lines.push(format!("  {name:<18} {address}"));
        }
    }
    lines.push(format!("  {:<18} 127.0.0.1:{}", "postgres primary", layout.primary_port));
    lines.push(format!("  {:<18} 127.0.0.1:{} (streaming replica)", "postgres replica", layout.replica_port));
    if layout.kafka_brokers.is_none() {
        lines.push("  no broker: the projector and sagas follow the event store's feed".to_owned());
    }
    lines.push(format!("  logs in {}", layout.logs.display()));
    println!("{}", lines.join("\n"));
}

/// The configuration from the environment, with `overrides` in front.
fn config_with(overrides: &[(String, String)]) -> Result<Config, Error> {
    Config::from_lookup(|name| {
        overrides
            .iter()
            .find(|(variable, _)| variable == name)
            .map(|(_, value)| value.clone())
            .or_else(|| std::env::var(name).ok().filter(|value| !value.trim().is_empty()))
    })
}

/// The broker to start: `LEARNLOG_BROKER_BINARY`, else nisshi where `scripts/test` installs it or on the PATH.
fn find_broker() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LEARNLOG_BROKER_BINARY") {
        return Some(PathBuf::from(path));
    }
    let installed = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(NISSHI_UNDER_HOME));
    installed.filter(|path| path.is_file()).or_else(|| find_program("nisshi", &[]))
}

/// `name` on the PATH, else the first of `fallbacks` that exists.
fn find_program(name: &str, fallbacks: &[&str]) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|dir| dir.join(name)).find(|path| path.is_file()));
    on_path.or_else(|| fallbacks.iter().map(PathBuf::from).find(|path| path.is_file()))
}

/// A loopback address that was free a moment ago.
fn free_address() -> Result<SocketAddr, Error> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}
