//! Every Learnlog table, as SQL files under `sql/`, and the one migrator that applies them.
//!
//! There are two sets because the event store and the read models may live in different databases:
//! `sql/store` (the source of truth) and `sql/read` (projections and their checkpoints). Each set keeps its own
//! history table, so both can also share one database, as they do in embedded mode.
//!
//! Invariant: no other crate runs DDL. Binaries and the test harness call [`migrate`].

use tokio_postgres::Client;

mod store {
    refinery::embed_migrations!("sql/store");
}

mod read {
    refinery::embed_migrations!("sql/read");
}

/// Which database a set of migrations belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// The event store: `events`, idempotency records.
    Store,
    /// Read models and projector checkpoints.
    Read,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("could not take the migration lock: {0}")]
    Lock(#[from] tokio_postgres::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] refinery::Error),
}

impl Schema {
    fn runner(self) -> refinery::Runner {
        let (mut runner, table) = match self {
            Schema::Store => (store::migrations::runner(), "store_schema_history"),
            Schema::Read => (read::migrations::runner(), "read_schema_history"),
        };
        runner.set_migration_table_name(table);
        runner
    }

    /// Arbitrary but fixed advisory-lock key, so that processes starting together migrate one at a time.
    fn lock_key(self) -> i64 {
        match self {
            Schema::Store => 0x4c4c_4d49_4753_0001,
            Schema::Read => 0x4c4c_4d49_4753_0002,
        }
    }
}

/// Applies every pending migration of `schema`. Safe to call from several processes at once. The read
/// migrations go to every schema of read models: the one served and each one kept beside it
/// (`learnlog_meta`); on a database without them yet, to `public`, which they make the served one.
pub async fn migrate(client: &mut Client, schema: Schema) -> Result<(), MigrationError> {
    client.execute("SELECT pg_advisory_lock($1)", &[&schema.lock_key()]).await?;
    let result = match schema {
        Schema::Store => run(client, schema).await,
        Schema::Read => migrate_read_schemas(client).await,
    };
    client.execute("SELECT pg_advisory_unlock($1)", &[&schema.lock_key()]).await?;
    result
}

async fn run(client: &mut Client, schema: Schema) -> Result<(), MigrationError> {
    let report = schema.runner().run_async(client).await?;
    for applied in report.applied_migrations() {
        tracing::info!(?schema, version = applied.version(), name = applied.name(), "migration applied");
    }
    Ok(())
}

async fn migrate_read_schemas(client: &mut Client) -> Result<(), MigrationError> {
    let listed = client
        .query("SELECT name FROM learnlog_meta.read_schema UNION SELECT name FROM learnlog_meta.read_schemas", &[])
        .await;
    let schemas: Vec<String> = match listed {
        Ok(rows) => rows.iter().map(|row| row.get::<_, String>(0)).filter(|name| is_schema_name(name)).collect(),
        // Before the migration that makes learnlog_meta.
        Err(error) if error.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => Vec::new(),
        Err(error) => return Err(error.into()),
    };
    if schemas.is_empty() {
        return run(client, Schema::Read).await;
    }
    for name in schemas {
        run_in(client, &name).await?;
    }
    Ok(())
}

/// Applies the read migrations inside schema `name`.
async fn run_in(client: &mut Client, name: &str) -> Result<(), MigrationError> {
    client.batch_execute(&format!("SET search_path TO \"{name}\", public")).await?;
    let result = run(client, Schema::Read).await;
    client.batch_execute("RESET search_path").await?;
    result
}

/// True when every migration of `schema` that this build knows has been applied.
pub async fn is_current(client: &mut Client, schema: Schema) -> Result<bool, MigrationError> {
    let runner = schema.runner();
    let newest_known = runner.get_migrations().iter().map(|m| m.version()).max();
    let applied = runner.get_last_applied_migration_async(client).await?;
    Ok(applied.map(|m| m.version()) >= newest_known)
}

pub use database::is_schema_name;

/// Creates schema `name` and applies every read-model migration inside it (a fresh copy of the read models,
/// for `learnlog replay`). Fails if the schema exists already.
pub async fn create_read_schema(client: &mut Client, name: &str) -> Result<(), MigrationError> {
    assert!(is_schema_name(name), "schema names are checked before this");
    let lock = Schema::Read.lock_key();
    client.execute("SELECT pg_advisory_lock($1)", &[&lock]).await?;
    let result = async {
        client.batch_execute(&format!("CREATE SCHEMA \"{name}\"")).await?;
        run_in(client, name).await
    }
    .await;
    client.execute("SELECT pg_advisory_unlock($1)", &[&lock]).await?;
    result
}

/// The GIN indexes of read-model schema `name`, kept until a fill has written its rows: each row a fill writes
/// would otherwise update them one entry at a time, where [`build_indexes`] builds each in one sort. Drops
/// them and returns what builds them again. Only GIN: the projections look rows up through the others.
pub async fn defer_gin_indexes(client: &Client, name: &str) -> Result<DeferredIndexes, MigrationError> {
    assert!(is_schema_name(name), "schema names are checked before this");
    let rows = client
        .query(
            "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am a ON a.oid = c.relam \
             WHERE n.nspname = $1 AND a.amname = 'gin' AND NOT x.indisunique ORDER BY c.relname",
            &[&name],
        )
        .await?;
    let mut definitions = Vec::with_capacity(rows.len());
    for row in rows {
        let index: String = row.get(0);
        client.batch_execute(&format!("DROP INDEX \"{name}\".\"{index}\"")).await?;
        definitions.push(row.get(1));
    }
    Ok(DeferredIndexes(definitions))
}

/// Indexes [`defer_gin_indexes`] dropped, as `CREATE INDEX` statements naming their schema.
#[derive(Debug, Default)]
#[must_use = "the indexes are built again by build_indexes"]
pub struct DeferredIndexes(Vec<String>);

/// Builds the indexes [`defer_gin_indexes`] dropped.
pub async fn build_indexes(client: &Client, deferred: DeferredIndexes) -> Result<(), MigrationError> {
    for definition in deferred.0 {
        client.batch_execute(&definition).await?;
    }
    Ok(())
}

/// Drops read-model schema `name` and everything in it, and forgets it in `learnlog_meta.read_schemas`; the
/// caller has made sure it is not the served one.
pub async fn drop_read_schema(client: &mut Client, name: &str) -> Result<(), MigrationError> {
    assert!(is_schema_name(name), "schema names are checked before this");
    let transaction = client.transaction().await?;
    transaction.batch_execute(&format!("DROP SCHEMA \"{name}\" CASCADE")).await?;
    transaction.execute("DELETE FROM learnlog_meta.read_schemas WHERE name = $1", &[&name]).await?;
    transaction.commit().await?;
    Ok(())
}
