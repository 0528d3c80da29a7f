//! `learnlog cluster`: the whole system on one machine as it runs on many, every part a process of its own on
//! loopback. HAProxy (`deploy/haproxy.cfg`) in front; two command APIs and two query APIs behind it; the projector,
//! the sagas, the relay, the mailer and the payment sandbox; the broker (nisshi, keeping its log in PostgreSQL)
//! unless `KAFKA_BROKERS` names one; a PostgreSQL primary (the data folder's, as `learnlog up` uses) and a streaming
//! replica made from it with `pg_basebackup`, which the query APIs read from while it is current.
//!
//! The cluster supervises its parts: one that ends is started again, on the same address, after a second. Where
//! every part is, with its process id, is written to `<data folder>/cluster.json` (and again after a restart); each
//! part logs into `<data folder>/cluster-logs/`.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use dev_cluster::{ClusterOptions, LocalCluster};
use tokio::process::{Child, Command};

use crate::config::Config;
use crate::error::Error;

/// The balancer's configuration, as kept in `deploy/haproxy.cfg`.
const HAPROXY_CFG: &str = include_str!("../../deploy/haproxy.cfg");
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

/// A supervised process: how to start it, and the running child.
#[derive(Debug)]
struct Member {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    address: Option<SocketAddr>,
    log: PathBuf,
    child: Option<Child>,
    restarts: u32,
    /// Taken out on purpose ([`Running::take_out`]): not started again.
    held: bool,
}

