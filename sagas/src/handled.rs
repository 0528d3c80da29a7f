//! What the sagas have handled, and what Kafka failed to deliver (ARCHITECTURE.md, invariants 30 and 32).
//! After each batch `saga_stream_versions` holds the newest version of each stream the sagas handled (or
//! parked), and `saga_partition_checkpoints` the last offset handled in each partition, where a consumer
//! handed the partition starts. A record whose version was handled already (read again after a seek, or
//! republished by the relay) is skipped. A record that skips versions of its stream means records were lost
//! on the way: the missing events are read from the store and handled first, in order, and the gap is
//! reported (`subscriptions::gaps::report`). The store's feed has neither duplicates nor gaps (invariant 2),
//! so feed batches are handled as they come.

use std::borrow::Cow;
use std::collections::HashMap;

use database::Database;
use subscriptions::gaps::{Gap, interleave, report, skips};
use subscriptions::{CheckpointError, Checkpoints, LastHandled, Origin, PartitionKey, SourcedEvent};

use crate::{SAGAS, SagaError};

/// The subscriber name of the sagas in alarms and dead letters.
pub const SUBSCRIBER: &str = "sagas";

/// The sagas' place in the store's feed (embedded mode), 0 before the first batch.
pub(crate) async fn feed_position(store: &Database) -> Result<i64, SagaError> {
    let client = store.pool().get().await?;
    let row = client.query_opt("SELECT position FROM saga_checkpoints WHERE saga = $1", &[&SAGAS]).await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?.unwrap_or(0))
}

fn streams(batch: &[SourcedEvent]) -> Vec<&str> {
    let mut streams: Vec<&str> = batch.iter().map(|sourced| sourced.event.stream_id.as_str()).collect();
    streams.sort_unstable();
    streams.dedup();
    streams
}

/// The events of `batch` to handle: those whose stream version the sagas have not handled yet, each gap's
/// missing events read from the store and put before the record that revealed it. A feed batch is all of it.
pub(crate) async fn unhandled<'b>(
    store: &Database,
    batch: &'b [SourcedEvent],
) -> Result<Cow<'b, [SourcedEvent]>, SagaError> {
    if !batch.iter().any(|sourced| matches!(sourced.origin, Origin::Kafka { .. })) {
        return Ok(Cow::Borrowed(batch));
    }
    let client = store.pool().get().await?;
    let rows = client
        .query(
            "SELECT stream_id, version FROM saga_stream_versions WHERE saga = $1 AND stream_id = ANY($2)",
            &[&SAGAS, &streams(batch)],
        )
        .await?;
    drop(client);
    let mut handled: HashMap<String, i64> = HashMap::new();
    for row in rows {
        handled.insert(row.try_get(0)?, row.try_get(1)?);
    }
    let mut fresh = Vec::with_capacity(batch.len());
    let mut lost = Vec::new();
    for sourced in batch {
        let event = &sourced.event;
        let version = handled.entry(event.stream_id.clone()).or_insert(0);
        if event.stream_version <= *version {
            continue;
        }
        if skips(*version, event.stream_version) {
            lost.push(Gap {
                before: fresh.len(),
                stream_id: event.stream_id.clone(),
                after_version: *version,
                version: event.stream_version,
                origin: sourced.origin.clone(),
            });
        }
        *version = event.stream_version;
        fresh.push(sourced.clone());
    }
    if lost.is_empty() {
        return Ok(Cow::Owned(fresh));
    }
    let mut fills = Vec::with_capacity(lost.len());
    for gap in &lost {
        let missing: Vec<SourcedEvent> = event_store::read_stream_after(store, &gap.stream_id, gap.after_version)
            .await?
            .into_iter()
            .take_while(|event| event.stream_version < gap.version)
            .map(|event| SourcedEvent { event, origin: gap.origin.clone() })
            .collect();
        report(store, SUBSCRIBER, gap, gap.after_version, missing.len()).await?;
        fills.push(missing);
    }
    Ok(Cow::Owned(interleave(fresh, &lost, fills)))
}

