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

use std::sync::{Arc, Mutex};
use std::time::Instant;

use deadpool_postgres::{
    ClientWrapper, Hook, HookError, Manager, ManagerConfig, Pool, PoolBuilder, RecyclingMethod, Runtime,
};
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls};

/// Whether `name` may name a read-model schema of ours: lower-case letters, digits and `_`, starting with a
/// letter, at most 63 characters, and none of PostgreSQL's own or `learnlog_meta`. Such a name needs no
/// quoting in SQL.
pub fn is_schema_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
        && !name.starts_with("pg_")
        && !["learnlog_meta", "information_schema"].contains(&name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_names_are_plain_identifiers_of_our_own() {
        for good in ["rm_20261130", "asof_20260101", "public", "a"] {
            assert!(super::is_schema_name(good), "{good}");
        }
        for bad in ["", "1abc", "Upper", "with-dash", "pg_catalog", "learnlog_meta", "a\"b", &"a".repeat(64)] {
            assert!(!super::is_schema_name(bad), "{bad}");
        }
    }
}

/// The channel a switch of the read models' schema is announced on.
pub const READ_SCHEMA_CHANNEL: &str = "learnlog_read_schema";
/// How often a read-model pool checks the served schema when no notification comes.
const READ_SCHEMA_POLL: Duration = Duration::from_secs(5);

/// The schema the read models are served from; `None` when it cannot be read (no such table yet).
async fn read_schema(pool: &Pool) -> Option<String> {
    let client = pool.get().await.ok()?;
    client.query_opt("SELECT name FROM learnlog_meta.read_schema", &[]).await.ok()?.and_then(|row| row.try_get(0).ok())
}

/// Points a new read-model connection at the served schema (then `public`); without the table (migrations
/// not applied yet) the connection stays on `public`. Any other failure fails the connection, which is then
/// not used.
async fn use_read_schema(client: &Client) -> Result<(), tokio_postgres::Error> {
    let set = "SELECT set_config('search_path', quote_ident(name) || ', public', false) FROM learnlog_meta.read_schema";
    match client.query_opt(set, &[]).await {
        Ok(_) => Ok(()),
        Err(error) if error.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => {
            tracing::debug!("the read models' schema is not known yet (no migrations); using public");
            Ok(())
        }
        Err(error) => Err(error),
    }
}

/// How long to wait before reconnecting a lost LISTEN connection.
const LISTEN_RETRY: Duration = Duration::from_secs(1);
/// How often a standby is asked again whether it takes LISTEN (it does once promoted).
const LISTEN_ON_STANDBY_RETRY: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("invalid database URL: {0}")]
    Url(#[source] tokio_postgres::Error),
    #[error("could not build the connection pool: {0}")]
    Pool(#[from] deadpool_postgres::BuildError),
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
    #[error("{0:?} is not a schema name of ours")]
    SchemaName(String),
}

/// One database: a connection pool plus the settings to open dedicated connections.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    /// Shared: a request's state holds a `Database`, and a state is cloned for every request.
    config: Arc<Config>,
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
        Self::with_config(config, max_connections, |builder| builder)
    }

    fn with_config(
        config: Config,
        max_connections: usize,
        hooks: impl FnOnce(PoolBuilder) -> PoolBuilder,
    ) -> Result<Self, DatabaseError> {
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let builder = Pool::builder(manager)
            .max_size(max_connections)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(5)))
            .wait_timeout(Some(Duration::from_secs(10)));
        let pool = hooks(builder).build()?;
        Ok(Database { pool, config: Arc::new(config) })
    }

    /// A pool of the same database whose every connection works in `schema` (then `public`, for what only
    /// it holds): a read-model schema being built, or a snapshot being served. `schema` must be a checked
    /// name (`migrations::is_schema_name`).
    pub fn in_schema(&self, schema: &str, max_connections: usize) -> Result<Self, DatabaseError> {
        if !is_schema_name(schema) {
            return Err(DatabaseError::SchemaName(schema.to_owned()));
        }
        let mut config = Config::clone(&self.config);
        // After any options the URL gives, which this must not drop.
        let given = config.get_options().map(|options| format!("{options} ")).unwrap_or_default();
        config.options(format!("{given}-c search_path={schema},public"));
        Self::with_config(config, max_connections, |builder| builder)
    }

    /// A pool of the read models that follows the schema they are served from (`learnlog_meta.read_schema`,
    /// which `learnlog replay` switches): each new connection sets its `search_path` to it, and a connection
    /// made before a switch is closed when next taken from the pool, so that every read after a switch sees
    /// the new schema and none fails. The switch is learnt by a notification on [`READ_SCHEMA_CHANNEL`] and by
    /// polling, once a tokio runtime runs.
    pub fn connect_read_models(url: &str, max_connections: usize) -> Result<Self, DatabaseError> {
        let plain = Self::connect(url, max_connections)?;
        let switched = Arc::new(Mutex::new(Instant::now()));
        let stale = Arc::clone(&switched);
        // Dropped with the pool's hooks, that is with the last clone of the pool: the follower stops then.
        let (alive, mut pool_dropped) = watch::channel(());
        let database = Self::with_config(Config::clone(&plain.config), max_connections, |builder| {
            builder
                .post_create(Hook::async_fn(|client: &mut ClientWrapper, _| {
                    Box::pin(async move { use_read_schema(client).await.map_err(HookError::Backend) })
                }))
                .pre_recycle(Hook::sync_fn(move |_, metrics| {
                    let _alive = &alive;
                    let switched = *stale.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    match metrics.created < switched {
                        true => Err(HookError::message("made before the read models moved to another schema")),
                        false => Ok(()),
                    }
                }))
        })?;
        if tokio::runtime::Handle::try_current().is_ok() {
            let follower = database.pool.weak();
            let mut wake = database.listen(READ_SCHEMA_CHANNEL);
            tokio::spawn(async move {
                let served_now = || async {
                    let pool = follower.upgrade()?;
                    read_schema(&pool).await
                };
                let mut served = served_now().await;
                loop {
                    tokio::select! {
                        _ = pool_dropped.changed() => return,
                        woken = tokio::time::timeout(READ_SCHEMA_POLL, wake.changed()) => {
                            if matches!(woken, Ok(Err(_))) {
                                return;
                            }
                        }
                    }
                    let now = served_now().await;
                    if now.is_some() && now != served {
                        tracing::info!(schema = now.as_deref(), "the read models are served from another schema now");
                        *switched.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
                        served = now;
                    }
                }
            });
        }
        Ok(database)
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
        let config = Arc::clone(&self.config);
        let statement = format!("LISTEN \"{}\"", channel.replace('"', ""));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = wake.closed() => return,
                    result = listen_until_lost(&config, &statement, &wake) => {
                        let standby = result.as_ref().err().and_then(|error| error.code())
                            == Some(&tokio_postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION);
                        match result {
                            // A standby (a read replica) takes no LISTEN: its readers poll, and it is asked
                            // again now and then, in case it was promoted.
                            Err(_) if standby => {
                                tracing::debug!("a standby cannot LISTEN; readers poll it");
                                tokio::select! {
                                    _ = wake.closed() => return,
                                    _ = tokio::time::sleep(LISTEN_ON_STANDBY_RETRY) => continue,
                                }
                            }
                            Err(error) => tracing::warn!(%error, "LISTEN connection lost; readers fall back to polling"),
                            Ok(()) => {}
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
