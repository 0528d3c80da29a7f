//! Rebuilding the read models beside the served ones (blue/green), and snapshots of them as of a time or a
//! position. `learnlog replay` creates a fresh schema (its migrations are the binary's business), then:
//!
//! 1. [`fill`] applies the store's events, from the first, to that schema with the projections as they are
//!    today, in large transactions; side effects (emails, sagas, webhooks) are not the projector's, so a
//!    rebuild has none;
//! 2. for a rebuild, [`switch`] takes the served-schema row exclusively (so no projector batch runs), applies
//!    the events that came meanwhile, carries the Kafka projectors' partition marks over, points the row at the
//!    new schema and announces it, in one transaction: every read model pool moves to it, a read in flight
//!    finishes on the old schema, and no read fails. The old schema stays until dropped.

use std::time::Instant;

use database::Database;
use event_store::keys::KeyRing;
use time::OffsetDateTime;

use crate::{Origin, Projector, ProjectorError, READ_MODELS, Selection, SourcedEvent};

/// Events applied per transaction while filling.
const FILL_BATCH: i64 = 5_000;

/// How far a fill goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Every event there is when the fill gets there.
    Head,
    /// The events up to this global position.
    Position(i64),
    /// The events before the first one recorded after this time: the feed as it stood then, a prefix of it
    /// (as `learnlog export --until` cuts it).
    Time(OffsetDateTime),
}

