//! Where events come from. Embedded mode tails the store's global feed directly; the Kafka source reads the
//! context topics in a consumer group. Both hand out events in an order that respects each stream's versions,
//! each tagged with where it came from so that its checkpoint can be kept.

use std::future::Future;

use database::Database;
use event_store::{FeedSubscription, ReadError};
use events::RecordedEvent;

/// Where one event was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The store's global feed (checkpoint: the position).
    Feed,
    /// A Kafka record (checkpoint: the offset in its partition).
    Kafka { topic: String, partition: i32, offset: i64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourcedEvent {
    pub event: RecordedEvent,
    pub origin: Origin,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Feed(#[from] ReadError),
    #[error(transparent)]
    Kafka(#[from] rdkafka::error::KafkaError),
}

/// A source of events for the projector.
pub trait EventSource: Send {
    /// The next events, at most `limit`, waiting until there is at least one.
    fn next_batch(&mut self, limit: usize) -> impl Future<Output = Result<Vec<SourcedEvent>, SourceError>> + Send;

    /// Called once `batch` and its checkpoints are committed to the read models.
    fn acknowledge(&mut self, _batch: &[SourcedEvent]) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// The embedded source: the store's global feed, from a checkpoint position.
#[derive(Debug)]
pub struct FeedSource {
    subscription: FeedSubscription,
}

impl FeedSource {
    pub fn new(store: Database, after: i64) -> Self {
        FeedSource { subscription: FeedSubscription::new(store, after) }
    }
}

impl EventSource for FeedSource {
    async fn next_batch(&mut self, limit: usize) -> Result<Vec<SourcedEvent>, SourceError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let events = self.subscription.next_batch(limit).await?;
        Ok(events.into_iter().map(|event| SourcedEvent { event, origin: Origin::Feed }).collect())
    }
}
