//! Embedded mode: a PostgreSQL cluster of our own in the data folder, with a `learnlog` database.

use std::path::Path;

use dev_cluster::{ClusterOptions, LocalCluster};
use tokio_postgres::NoTls;

use crate::error::Error;

pub const DATABASE: &str = "learnlog";

/// Starts (creating if needed) the cluster in `<data_dir>/postgres` and makes sure the database exists.
pub async fn start(data_dir: &Path) -> Result<LocalCluster, Error> {
    std::fs::create_dir_all(data_dir)?;
    let data_dir = std::path::absolute(data_dir)?;
    let cluster = LocalCluster::start(&data_dir.join("postgres"), &ClusterOptions::default()).await?;
    cluster.stop_when_this_process_exits(false)?;
    create_database(&cluster.url("postgres"), DATABASE).await?;
    Ok(cluster)
}

/// The store's URL for `learnlog up`: `DATABASE_URL`, or the data folder's cluster, created the first time,
/// started (or joined, when another process runs it) for the caller, who stops it when done.
pub async fn up_store_url(config: &crate::Config) -> Result<(Option<LocalCluster>, database::SecretUrl), Error> {
    match &config.database_url {
        Some(url) => Ok((None, url.clone())),
        None => {
            let cluster = start(&config.data_dir).await?;
            let url = database::SecretUrl::new(cluster.url(DATABASE));
            Ok((Some(cluster), url))
        }
    }
}

/// The store's URL for every other command: `DATABASE_URL`, or the cluster of a data folder `learnlog up`
/// made; never a new one (a command run from the wrong folder says so instead of starting an empty store).
pub async fn store_url(config: &crate::Config) -> Result<(Option<LocalCluster>, database::SecretUrl), Error> {
    if config.database_url.is_none() {
        existing_data_folder(&config.data_dir)?;
    }
    up_store_url(config).await
}

/// Refuses a data folder `learnlog up` did not make (no cluster in it).
pub fn existing_data_folder(data_dir: &Path) -> Result<(), Error> {
    if data_dir.join("postgres").join("PG_VERSION").is_file() {
        return Ok(());
    }
    let shown = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_owned());
    Err(Error::NoDataFolder(shown.display().to_string()))
}

/// Creates `name` unless it exists.
pub async fn create_database(admin_url: &str, name: &str) -> Result<(), Error> {
    let (client, connection) = tokio_postgres::connect(admin_url, NoTls).await?;
    let driver = tokio::spawn(connection);
    let exists = client.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).await?.is_some();
    if !exists {
        client.batch_execute(&format!("CREATE DATABASE \"{}\"", name.replace('"', ""))).await?;
    }
    drop(client);
    let _ = driver.await;
    Ok(())
}
