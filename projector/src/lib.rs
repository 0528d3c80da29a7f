//! The projector: reads events from a source (the store's feed, or Kafka), applies them to the read models,
//! and stores its checkpoints in the same PostgreSQL transaction as the changes, so each event takes effect
//! exactly once, across restarts, redeliveries, relay republishing and rebalances. It never writes the event
//! store.

mod checkpoint;
pub mod kafka;
mod projections;
pub mod source;

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use deadpool_postgres::Transaction;
use event_store::Database;
use events::{DecodeError, RecordedEvent};

pub use checkpoint::load as load_checkpoint;
use checkpoint::{PartitionKey, PartitionMark};
pub use kafka::{KafkaSource, KafkaSourceSettings};
pub use source::{EventSource, FeedSource, Origin, SourceError, SourcedEvent};

/// The channel on which a committed projector batch is announced (payload: the checkpoint position).
pub const PROJECTIONS_CHANNEL: &str = "learnlog_projections";
/// The checkpoint name of the projector that feeds every read model in this version.
pub const READ_MODELS: &str = "read_models";

/// Events applied per transaction at most.
const BATCH_SIZE: usize = 500;
const RETRY_AFTER: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    #[error("no read-model database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// Feeds the read models in `read` from an event source.
#[derive(Debug)]
pub struct Projector {
    read: Database,
    name: String,
}

impl Projector {
    pub fn new(read: Database, name: impl Into<String>) -> Self {
        Projector { read, name: name.into() }
    }

    /// Where this projector stands: the source resumes after it.
    pub async fn checkpoint(&self) -> Result<i64, ProjectorError> {
        checkpoint::load(&self.read, &self.name).await
    }

    /// Runs until `shutdown` completes. A batch being applied is finished first; a failing one is retried.
    pub async fn run(self, mut source: impl EventSource, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let batch = tokio::select! {
                () = &mut shutdown => return,
                batch = source.next_batch(BATCH_SIZE) => batch,
            };
            let batch = match batch {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::warn!(%error, "reading events failed; retrying");
                    tokio::time::sleep(RETRY_AFTER).await;
                    continue;
                }
            };
            while let Err(error) = self.apply(&batch).await {
                tracing::warn!(%error, "applying a batch failed; retrying");
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep(RETRY_AFTER) => {}
                }
            }
            source.acknowledge(&batch).await;
        }
    }

    /// Applies the events of `batch` that its checkpoints do not cover yet, and moves the checkpoints, in one
    /// transaction. Returns how many events were applied.
    pub async fn apply(&self, batch: &[SourcedEvent]) -> Result<usize, ProjectorError> {
        if batch.is_empty() {
            return Ok(0);
        }
        let mut client = self.read.pool().get().await?;
        let transaction = client.transaction().await?;
        let fresh = self.claim(&transaction, batch).await?;
        let mut versions: HashMap<&str, i64> = HashMap::new();
        for recorded in &fresh {
            apply_one(&transaction, recorded).await?;
            let version = versions.entry(recorded.stream_id.as_str()).or_insert(0);
            *version = (*version).max(recorded.stream_version);
        }
        checkpoint::record_stream_versions(&transaction, &versions).await?;
        let position = fresh.last().map_or(0, |e| e.position).to_string();
        transaction.execute("SELECT pg_notify($1, $2)", &[&PROJECTIONS_CHANNEL, &position]).await?;
        transaction.commit().await?;
        Ok(fresh.len())
    }

    /// Locks the checkpoints `batch` touches, moves them past it, and returns the events they did not cover:
    /// feed events after the stored position; Kafka records after their partition's stored offset whose
    /// stream version is also new to the read models (a relay restart republishes under new offsets). The
    /// second test is per stream on purpose: it holds whatever order the broker keeps between streams.
    async fn claim<'b>(
        &self,
        transaction: &Transaction<'_>,
        batch: &'b [SourcedEvent],
    ) -> Result<Vec<&'b RecordedEvent>, ProjectorError> {
        let mut fresh = Vec::new();
        let mut feed_position = None;
        let mut partitions: Vec<PartitionKey> = batch
            .iter()
            .filter_map(|sourced| match &sourced.origin {
                Origin::Kafka { topic, partition, .. } => Some((topic.clone(), *partition)),
                Origin::Feed => None,
            })
            .collect();
        partitions.sort();
        partitions.dedup();
        let (mut marks, mut projected): (HashMap<PartitionKey, PartitionMark>, HashMap<String, i64>) =
            if partitions.is_empty() {
                (HashMap::new(), HashMap::new())
            } else {
                let marks = checkpoint::lock_partitions(transaction, &self.name, &partitions).await?;
                let mut streams: Vec<&str> = batch.iter().map(|sourced| sourced.event.stream_id.as_str()).collect();
                streams.sort_unstable();
                streams.dedup();
                (marks, checkpoint::stream_versions(transaction, &streams).await?)
            };
        for sourced in batch {
            let event = &sourced.event;
            match &sourced.origin {
                Origin::Feed => {
                    let stored = match feed_position {
                        Some(position) => position,
                        None => checkpoint::lock_feed(transaction, &self.name).await?,
                    };
                    if event.position > stored {
                        fresh.push(event);
                    }
                    feed_position = Some(stored.max(event.position));
                }
                Origin::Kafka { topic, partition, offset } => {
                    let mark =
                        marks.entry((topic.clone(), *partition)).or_insert(PartitionMark { offset: -1, position: 0 });
                    if *offset > mark.offset {
                        mark.offset = *offset;
                        let version = projected.entry(event.stream_id.clone()).or_insert(0);
                        if event.stream_version > *version {
                            *version = event.stream_version;
                            mark.position = mark.position.max(event.position);
                            fresh.push(event);
                        }
                    }
                }
            }
        }
        if let Some(position) = feed_position {
            checkpoint::store_feed(transaction, &self.name, position).await?;
        }
        if !marks.is_empty() {
            checkpoint::store_partitions(transaction, &self.name, &marks).await?;
        }
        Ok(fresh)
    }
}

async fn apply_one(transaction: &Transaction<'_>, recorded: &RecordedEvent) -> Result<(), ProjectorError> {
    match recorded.decode() {
        Ok(event) => projections::apply(transaction, recorded, &event).await?,
        Err(DecodeError::UnknownType(event_type)) => {
            // Written by a newer version of Learnlog: no read model of this version needs it.
            tracing::debug!(%event_type, position = recorded.position, "skipping an event type this version does not know");
        }
        Err(error) => {
            tracing::error!(%error, position = recorded.position, stream = %recorded.stream_id, "skipping an event that does not decode");
        }
    }
    Ok(())
}
