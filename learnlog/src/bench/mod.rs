//! Benchmarks (not tests). Each measures Learnlog against a baseline run in the same process and the same
//! run, interleaved where it can be, and reports ratios: the machines are shared and noisy.

pub mod append;
pub mod catalog;
pub mod checkout;
pub mod cluster;
pub mod lag;
pub mod learn;
pub mod live;
pub mod mix;
pub mod relay;
pub mod replay;
pub mod soak;
mod statements;

pub use append::{AppendOptions, append};

use std::time::Duration;

use dev_cluster::{ClusterOptions, LocalCluster};
use uuid::Uuid;

use crate::error::Error;

/// A throwaway, durable cluster for one benchmark, removed afterwards.
pub(crate) struct BenchCluster {
    pub cluster: LocalCluster,
    folder: std::path::PathBuf,
}

impl BenchCluster {
    pub async fn start() -> Result<Self, Error> {
        Self::start_with(ClusterOptions::default()).await
    }

    /// A cluster that counts its statements (`pg_stat_statements`), for a benchmark's `--statements`.
    pub async fn start_profiled(statements: bool) -> Result<Self, Error> {
        Self::start_with(ClusterOptions { statement_stats: statements, ..ClusterOptions::default() }).await
    }

    async fn start_with(options: ClusterOptions) -> Result<Self, Error> {
        let folder = std::env::temp_dir().join(format!("learnlog-bench-{}", Uuid::now_v7()));
        let cluster = LocalCluster::start(&folder.join("postgres"), &options).await?;
        cluster.stop_when_this_process_exits(true)?;
        Ok(BenchCluster { cluster, folder })
    }

    /// A new, migrated database `name` (with topics when `kafka` is given).
    pub async fn database(&self, name: &str, kafka: Option<&crate::config::KafkaConfig>) -> Result<String, Error> {
        crate::embedded::create_database(&self.cluster.url("postgres"), name).await?;
        let url = self.cluster.url(name);
        crate::app::migrate(&database::SecretUrl::new(url.clone()), None, kafka).await?;
        Ok(url)
    }

    /// Like [`BenchCluster::database`], for a bench that inserts events with SQL of its own: one partition of
    /// the events takes every position it may write (the append writer makes them as it goes; raw SQL does not).
    pub async fn database_for_raw_inserts(&self, name: &str) -> Result<String, Error> {
        let url = self.database(name, None).await?;
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client
            .batch_execute("UPDATE event_partitioning SET width = 1000000000000; SELECT learnlog_cover_events(1)")
            .await?;
        Ok(url)
    }

    pub async fn stop(self) -> Result<(), Error> {
        self.cluster.stop().await?;
        let _ = std::fs::remove_dir_all(&self.folder);
        Ok(())
    }
}

/// `learnlog up`'s command API, query API, projector and sagas, running in this process on the database at
/// `url` for a benchmark's clients, with a fresh token secret.
pub(crate) struct BenchApp {
    pub base: String,
    pub keys: api_contract::TokenKeys,
    /// The token secret, for another process of the same system.
    pub secret: secrecy::SecretString,
    stop: tokio::sync::watch::Sender<bool>,
    running: tokio::task::JoinHandle<Result<(), Error>>,
}

impl BenchApp {
    pub async fn start(config: &crate::config::Config, url: &str, clients: usize) -> Result<Self, Error> {
        Self::start_with(config, url, clients, &[]).await
    }

    /// Like [`BenchApp::start`], with `more` roles in the process too (the payments sandbox, on a port of
    /// its own).
    pub async fn start_with(
        config: &crate::config::Config,
        url: &str,
        clients: usize,
        more: &[crate::app::Role],
    ) -> Result<Self, Error> {
        let secret = secrecy::SecretString::from(format!("{}{}", Uuid::now_v7().simple(), Uuid::now_v7().simple()));
        let config = crate::config::Config {
            listen: "127.0.0.1:0".parse().map_err(|_| Error::Config("listen address".into()))?,
            jwt_secret: Some(secret.clone()),
            kafka: None,
            pool_size: clients + 8,
            // The clients sign up from one address.
            sign_ups_per_hour: u32::MAX,
            payments: crate::config::PaymentsConfig {
                sandbox_listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                ..config.payments.clone()
            },
            ..config.clone()
        };
        use crate::app::Role;
        let mut roles = vec![Role::CommandApi, Role::QueryApi, Role::Projector, Role::Sagas];
        roles.extend_from_slice(more);
        let app = crate::app::App::build(&config, &url.into(), &roles).await?;
        let base = format!("http://{}", app.local_addr()?);
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let running = tokio::spawn(app.run(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }));
        Ok(BenchApp { base, keys: api_contract::TokenKeys::new(&secret)?, secret, stop, running })
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.running.await;
    }
}

/// p50 and p99 of `samples`, in milliseconds.
pub(crate) fn percentiles_ms(samples: &mut [Duration]) -> (f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0);
    }
    samples.sort_unstable();
    let at = |percent: usize| {
        let index = (samples.len() * percent).div_ceil(100).saturating_sub(1);
        samples[index].as_secs_f64() * 1000.0
    };
    (at(50), at(99))
}
