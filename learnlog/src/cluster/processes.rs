//! The cluster's processes: how each is started, watched and stopped, and what a cluster whose owner is gone
//! left running.

use std::net::SocketAddr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::READY_WITHIN;
use crate::error::Error;

/// A supervised process: how to start it, and the running child.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) name: String,
    pub(super) program: PathBuf,
    pub(super) args: Vec<String>,
    pub(super) env: Vec<(String, String)>,
    pub(super) address: Option<SocketAddr>,
    pub(super) log: PathBuf,
    pub(super) child: Option<Child>,
    pub(super) restarts: u32,
    /// Taken out on purpose ([`super::Running::take_out`]): not started again.
    pub(super) held: bool,
}

impl Member {
    pub(super) fn start(&mut self) -> Result<(), Error> {
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

    pub(super) fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Whether it ended (and was reaped).
    pub(super) fn ended(&mut self) -> bool {
        self.child.as_mut().is_none_or(|child| !matches!(child.try_wait(), Ok(None)))
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub(super) async fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else { return };
        if let Some(pid) = child.id() {
            let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
        }
        if tokio::time::timeout(grace, child.wait()).await.is_err() {
            let _ = child.kill().await;
        }
    }
}

/// Until `member` listens on its address; an error naming its log once it ends or the wait is over.
pub(super) async fn wait_for_port(member: &mut Member) -> Result<(), Error> {
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
pub(super) async fn clear_leftovers(layout_file: &Path) -> Result<(), Error> {
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
        if runs(pid, Path::new(program)) {
            let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
            left.push((pid, PathBuf::from(program)));
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
fn runs(pid: u32, program: &Path) -> bool {
    command_line(pid).is_some_and(|words| words.first().is_some_and(|first| Path::new(first) == program))
}

/// The words of process `pid`'s command line, if it runs.
fn command_line(pid: u32) -> Option<Vec<std::ffi::OsString>> {
    let bytes = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let words = bytes.split(|byte| *byte == 0).filter(|word| !word.is_empty());
    Some(words.map(|word| std::ffi::OsStr::from_bytes(word).to_owned()).collect())
}