/// Records, in one transaction, that every event of `batch` was handled or parked: the newest version of
/// each stream, and the last offset of each Kafka partition or the feed position.
pub(crate) async fn record(store: &Database, batch: &[SourcedEvent]) -> Result<(), SagaError> {
    let mut newest: HashMap<&str, i64> = HashMap::new();
    let mut offsets: HashMap<(&str, i32), i64> = HashMap::new();
    let mut position = None;
    for sourced in batch {
        let version = newest.entry(sourced.event.stream_id.as_str()).or_insert(0);
        *version = (*version).max(sourced.event.stream_version);
        match &sourced.origin {
            Origin::Kafka { topic, partition, offset } => {
                let last = offsets.entry((topic.as_str(), *partition)).or_insert(*offset);
                *last = (*last).max(*offset);
            }
            Origin::Feed => position = Some(position.unwrap_or(0).max(sourced.event.position)),
        }
    }
    let (streams, versions): (Vec<&str>, Vec<i64>) = newest.into_iter().unzip();
    let mut topics = Vec::new();
    let mut partitions = Vec::new();
    let mut last = Vec::new();
    for ((topic, partition), offset) in offsets {
        topics.push(topic);
        partitions.push(partition);
        last.push(offset);
    }
    let mut client = store.pool().get().await?;
    let transaction = client.transaction().await?;
    transaction
        .execute(
            "INSERT INTO saga_stream_versions (saga, stream_id, version) \
             SELECT $1, s, v FROM unnest($2::text[], $3::int8[]) AS k(s, v) \
             ON CONFLICT (saga, stream_id) DO UPDATE SET version = GREATEST(saga_stream_versions.version, excluded.version)",
            &[&SAGAS, &streams, &versions],
        )
        .await?;
    if !topics.is_empty() {
        transaction
            .execute(
                "INSERT INTO saga_partition_checkpoints (saga, topic, partition, kafka_offset) \
                 SELECT $1, t, p, o FROM unnest($2::text[], $3::int4[], $4::int8[]) AS k(t, p, o) \
                 ON CONFLICT (saga, topic, partition) DO UPDATE \
                 SET kafka_offset = GREATEST(saga_partition_checkpoints.kafka_offset, excluded.kafka_offset), \
                 updated_at = now()",
                &[&SAGAS, &topics, &partitions, &last],
            )
            .await?;
    }
    if let Some(position) = position {
        transaction
            .execute(
                "INSERT INTO saga_checkpoints (saga, position) VALUES ($1, $2) ON CONFLICT (saga) DO UPDATE \
                 SET position = GREATEST(saga_checkpoints.position, EXCLUDED.position), updated_at = now()",
                &[&SAGAS, &position],
            )
            .await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// The sagas' places in the partitions, where their consumer starts a partition the group hands it.
#[derive(Debug, Clone)]
pub struct SagaCheckpoints {
    store: Database,
}

impl SagaCheckpoints {
    pub fn new(store: Database) -> Self {
        SagaCheckpoints { store }
    }

    async fn load(&self, partitions: &[PartitionKey]) -> Result<HashMap<PartitionKey, i64>, SagaError> {
        let topics: Vec<&str> = partitions.iter().map(|(topic, _)| topic.as_str()).collect();
        let numbers: Vec<i32> = partitions.iter().map(|(_, partition)| *partition).collect();
        let client = self.store.pool().get().await?;
        let rows = client
            .query(
                "SELECT c.topic, c.partition, c.kafka_offset FROM saga_partition_checkpoints c \
                 JOIN unnest($2::text[], $3::int4[]) AS k(t, p) ON c.topic = k.t AND c.partition = k.p \
                 WHERE c.saga = $1",
                &[&SAGAS, &topics, &numbers],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| Ok(((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?)))
            .collect::<Result<_, tokio_postgres::Error>>()?)
    }
}

impl Checkpoints for SagaCheckpoints {
    fn last_handled<'a>(&'a self, partitions: &'a [PartitionKey]) -> LastHandled<'a> {
        Box::pin(async move { self.load(partitions).await.map_err(|error| CheckpointError(error.to_string())) })
    }
}
