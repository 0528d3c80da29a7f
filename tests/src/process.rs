//! Learnlog roles as real processes (`learnlog serve --role ...`), for scenarios that kill one with SIGKILL.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// The `learnlog` binary of this build: beside the test executable's `deps` folder.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    let binary = dir.join("learnlog");
    assert!(binary.is_file(), "{} is missing: build it first (scripts/test does)", binary.display());
    binary
}

/// A running `learnlog serve` process; killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct LearnlogProcess {
    child: Child,
    /// Partitions this process's consumer holds, as its log reports them.
    partitions: watch::Receiver<usize>,
    /// Every line it wrote to standard output and standard error.
    output: Arc<Mutex<Vec<String>>>,
}

impl LearnlogProcess {
    /// Starts `learnlog serve` with `roles`, on a free port, configured by `environment` alone.
    pub fn serve(roles: &[&str], environment: &[(&str, &str)]) -> LearnlogProcess {
        Self::serve_on(roles, "127.0.0.1:0", environment)
    }

    /// Like [`LearnlogProcess::serve`], listening on `listen`.
    pub fn serve_on(roles: &[&str], listen: &str, environment: &[(&str, &str)]) -> LearnlogProcess {
        let mut command = Command::new(binary());
        command.arg("serve");
        for role in roles {
            command.args(["--role", role]);
        }
        command
            .args(["--listen", listen])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn,projector=info,subscriptions=info,sagas=info")
            .env("NO_COLOR", "1")
            .envs(environment.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("learnlog starts");
        let (report, partitions) = watch::channel(0);
        let output = Arc::new(Mutex::new(Vec::new()));
        if let Some(stderr) = child.stderr.take() {
            let output = Arc::clone(&output);
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(held) = partitions_held(&line) {
                        report.send_replace(held);
                    }
                    if line.contains("ERROR") {
                        eprintln!("learnlog process: {line}");
                    }
                    output.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(line);
                }
            });
        }
        if let Some(stdout) = child.stdout.take() {
            let output = Arc::clone(&output);
            tokio::spawn(async move {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    output.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(line);
                }
            });
        }
        LearnlogProcess { child, partitions, output }
    }

    /// Waits (bounded by `within`) until the process listening on `listen` answers `/readyz` with 200.
    pub async fn wait_ready(&self, listen: &str, within: std::time::Duration) {
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + within;
        while http.get(format!("http://{listen}/readyz")).send().await.map(|r| r.status().as_u16()).ok() != Some(200) {
            assert!(tokio::time::Instant::now() < deadline, "the process did not get ready: {:?}", self.output());
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The process's resident and peak resident memory in KiB (`VmRSS`, `VmHWM` of `/proc/<pid>/status`).
    pub fn memory_kib(&self) -> Option<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        let field = |name: &str| {
            status.lines().find_map(|line| line.strip_prefix(name)?.trim().strip_suffix("kB")?.trim().parse().ok())
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// Everything the process printed so far, both streams, one line per entry.
    pub fn output(&self) -> Vec<String> {
        self.output.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Waits (bounded by `within`) until the process has printed a line that `printed` accepts; `what` names
    /// that line in the panic if it never comes.
    pub async fn wait_for_line(&self, what: &str, printed: impl Fn(&str) -> bool, within: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while !self.output().iter().any(|line| printed(line.as_str())) {
            assert!(tokio::time::Instant::now() < deadline, "the process did not print {what}: {:?}", self.output());
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// True while this process's consumer holds at least one partition.
    pub fn holds_partitions(&self) -> bool {
        *self.partitions.borrow() > 0
    }

    /// SIGKILL, as a crash or the OOM killer would: no cleanup of any kind.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// The partition count of an "assigned" or "revoked" log line.
fn partitions_held(line: &str) -> Option<usize> {
    if line.contains("partitions revoked") {
        return Some(0);
    }
    if !line.contains("partitions assigned") {
        return None;
    }
    let count = line.split("partitions=").nth(1)?;
    count.chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()
}
