//! Connections to one PostgreSQL database: a pool for queries, single connections for migrations, and
//! LISTEN wake-ups for tailing readers; and [`SecretUrl`], the type every connection URL is kept in.

mod secret_url;

pub use secret_url::SecretUrl;

/// A PostgreSQL error as it may be logged: its SQLSTATE and message, without the DETAIL that quotes the row
/// it refused (and so, perhaps, personal data).
pub fn error_summary(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("SQLSTATE {}: {}", db.code().code(), db.message()),
        None => error.to_string(),
    }
}

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls};

/// How long to wait before reconnecting a lost LISTEN connection.
const LISTEN_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("invalid database URL: {0}")]
    Url(#[source] tokio_postgres::Error),
    #[error("could not build the connection pool: {0}")]
    Pool(#[from] deadpool_postgres::BuildError),
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
}

/// One database: a connection pool plus the settings to open dedicated connections.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    config: Config,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The config may hold a password: show only where it points.
        f.debug_struct("Database")
            .field("hosts", &self.config.get_hosts())
            .field("dbname", &self.config.get_dbname())
            .finish()
    }
}

impl Database {
    /// Prepares a pool of at most `max_connections`; nothing connects until first use.
    pub fn connect(url: &str, max_connections: usize) -> Result<Self, DatabaseError> {
        let mut config: Config = url.parse().map_err(DatabaseError::Url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_application_name().is_none() {
            config.application_name("learnlog");
        }
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(max_connections)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(5)))
            .wait_timeout(Some(Duration::from_secs(10)))
            .build()?;
        Ok(Database { pool, config })
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// A connection of its own, outside the pool (migrations, the append writer). The connection task is
    /// spawned and ends when the client is dropped.
    pub async fn connect_single(&self) -> Result<Client, tokio_postgres::Error> {
        let (client, connection) = self.config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "dedicated connection closed");
            }
        });
        Ok(client)
    }

    /// True when the database answers a trivial query.
    pub async fn is_reachable(&self) -> bool {
        match self.pool.get().await {
            Ok(client) => client.simple_query("SELECT 1").await.is_ok(),
            Err(_) => false,
        }
    }

    /// Wakes the receiver whenever a notification arrives on `channel`, and also after every (re)connect,
    /// since notifications sent while disconnected are lost. The background task ends when every receiver is
    /// dropped.
    pub fn listen(&self, channel: &str) -> watch::Receiver<u64> {
        let (wake, receiver) = watch::channel(0_u64);
        let config = self.config.clone();
        let statement = format!("LISTEN \"{}\"", channel.replace('"', ""));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = wake.closed() => return,
                    result = listen_until_lost(&config, &statement, &wake) => {
                        if let Err(error) = result {
                            tracing::warn!(%error, "LISTEN connection lost; readers fall back to polling");
                        }
                    }
                }
                tokio::select! {
                    _ = wake.closed() => return,
                    _ = tokio::time::sleep(LISTEN_RETRY) => {}
                }
            }
        });
        receiver
    }
}

async fn listen_until_lost(
    config: &Config,
    statement: &str,
    wake: &watch::Sender<u64>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let listen = client.batch_execute(statement);
    tokio::pin!(listen);
    // The connection only makes progress while its messages are polled, so drive both until LISTEN is done.
    loop {
        tokio::select! {
            result = &mut listen => { result?; break; }
            message = messages.next() => match message {
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error),
                None => return Ok(()),
            },
        }
    }
    wake.send_modify(|count| *count += 1);
    while let Some(message) = messages.next().await {
        if let AsyncMessage::Notification(_) = message? {
            wake.send_modify(|count| *count += 1);
        }
    }
    Ok(())
}
