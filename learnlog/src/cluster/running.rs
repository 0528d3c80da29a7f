//! A cluster while it runs: supervising its parts, taking one out and bringing it back, and stopping it all.

use std::path::PathBuf;
use std::time::Duration;

use dev_cluster::{ClusterOptions, LocalCluster};

use super::processes::Member;
use super::{Layout, Part, READY_WITHIN, SUPERVISE_EVERY};
use crate::error::Error;

/// The cluster while it runs.
#[derive(Debug)]
pub struct Running {
    pub(super) members: Vec<Member>,
    pub(super) primary: LocalCluster,
    pub(super) replica: LocalCluster,
    pub(super) replica_dir: PathBuf,
    pub(super) replica_options: ClusterOptions,
    pub(super) layout_file: PathBuf,
    pub(super) layout: Layout,
}

impl Running {
    /// Until every Learnlog process and the balancer answer `/readyz` with 200.
    pub(super) async fn wait_ready(&mut self) -> Result<(), Error> {
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

    pub(super) fn write_layout(&mut self) -> Result<(), Error> {
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
        // Written aside and renamed into place, so that a reader never sees half a file.
        let written = self.layout_file.with_extension("json.tmp");
        std::fs::write(&written, format!("{json:#}\n"))?;
        std::fs::rename(&written, &self.layout_file)?;
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