impl Member {
    fn start(&mut self) -> Result<(), Error> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log)?;
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .env_remove("LEARNLOG_READ_DATABASE_URL")
            .envs(self.env.iter().map(|(name, value)| (name.as_str(), value.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        self.child = Some(command.spawn().map_err(|error| {
            Error::Config(format!("{} cannot start ({}): {error}", self.name, self.program.display()))
        })?);
        Ok(())
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Whether it ended (and was reaped).
    fn ended(&mut self) -> bool {
        self.child.as_mut().is_none_or(|child| !matches!(child.try_wait(), Ok(None)))
    }

    /// SIGTERM, then SIGKILL after `grace`.
    async fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else { return };
        if let Some(pid) = child.id() {
            let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
        }
        if tokio::time::timeout(grace, child.wait()).await.is_err() {
            let _ = child.kill().await;
        }
    }
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

/// The cluster while it runs.
#[derive(Debug)]
pub struct Running {
    members: Vec<Member>,
    primary: LocalCluster,
    replica: LocalCluster,
    replica_dir: PathBuf,
    replica_options: ClusterOptions,
    layout_file: PathBuf,
    layout: Layout,
}

impl Running {
    /// Until every Learnlog process and the balancer answer `/readyz` with 200.
    async fn wait_ready(&mut self) -> Result<(), Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|error| Error::Config(format!("an HTTP client: {error}")))?;
        let deadline = tokio::time::Instant::now() + READY_WITHIN;
        for index in 0..self.members.len() {
            let Some(address) = self.members[index].address else { continue };
            if self.members[index].name == "broker" || self.members[index].held {
                continue;
            }
            let url = format!("http://{address}/readyz");
            loop {
                let ready = http.get(&url).send().await.is_ok_and(|answer| answer.status().is_success());
                if ready {
                    break;
                }
                let member = &mut self.members[index];
                if member.ended() || tokio::time::Instant::now() > deadline {
                    return Err(Error::Config(format!(
                        "{} did not get ready; see {}",
                        member.name,
                        member.log.display()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Ok(())
    }

    /// Where everything is.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Stops the part `name` and keeps it stopped until [`Running::bring_back`].
    pub async fn take_out(&mut self, name: &str) {
        if let Some(member) = self.members.iter_mut().find(|member| member.name == name) {
            member.held = true;
            member.stop(Duration::from_secs(10)).await;
        }
    }

    /// Starts the part `name` again, and returns once it is ready.
    pub async fn bring_back(&mut self, name: &str) -> Result<(), Error> {
        if let Some(member) = self.members.iter_mut().find(|member| member.name == name) {
            member.held = false;
            member.start()?;
        }
        self.wait_ready().await?;
        self.write_layout()
    }

    /// Supervises the parts until `shutdown` completes.
    pub async fn supervise_until(&mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(SUPERVISE_EVERY) => self.supervise().await,
            }
        }
    }

    /// Starts again whatever ended: a process, or the replica.
    pub async fn supervise(&mut self) {
        let mut changed = false;
        for member in &mut self.members {
            if !member.held && member.ended() {
                tracing::warn!(part = %member.name, "a part of the cluster ended; starting it again");
                tokio::time::sleep(Duration::from_secs(1)).await;
                member.restarts += 1;
                if let Err(error) = member.start() {
                    tracing::error!(part = %member.name, %error, "starting it again failed");
                }
                changed = true;
            }
        }
        if self.replica.server_pid().is_none() {
            tracing::warn!("the read replica ended; starting it again");
            match LocalCluster::start(&self.replica_dir, &self.replica_options).await {
                Ok(replica) => self.replica = replica,
                Err(error) => tracing::error!(%error, "starting the read replica again failed"),
            }
            changed = true;
        }
        if changed && let Err(error) = self.write_layout() {
            tracing::warn!(%error, "cluster.json was not written");
        }
    }

    fn write_layout(&mut self) -> Result<(), Error> {
        self.layout.processes = self
            .members
            .iter()
            .map(|member| {
                let part = Part {
                    address: member.address,
                    pid: member.pid(),
                    restarts: member.restarts,
                    program: member.program.clone(),
                };
                (member.name.clone(), part)
            })
            .collect();
        self.layout.primary_port = self.primary.port();
        self.layout.replica_port = self.replica.port();
        self.layout.replica_pid = self.replica.server_pid();
        let layout = &self.layout;
        let processes: serde_json::Map<String, serde_json::Value> = layout
            .processes
            .iter()
            .map(|(name, part)| {
                let address = part.address.map(|address| address.to_string());
                let program = part.program.display().to_string();
                let part = serde_json::json!({ "address": address, "pid": part.pid, "restarts": part.restarts,
                    "program": program });
                (name.clone(), part)
            })
            .collect();
        let json = serde_json::json!({
            "owner_pid": std::process::id(),
            "balancer": layout.balancer.to_string(),
            "stats": layout.stats.to_string(),
            "processes": processes,
            "primary_port": layout.primary_port,
            "replica_port": layout.replica_port,
            "replica_pid": layout.replica_pid,
            "kafka_brokers": layout.kafka_brokers,
            "logs": layout.logs.display().to_string(),
        });
        std::fs::write(&self.layout_file, format!("{json:#}\n"))?;
        Ok(())
    }

    /// The balancer first, then the services, the broker, the replica and (if this process owns it) the primary.
    pub async fn stop(&mut self) {
        for member in self.members.iter_mut().rev() {
            member.stop(Duration::from_secs(10)).await;
        }
        if let Err(error) = self.replica.stop().await {
            tracing::warn!(%error, "stopping the read replica failed");
        }
        if let Err(error) = self.primary.stop().await {
            tracing::warn!(%error, "stopping PostgreSQL failed");
        }
        let _ = std::fs::remove_file(&self.layout_file);
    }
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

/// Until `member` listens on its address; an error naming its log once it ends or the wait is over.
async fn wait_for_port(member: &mut Member) -> Result<(), Error> {
    let Some(address) = member.address else { return Ok(()) };
    let deadline = tokio::time::Instant::now() + READY_WITHIN;
    while tokio::net::TcpStream::connect(address).await.is_err() {
        if member.ended() || tokio::time::Instant::now() > deadline {
            return Err(Error::Config(format!("{} did not start; see {}", member.name, member.log.display())));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Stops what a cluster whose owner is gone left running on this data folder (the processes its
/// `cluster.json` lists, each checked to still be the program it started), so that they do not hold the folder,
/// its ports or its databases. A cluster whose owner still runs is not touched: the folder is taken.
async fn clear_leftovers(layout_file: &std::path::Path) -> Result<(), Error> {
    let Some(old) =
        std::fs::read(layout_file).ok().and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
    else {
        return Ok(());
    };
    if let Some(owner) = old["owner_pid"].as_u64().and_then(|pid| u32::try_from(pid).ok())
        && owner != std::process::id()
        && command_line(owner).is_some_and(|words| words.iter().any(|word| word == "cluster"))
    {
        return Err(Error::Config(format!("a cluster already runs on this data folder (process {owner})")));
    }
    let mut left = Vec::new();
    for part in old["processes"].as_object().into_iter().flat_map(|parts| parts.values()) {
        let (Some(pid), Some(program)) = (part["pid"].as_u64(), part["program"].as_str()) else { continue };
        let Ok(pid) = u32::try_from(pid) else { continue };
        if runs(pid, std::path::Path::new(program)) {
            let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
            left.push((pid, std::path::PathBuf::from(program)));
        }
    }
    if !left.is_empty() {
        tracing::warn!(processes = left.len(), "stopping what a cluster whose owner is gone left running");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while left.iter().any(|(pid, program)| runs(*pid, program)) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (pid, program) in &left {
        if runs(*pid, program) {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status().await;
        }
    }
    let _ = std::fs::remove_file(layout_file);
    Ok(())
}

/// Whether process `pid` runs `program` (the first word of its command line), so that a pid reused by
/// another program is never signalled.
fn runs(pid: u32, program: &std::path::Path) -> bool {
    command_line(pid).is_some_and(|words| words.first().is_some_and(|first| std::path::Path::new(first) == program))
}

/// The words of process `pid`'s command line, if it runs.
fn command_line(pid: u32) -> Option<Vec<std::ffi::OsString>> {
    let bytes = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let words = bytes.split(|byte| *byte == 0).filter(|word| !word.is_empty());
    Some(words.map(|word| std::ffi::OsStr::from_bytes(word).to_owned()).collect())
}