/// What a fill did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Filled {
    /// The last position read.
    pub position: i64,
    /// Events applied.
    pub events: u64,
    pub seconds: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Projector(#[from] ProjectorError),
    #[error("reading the store failed: {0}")]
    Store(#[from] event_store::ReadError),
    #[error(transparent)]
    Database(#[from] database::DatabaseError),
    #[error("read-model database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("read-model database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("{0} is served already")]
    AlreadyServed(String),
    #[error("{0}")]
    Refused(String),
}

/// Applies the store's events after the schema's checkpoint (none for a fresh one) up to `until` to the read
/// models in `schema` of `read`'s database, reporting each batch to `progress` (position, head).
pub async fn fill(
    store: &Database,
    read: &Database,
    keyring: &KeyRing,
    schema: &str,
    until: Until,
    selection: Selection,
    progress: &mut dyn FnMut(i64, i64),
) -> Result<Filled, ReplayError> {
    let started = Instant::now();
    let target = read.in_schema(schema, 2)?;
    let builder = Projector::building(target, schema, READ_MODELS, keyring.clone()).only(selection);
    let mut position = builder.checkpoint().await?;
    let newest = event_store::history::head(store).await?;
    // As of a time, the feed up to the first event recorded after it, as an export cuts it: a prefix of the
    // feed, whose last position the snapshot records.
    let head = match until {
        Until::Head => newest,
        Until::Position(last) => last.min(newest),
        Until::Time(at) => {
            event_store::history::first_recorded_after(store, position, at).await?.map_or(newest, |first| first - 1)
        }
    };
    let mut events = 0;
    while position < head {
        let page = event_store::read_feed(store, position, FILL_BATCH.min(head - position)).await?;
        let Some(last) = page.last().map(|event| event.position) else { break };
        let batch: Vec<SourcedEvent> =
            page.into_iter().map(|event| SourcedEvent { event, origin: Origin::Feed }).collect();
        events += builder.apply(&batch).await? as u64;
        position = last;
        progress(position, head);
    }
    Ok(Filled { position, events, seconds: started.elapsed().as_secs_f64() })
}

/// A schema `learnlog replay` built, as `learnlog_meta.read_schemas` keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub name: String,
    /// `rebuild` or `snapshot`.
    pub kind: String,
    pub as_of: Option<OffsetDateTime>,
    pub position: i64,
    pub events: i64,
    pub built_at: OffsetDateTime,
}

/// Records a schema `learnlog replay` built.
pub async fn record(read: &Database, built: &Built) -> Result<(), ReplayError> {
    let client = read.pool().get().await?;
    client
        .execute(
            "INSERT INTO learnlog_meta.read_schemas (name, kind, as_of, position, events, built_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, \
             as_of = EXCLUDED.as_of, position = EXCLUDED.position, events = EXCLUDED.events, built_at = EXCLUDED.built_at",
            &[&built.name, &built.kind, &built.as_of, &built.position, &built.events, &built.built_at],
        )
        .await?;
    Ok(())
}

/// The schema served now, and every schema `learnlog replay` built, newest first.
pub async fn schemas(read: &Database) -> Result<(String, Vec<Built>), ReplayError> {
    let client = read.pool().get().await?;
    let served: String = client.query_one("SELECT name FROM learnlog_meta.read_schema", &[]).await?.try_get(0)?;
    let rows = client
        .query(
            "SELECT name, kind, as_of, position, events, built_at FROM learnlog_meta.read_schemas ORDER BY built_at DESC",
            &[],
        )
        .await?;
    let built = rows
        .iter()
        .map(|row| {
            Ok(Built {
                name: row.try_get(0)?,
                kind: row.try_get(1)?,
                as_of: row.try_get(2)?,
                position: row.try_get(3)?,
                events: row.try_get(4)?,
                built_at: row.try_get(5)?,
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()?;
    Ok((served, built))
}

/// A rebuild of named projections takes the other projections' tables from the served schema, which is right
/// only when both schemas saw the same events: no stream parked in either, and the served one fed from the feed
/// (a prefix of it), not from Kafka's partitions.
async fn refuse_partial(transaction: &deadpool_postgres::Transaction<'_>, previous: &str) -> Result<(), ReplayError> {
    let count = |sql: String| async move { transaction.query_one(&sql, &[]).await.map(|row| row.get::<_, i64>(0)) };
    let open = "FROM {schema}.projector_dead_letters WHERE state IN ('parked', 'waiting')";
    let parked = count(format!("SELECT count(*) {}", open.replace("{schema}", &format!("\"{previous}\"")))).await?
        + count(format!("SELECT count(*) {}", open.replace("{schema}.", ""))).await?;
    if parked > 0 {
        return Err(ReplayError::Refused(format!(
            "{parked} dead letters are open: a rebuild of named projections would differ from the others; \
             resolve them, or rebuild every projection"
        )));
    }
    let on_kafka = count(format!("SELECT count(*) FROM \"{previous}\".projector_partition_checkpoints")).await?;
    if on_kafka > 0 {
        return Err(ReplayError::Refused(
            "the projector reads Kafka: a rebuild of named projections needs it on the feed; rebuild every projection"
                .into(),
        ));
    }
    Ok(())
}

/// Copies the tables of the `others` projections from `previous` (frozen by the switch's lock at its
/// checkpoint) into the new schema, then applies to them the events after that checkpoint up to `through`,
/// where the new schema stands.
async fn take_the_others(
    store: &Database,
    keyring: &KeyRing,
    transaction: &deadpool_postgres::Transaction<'_>,
    previous: &str,
    others: Selection,
    through: i64,
) -> Result<(), ReplayError> {
    for table in others.tables() {
        transaction.batch_execute(&format!("INSERT INTO {table} SELECT * FROM \"{previous}\".{table}")).await?;
    }
    apply_after_previous(store, keyring, transaction, previous, others, through).await
}

/// Applies to the `selected` projections the events after `previous`'s checkpoint (frozen by the switch's
/// lock) up to `through`: the events the projector of the served schema never saw.
async fn apply_after_previous(
    store: &Database,
    keyring: &KeyRing,
    transaction: &deadpool_postgres::Transaction<'_>,
    previous: &str,
    selected: Selection,
    through: i64,
) -> Result<(), ReplayError> {
    let mut after: i64 = transaction
        .query_opt(
            &format!("SELECT position FROM \"{previous}\".projector_checkpoints WHERE projector = $1"),
            &[&READ_MODELS],
        )
        .await?
        .map(|row| row.try_get(0))
        .transpose()?
        .unwrap_or(0);
    let mut keys = event_store::keys::KeyCache::default();
    let mut writes = crate::Writes::new(transaction);
    while after < through {
        let page = event_store::read_feed(store, after, FILL_BATCH.min(through - after)).await?;
        let Some(last) = page.last().map(|event| event.position) else { break };
        for recorded in &page {
            crate::apply_one(&mut writes, keyring, &mut keys, recorded, selected).await?;
        }
        writes.flush().await?;
        after = last;
    }
    Ok(())
}

/// What a switch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switched {
    /// The schema served before.
    pub previous: String,
    /// Events applied under the lock, after the fill.
    pub caught_up: u64,
    /// The position the new schema stood at when it started being served.
    pub position: i64,
}

/// Serves the read models from `schema` (filled beforehand), once it has every event the served schema has:
/// see the module's description.
pub async fn switch(
    store: &Database,
    read: &Database,
    keyring: &KeyRing,
    schema: &str,
    selection: Selection,
) -> Result<Switched, ReplayError> {
    let target = read.in_schema(schema, 1)?;
    let builder = Projector::building(target.clone(), schema, READ_MODELS, keyring.clone()).only(selection);
    let mut client = target.pool().get().await?;
    let mut transaction = client.transaction().await?;
    let previous: String =
        transaction.query_one("SELECT name FROM learnlog_meta.read_schema FOR UPDATE", &[]).await?.try_get(0)?;
    if previous == schema {
        return Err(ReplayError::AlreadyServed(schema.to_owned()));
    }
    // Both are interpolated below; the table's CHECK holds this too.
    if let Some(bad) = [previous.as_str(), schema].into_iter().find(|name| !database::is_schema_name(name)) {
        return Err(ReplayError::Database(database::DatabaseError::SchemaName(bad.to_owned())));
    }
    if selection != Selection::ALL {
        refuse_partial(&transaction, &previous).await?;
    }
    let mut position: i64 = transaction
        .query_opt("SELECT position FROM projector_checkpoints WHERE projector = $1", &[&READ_MODELS])
        .await?
        .map(|row| row.try_get(0))
        .transpose()?
        .unwrap_or(0);
    let mut caught_up = 0;
    loop {
        let page = event_store::read_feed(store, position, FILL_BATCH).await?;
        let Some(last) = page.last().map(|event| event.position) else { break };
        let batch: Vec<SourcedEvent> =
            page.into_iter().map(|event| SourcedEvent { event, origin: Origin::Feed }).collect();
        caught_up += builder.apply_inside(&mut transaction, &batch).await? as u64;
        position = last;
    }
    if selection != Selection::ALL {
        take_the_others(store, keyring, &transaction, &previous, selection.others(), position).await?;
    } else {
        // The events the served schema's projector never saw are pushed to users' streams now, as it would have.
        apply_after_previous(store, keyring, &transaction, &previous, Selection::LIVE, position).await?;
    }
    // Projectors on Kafka go on from their partitions' marks; the new schema has every event they cover.
    transaction
        .execute(
            &format!(
                "INSERT INTO projector_partition_checkpoints (projector, topic, partition, kafka_offset, position) \
                 SELECT projector, topic, partition, kafka_offset, position FROM \"{previous}\".projector_partition_checkpoints \
                 ON CONFLICT (projector, topic, partition) DO UPDATE SET kafka_offset = GREATEST( \
                 projector_partition_checkpoints.kafka_offset, EXCLUDED.kafka_offset)"
            ),
            &[],
        )
        .await?;
    // The schema served until now is kept (until dropped), and erasures reach it like any kept schema.
    transaction
        .execute(
            &format!(
                "INSERT INTO learnlog_meta.read_schemas (name, kind, position, events) VALUES ($1, 'rebuild', \
                 COALESCE((SELECT position FROM \"{previous}\".projector_checkpoints WHERE projector = $2), 0), 0) \
                 ON CONFLICT (name) DO NOTHING"
            ),
            &[&previous, &READ_MODELS],
        )
        .await?;
    transaction.execute("UPDATE learnlog_meta.read_schema SET name = $1, switched_at = now()", &[&schema]).await?;
    transaction.execute("SELECT pg_notify($1, $2)", &[&database::READ_SCHEMA_CHANNEL, &schema]).await?;
    // The batches above turned it off for the fill; a switch that is reported is on disk.
    transaction.batch_execute("SET LOCAL synchronous_commit = on").await?;
    transaction.commit().await?;
    Ok(Switched { previous, caught_up, position })
}
