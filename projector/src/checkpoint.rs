//! Projector checkpoints, stored beside the read models they describe and locked for the length of a batch's
//! transaction: two projectors that briefly hold the same feed or partition apply each event once.

use std::collections::HashMap;

use database::Database;
use deadpool_postgres::Transaction;

use crate::ProjectorError;

/// A partition's checkpoint: the last offset read and the highest global position applied from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartitionMark {
    pub offset: i64,
    pub position: i64,
}

pub(crate) use subscriptions::PartitionKey;

/// The last feed position applied by `projector`, 0 before the first batch.
pub async fn load(read: &Database, projector: &str) -> Result<i64, ProjectorError> {
    let client = read.pool().get().await?;
    let row =
        client.query_opt("SELECT position FROM projector_checkpoints WHERE projector = $1", &[&projector]).await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?.unwrap_or(0))
}

pub(crate) async fn lock_feed(transaction: &Transaction<'_>, projector: &str) -> Result<i64, ProjectorError> {
    transaction
        .execute(
            "INSERT INTO projector_checkpoints (projector, position) VALUES ($1, 0) ON CONFLICT (projector) DO NOTHING",
            &[&projector],
        )
        .await?;
    let row = transaction
        .query_one("SELECT position FROM projector_checkpoints WHERE projector = $1 FOR UPDATE", &[&projector])
        .await?;
    Ok(row.try_get(0)?)
}

pub(crate) async fn store_feed(
    transaction: &Transaction<'_>,
    projector: &str,
    position: i64,
) -> Result<(), ProjectorError> {
    transaction
        .execute(
            "UPDATE projector_checkpoints SET position = $2, updated_at = now() WHERE projector = $1",
            &[&projector, &position],
        )
        .await?;
    Ok(())
}

/// Locks (creating as needed) the checkpoints of `partitions`, always in the same order.
pub(crate) async fn lock_partitions(
    transaction: &Transaction<'_>,
    projector: &str,
    partitions: &[PartitionKey],
) -> Result<HashMap<PartitionKey, PartitionMark>, ProjectorError> {
    let topics: Vec<&str> = partitions.iter().map(|(topic, _)| topic.as_str()).collect();
    let numbers: Vec<i32> = partitions.iter().map(|(_, partition)| *partition).collect();
    transaction
        .execute(
            "INSERT INTO projector_partition_checkpoints (projector, topic, partition, kafka_offset, position) \
             SELECT $1, t, p, -1, 0 FROM unnest($2::text[], $3::int4[]) AS k(t, p) \
             ON CONFLICT (projector, topic, partition) DO NOTHING",
            &[&projector, &topics, &numbers],
        )
        .await?;
    let rows = transaction
        .query(
            "SELECT c.topic, c.partition, c.kafka_offset, c.position FROM projector_partition_checkpoints c \
             JOIN unnest($2::text[], $3::int4[]) AS k(t, p) ON c.topic = k.t AND c.partition = k.p \
             WHERE c.projector = $1 ORDER BY c.topic, c.partition FOR UPDATE OF c",
            &[&projector, &topics, &numbers],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let key = (row.try_get(0)?, row.try_get(1)?);
            Ok((key, PartitionMark { offset: row.try_get(2)?, position: row.try_get(3)? }))
        })
        .collect()
}

pub(crate) async fn store_partitions(
    transaction: &Transaction<'_>,
    projector: &str,
    marks: &HashMap<PartitionKey, PartitionMark>,
) -> Result<(), ProjectorError> {
    let mut topics = Vec::new();
    let mut numbers = Vec::new();
    let mut offsets = Vec::new();
    let mut positions = Vec::new();
    for ((topic, partition), mark) in marks {
        topics.push(topic.as_str());
        numbers.push(*partition);
        offsets.push(mark.offset);
        positions.push(mark.position);
    }
    transaction
        .execute(
            "UPDATE projector_partition_checkpoints c SET kafka_offset = k.o, position = k.pos, updated_at = now() \
             FROM unnest($2::text[], $3::int4[], $4::bigint[], $5::bigint[]) AS k(t, p, o, pos) \
             WHERE c.projector = $1 AND c.topic = k.t AND c.partition = k.p",
            &[&projector, &topics, &numbers, &offsets, &positions],
        )
        .await?;
    Ok(())
}

/// The newest version of each of `streams` the read models include (absent: none yet).
pub(crate) async fn stream_versions(
    transaction: &Transaction<'_>,
    streams: &[&str],
) -> Result<HashMap<String, i64>, ProjectorError> {
    let rows = transaction
        .query("SELECT stream_id, version FROM projected_stream_versions WHERE stream_id = ANY($1)", &[&streams])
        .await?;
    rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect()
}

/// Records the newest version of each stream the read models now include.
pub(crate) async fn record_stream_versions(
    transaction: &Transaction<'_>,
    versions: &HashMap<&str, i64>,
) -> Result<(), ProjectorError> {
    if versions.is_empty() {
        return Ok(());
    }
    let (streams, numbers): (Vec<&str>, Vec<i64>) =
        versions.iter().map(|(stream, version)| (*stream, *version)).unzip();
    transaction
        .execute(
            "INSERT INTO projected_stream_versions (stream_id, version) SELECT * FROM unnest($1::text[], $2::bigint[]) \
             ON CONFLICT (stream_id) DO UPDATE SET version = GREATEST(projected_stream_versions.version, EXCLUDED.version)",
            &[&streams, &numbers],
        )
        .await?;
    Ok(())
}

/// The partition marks of a Kafka-fed projector, in the schema the read models are served from: where its
/// consumer starts a partition the group hands it (`subscriptions::checkpoints`).
#[derive(Debug, Clone)]
pub struct PartitionMarks {
    read: Database,
    projector: String,
}

impl PartitionMarks {
    pub fn new(read: Database, projector: impl Into<String>) -> Self {
        PartitionMarks { read, projector: projector.into() }
    }

    async fn load(&self, partitions: &[PartitionKey]) -> Result<HashMap<PartitionKey, i64>, ProjectorError> {
        let mut client = self.read.pool().get().await?;
        let transaction = client.transaction().await?;
        crate::use_served_schema(&transaction).await?;
        let topics: Vec<&str> = partitions.iter().map(|(topic, _)| topic.as_str()).collect();
        let numbers: Vec<i32> = partitions.iter().map(|(_, partition)| *partition).collect();
        let rows = transaction
            .query(
                "SELECT c.topic, c.partition, c.kafka_offset FROM projector_partition_checkpoints c \
                 JOIN unnest($2::text[], $3::int4[]) AS k(t, p) ON c.topic = k.t AND c.partition = k.p \
                 WHERE c.projector = $1 AND c.kafka_offset >= 0",
                &[&self.projector, &topics, &numbers],
            )
            .await?;
        let marks = rows
            .iter()
            .map(|row| Ok(((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?)))
            .collect::<Result<_, tokio_postgres::Error>>()?;
        transaction.commit().await?;
        Ok(marks)
    }
}

impl subscriptions::Checkpoints for PartitionMarks {
    fn last_handled<'a>(&'a self, partitions: &'a [PartitionKey]) -> subscriptions::LastHandled<'a> {
        Box::pin(
            async move { self.load(partitions).await.map_err(|error| subscriptions::CheckpointError(error.summary())) },
        )
    }
}
