//! A PostgreSQL cluster of our own, started from the machine's PostgreSQL binaries into a local data folder:
//! `learnlog up` uses it when no `DATABASE_URL` is given, and the test harness and benchmarks start a
//! throwaway one. It listens on 127.0.0.1 only, on a free port, with no Unix socket. PostgreSQL refuses to
//! run as root, so as root every PostgreSQL program runs as the `postgres` user.
//!
//! No connection is trusted: the superuser has a random password made at `initdb` and kept, readable by its
//! owner only (`0600`), in the data folder's `learnlog.password`; `pg_hba.conf` asks every connection for it
//! (SCRAM-SHA-256). A data folder made before this rule (with `trust`) gets a password and the new
//! `pg_hba.conf` the next time it is started.
//!
//! The process that starts the server owns it and stops it when it ends; `learnlog.owner` in the data folder
//! names that process (its pid and start time, so a reused pid is not mistaken for it). PostgreSQL runs in a
//! session of its own, so it outlives an owner killed outright (with its whole process group). The next process
//! to start on the folder then finds the owner gone and adopts the server: it owns it from then on and stops it
//! when it ends. While the owner lives, other processes use the server and leave it running.

mod owner;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use owner::{Process, start_time, write_owner};
use tokio::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no PostgreSQL server binaries found (looked for initdb and pg_ctl on PATH and in /usr/lib/postgresql/*/bin); \
         install them with `apt-get install -y postgresql`"
    )]
    BinariesMissing,
    #[error("running as root, but there is no `postgres` user to run PostgreSQL as")]
    NoPostgresUser,
    #[error("{program} failed: {detail}")]
    Command { program: String, detail: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("setting the superuser's password failed: {0}")]
    Password(#[from] tokio_postgres::Error),
}

/// The file, in the data folder, that holds the superuser's password.
const PASSWORD_FILE: &str = "learnlog.password";
/// The file, in the data folder, naming the process that owns the running server.
const OWNER_FILE: &str = "learnlog.owner";
/// Who may connect, and how: by password only, over loopback only.
const PG_HBA: &str = "# Written by Learnlog: every connection proves the password; nothing is trusted.\n\
    # TYPE  DATABASE     USER  ADDRESS       METHOD\n\
    host    all          all   127.0.0.1/32  scram-sha-256\n\
    host    all          all   ::1/128       scram-sha-256\n\
    host    replication  all   127.0.0.1/32  scram-sha-256\n\
    host    replication  all   ::1/128       scram-sha-256\n";
/// The replication slot that keeps the primary's write-ahead log until the replica has it.
const REPLICA_SLOT: &str = "learnlog_replica";

/// Settings of a local cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// `fsync`, `synchronous_commit` and `full_page_writes` off: for throwaway test clusters only.
    pub durable: bool,
    pub max_connections: u32,
    /// The port to listen on (a replica started again keeps its address); a free one when `None`.
    pub port: Option<u16>,
    /// Loads `pg_stat_statements`, planning times included: for a benchmark's profile of its statements.
    pub statement_stats: bool,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions { durable: true, max_connections: 200, port: None, statement_stats: false }
    }
}

/// A running local cluster.
#[derive(Debug)]
pub struct LocalCluster {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    port: u16,
    run_as: Option<String>,
    password: String,
    /// False when another process (say, a running `learnlog up`) owns the server: then it is used, never
    /// stopped, by this one.
    owned: bool,
    /// Whether this process adopted a running server whose owner is gone.
    adopted: bool,
}

impl LocalCluster {
    /// Creates the cluster in `data_dir` if it is not there yet, and starts it on a free loopback port.
    pub async fn start(data_dir: &Path, options: &ClusterOptions) -> Result<Self, ClusterError> {
        let bin_dir = find_binaries().ok_or(ClusterError::BinariesMissing)?;
        let run_as = if running_as_root() { Some("postgres".to_owned()) } else { None };
        if let Some(user) = &run_as {
            ensure_user_exists(user).await?;
        }
        let mut cluster = LocalCluster {
            bin_dir,
            data_dir: data_dir.to_path_buf(),
            port: match options.port {
                Some(port) => port,
                None => free_port()?,
            },
            run_as,
            password: String::new(),
            owned: true,
            adopted: false,
        };
        if !data_dir.join("PG_VERSION").exists() {
            cluster.init().await?;
        }
        let upgrade = match std::fs::read_to_string(data_dir.join(PASSWORD_FILE)) {
            Ok(password) => {
                cluster.password = password.trim().to_owned();
                false
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => true,
            Err(error) => return Err(error.into()),
        };
        // Already running on this folder: used as it is, and owned from now on if its owner is gone.
        if cluster.pg_ctl(&["status"]).await.is_ok()
            && let Some(port) = running_port(data_dir)
        {
            cluster.port = port;
            let owner = std::fs::read_to_string(data_dir.join(OWNER_FILE)).ok();
            cluster.owned = !owner.as_deref().and_then(Process::parse).is_some_and(|owner| owner.is_running());
            if cluster.owned {
                cluster.adopted = true;
                write_owner(data_dir)?;
                tracing::warn!("adopted the local PostgreSQL server left running by a process that is gone");
            }
            if upgrade {
                cluster.require_password().await?;
            }
            return Ok(cluster);
        }
        let mut settings = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections={}",
            cluster.port, options.max_connections
        );
        if !options.durable {
            settings.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        if options.statement_stats {
            settings
                .push_str(" -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on");
        }
        let log = cluster.log_file();
        let log = log.to_string_lossy();
        cluster.pg_ctl(&["start", "-w", "-t", "60", "-l", &log, "-o", &settings]).await?;
        write_owner(data_dir)?;
        if upgrade {
            cluster.require_password().await?;
        }
        Ok(cluster)
    }

    /// A URL for `database` on this cluster. It holds the superuser's password: keep it in a secret type,
    /// and never print it whole.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres:{}@127.0.0.1:{}/{database}", self.password, self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server's process (the postmaster), while it runs.
    pub fn server_pid(&self) -> Option<u32> {
        let pid_file = std::fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        let pid: u32 = pid_file.lines().next()?.trim().parse().ok()?;
        start_time(pid).map(|_| pid)
    }

    /// Whether this process stops the server when it ends (it started it, or adopted it).
    pub fn is_owned(&self) -> bool {
        self.owned
    }

    /// Whether this process adopted a running server whose owner had gone.
    pub fn was_adopted(&self) -> bool {
        self.adopted
    }

    /// A streaming replica of this (primary) cluster in `data_dir`: made the first time with `pg_basebackup`
    /// (a replication slot keeps the write-ahead log it has not received yet), then started as a hot standby on
    /// a free loopback port. It has the primary's superuser and password, and replays everything the primary
    /// writes; it takes reads only.
    pub async fn start_replica(&self, data_dir: &Path, options: &ClusterOptions) -> Result<LocalCluster, ClusterError> {
        if !data_dir.join("PG_VERSION").exists() {
            // A primary made before replication was let in learns it now.
            self.write_hba().await?;
            self.pg_ctl(&["reload"]).await?;
            let (client, connection) = tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls).await?;
            let connection = tokio::spawn(connection);
            // A slot left by an earlier replica that is gone would keep the log for ever.
            client
                .execute(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
                    &[&REPLICA_SLOT],
                )
                .await?;
            drop(client);
            let _ = connection.await;
            // The server copies its whole folder, our files in it too: they must be its own to read.
            if let Some(user) = &self.run_as {
                for file in [PASSWORD_FILE, OWNER_FILE] {
                    run(Command::new("chown").arg(format!("{user}:")).arg(self.data_dir.join(file))).await?;
                }
            }
            // pg_basebackup fills an empty folder the server's user owns, readable by it alone.
            std::fs::create_dir_all(data_dir)?;
            std::fs::set_permissions(data_dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
            if let Some(user) = &self.run_as {
                run(Command::new("chown").arg(format!("{user}:")).arg(data_dir)).await?;
            }
            let target = data_dir.to_string_lossy();
            let port = self.port.to_string();
            let args = [
                "-D",
                &target,
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-X",
                "stream",
                "-R",
                "-C",
                "-S",
                REPLICA_SLOT,
                "--checkpoint=fast",
                "--no-password",
            ];
            let mut basebackup = self.command(&self.program("pg_basebackup"), &args);
            // The password goes by the environment, never on a command line others can read.
            basebackup.env("PGPASSWORD", &self.password);
            if let Err(error) = run(&mut basebackup).await {
                let _ = std::fs::remove_dir_all(data_dir);
                return Err(error);
            }
        }
        LocalCluster::start(data_dir, options).await
    }

    /// Stops the server, waiting for it to finish (fast shutdown: open transactions roll back). A server this
    /// process did not start is left running.
    pub async fn stop(&self) -> Result<(), ClusterError> {
        if !self.owned {
            return Ok(());
        }
        self.pg_ctl(&["stop", "-m", "fast", "-w"]).await?;
        let _ = std::fs::remove_file(self.data_dir.join(OWNER_FILE));
        Ok(())
    }

    /// Makes sure the server does not outlive this process, even if the process is killed: a small watchdog
    /// stops it (and removes the data folder when `remove_data` is set) once this process is gone.
    pub fn stop_when_this_process_exits(&self, remove_data: bool) -> Result<(), ClusterError> {
        if !self.owned {
            return Ok(());
        }
        let pg_ctl = self.program("pg_ctl");
        let data = self.data_dir.to_string_lossy().into_owned();
        let mut stop = format!("{pg_ctl} -D '{data}' stop -m immediate");
        if let Some(user) = &self.run_as {
            stop = format!("runuser -u {user} -- {stop}");
        }
        let cleanup = if remove_data { format!("; rm -rf '{data}'") } else { String::new() };
        // Deaf to Ctrl-C and polite stops sent to the whole process group: it acts only once this process is gone.
        let script = format!(
            "trap '' INT TERM HUP; while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1{cleanup}",
            pid = std::process::id()
        );
        let mut watchdog = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        // Reaped when it ends, should this process outlive it.
        std::thread::spawn(move || watchdog.wait());
        Ok(())
    }

    fn log_file(&self) -> PathBuf {
        self.data_dir.join("server.log")
    }

    /// Creates the cluster with a new random superuser password, kept `0600` in the data folder.
    async fn init(&mut self) -> Result<(), ClusterError> {
        std::fs::create_dir_all(&self.data_dir)?;
        if let Some(user) = &self.run_as {
            run(Command::new("chown").arg(format!("{user}:")).arg(&self.data_dir)).await?;
        }
        let password = new_password();
        // initdb wants an empty folder, so the password file it reads sits beside it for the moment.
        let pwfile = self.data_dir.with_extension("initdb-password");
        write_private(&pwfile, &password)?;
        if let Some(user) = &self.run_as {
            run(Command::new("chown").arg(format!("{user}:")).arg(&pwfile)).await?;
        }
        let data = self.data_dir.to_string_lossy();
        let pwfile_arg = pwfile.to_string_lossy();
        let initdb = self.program("initdb");
        let args = [
            "-D",
            &data,
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            "--pwfile",
            &pwfile_arg,
            "-E",
            "UTF8",
            "--locale=C",
            "--no-instructions",
        ];
        let result = run(&mut self.command(&initdb, &args)).await;
        std::fs::remove_file(&pwfile)?;
        result?;
        self.write_hba().await?;
        write_private(&self.data_dir.join(PASSWORD_FILE), &password)?;
        self.password = password;
        Ok(())
    }

    /// Upgrades a running cluster made with `trust`: gives the superuser a new password, keeps it in the data
    /// folder, and makes `pg_hba.conf` ask for it.
    async fn require_password(&mut self) -> Result<(), ClusterError> {
        let password = new_password();
        let url = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
        let connection = tokio::spawn(connection);
        // The password is made of letters and digits only, so it can stand in a literal.
        client.batch_execute(&format!("ALTER USER postgres PASSWORD '{password}'")).await?;
        drop(client);
        let _ = connection.await;
        write_private(&self.data_dir.join(PASSWORD_FILE), &password)?;
        self.password = password;
        self.write_hba().await?;
        self.pg_ctl(&["reload"]).await?;
        tracing::info!("the local PostgreSQL now asks for a password (kept in its data folder)");
        Ok(())
    }

    async fn write_hba(&self) -> Result<(), ClusterError> {
        let hba = self.data_dir.join("pg_hba.conf");
        std::fs::write(&hba, PG_HBA)?;
        if let Some(user) = &self.run_as {
            run(Command::new("chown").arg(format!("{user}:")).arg(&hba)).await?;
        }
        Ok(())
    }

    async fn pg_ctl(&self, args: &[&str]) -> Result<String, ClusterError> {
        let data = self.data_dir.to_string_lossy();
        let mut all = vec!["-D", &data];
        all.extend_from_slice(args);
        run(&mut self.command(&self.program("pg_ctl"), &all)).await
    }

    fn program(&self, name: &str) -> String {
        self.bin_dir.join(name).to_string_lossy().into_owned()
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--", program]).args(args);
                command
            }
            None => {
                let mut command = Command::new(program);
                command.args(args);
                command
            }
        }
    }
}

async fn run(command: &mut Command) -> Result<String, ClusterError> {
    let program = format!("{:?}", command.as_std().get_program());
    let output = command.stdin(Stdio::null()).kill_on_drop(true).output().await?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let detail = format!(
            "{}: {}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            String::from_utf8_lossy(&output.stdout).trim()
        );
        Err(ClusterError::Command { program, detail })
    }
}

/// The folder with `initdb` and `pg_ctl` (and the other server tools): on PATH, else the newest `/usr/lib/postgresql/<n>/bin`.
fn find_binaries() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&path).find(|dir| has_tools(dir))
    {
        // Links on the PATH lead to the folder that holds every tool (pg_basebackup too).
        let real =
            std::fs::canonicalize(dir.join("initdb")).ok().and_then(|initdb| initdb.parent().map(Path::to_path_buf));
        return Some(real.filter(|real| has_tools(real)).unwrap_or(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_tools(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("Uid:"))?;
            line.split_whitespace().nth(1).map(|uid| uid == "0")
        })
        .unwrap_or(false)
}

async fn ensure_user_exists(user: &str) -> Result<(), ClusterError> {
    match run(Command::new("id").arg("-u").arg(user)).await {
        Ok(_) => Ok(()),
        Err(_) => Err(ClusterError::NoPostgresUser),
    }
}

/// The port of the server running on `data_dir`: the fourth line of its `postmaster.pid`.
fn running_port(data_dir: &Path) -> Option<u16> {
    let pid_file = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    pid_file.lines().nth(3)?.trim().parse().ok()
}

/// A port that was free a moment ago: bound to port 0, read, released.
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// 32 random letters and digits (about 190 bits).
fn new_password() -> String {
    use rand::Rng;
    rand::rng().sample_iter(rand::distr::Alphanumeric).take(32).map(char::from).collect()
}

/// Writes `text` to `path`, readable and writable by this user only.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}
