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
    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoints::CheckpointError),
}

/// A source of events for a subscriber (the projector, the sagas).
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

/// The events of `batch` grouped by stream, each stream's in the batch's order, the streams in the order of
/// their first event: a follower may handle different streams at the same time, and must handle one stream's
/// events one after another.
pub fn by_stream(batch: &[SourcedEvent]) -> Vec<Vec<&RecordedEvent>> {
    let mut streams: Vec<Vec<&RecordedEvent>> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for sourced in batch {
        let event = &sourced.event;
        match index.get(event.stream_id.as_str()) {
            Some(&at) => streams[at].push(event),
            None => {
                index.insert(&event.stream_id, streams.len());
                streams.push(vec![event]);
            }
        }
    }
    streams
}

/// Waits between retries of a transient failure: from `first`, doubling up to `at_most`, back to `first`
/// after a success. Shared by every loop that follows a source (the projector, the sagas).
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    first: std::time::Duration,
    at_most: std::time::Duration,
    next: std::time::Duration,
}

impl Backoff {
    pub const fn new(first: std::time::Duration, at_most: std::time::Duration) -> Self {
        Backoff { first, at_most, next: first }
    }

    /// How long to wait before the next try.
    pub fn next_wait(&mut self) -> std::time::Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.at_most);
        wait
    }

    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

/// The next batch of `source`, a failed read retried after `backoff`; `None` once `shutdown` completes.
pub async fn next_batch_patiently<F: Future<Output = ()>>(
    source: &mut impl EventSource,
    limit: usize,
    backoff: &mut Backoff,
    shutdown: &mut std::pin::Pin<&mut F>,
) -> Option<Vec<SourcedEvent>> {
    // Not through `patiently`: each read borrows the source mutably, which a closure cannot hand out.
    loop {
        let batch = tokio::select! {
            () = shutdown.as_mut() => return None,
            batch = source.next_batch(limit) => batch,
        };
        match batch {
            Ok(batch) => return Some(batch),
            Err(error) => {
                let wait = backoff.next_wait();
                tracing::warn!(%error, retry_in = ?wait, "reading events failed; retrying");
                tokio::select! {
                    () = shutdown.as_mut() => return None,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

/// The outcome of `attempt`, a failure (`what` failed) logged and retried after `backoff`; `None` once
/// `shutdown` completes. For a follower's steps that must happen before it goes on (storing a checkpoint,
/// recording versions): transient failures only, since it never gives up.
pub async fn patiently<T, E, Fut, F>(
    what: &str,
    backoff: &mut Backoff,
    shutdown: &mut std::pin::Pin<&mut F>,
    mut attempt: impl FnMut() -> Fut,
) -> Option<T>
where
    E: std::fmt::Display,
    Fut: Future<Output = Result<T, E>>,
    F: Future<Output = ()>,
{
    loop {
        let outcome = tokio::select! {
            () = shutdown.as_mut() => return None,
            outcome = attempt() => outcome,
        };
        match outcome {
            Ok(done) => return Some(done),
            Err(error) => {
                let wait = backoff.next_wait();
                tracing::warn!(%error, retry_in = ?wait, "{what} failed; retrying");
                tokio::select! {
                    () = shutdown.as_mut() => return None,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(stream_id: &str, stream_version: i64, position: i64) -> SourcedEvent {
        let event = RecordedEvent {
            position,
            stream_id: stream_id.to_owned(),
            stream_version,
            event_id: uuid::Uuid::now_v7(),
            event_type: "CourseCreated".to_owned(),
            schema_version: 1,
            payload: "{}".to_owned(),
            metadata: events::Metadata::default(),
            occurred_at: time::OffsetDateTime::UNIX_EPOCH,
            recorded_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        SourcedEvent { event, origin: Origin::Feed }
    }

    #[test]
    fn a_batch_groups_by_stream_keeping_each_streams_order() {
        let batch = [event("a", 1, 1), event("b", 1, 2), event("a", 2, 3), event("c", 1, 4), event("b", 2, 5)];
        let grouped: Vec<Vec<(&str, i64)>> = by_stream(&batch)
            .into_iter()
            .map(|stream| stream.into_iter().map(|e| (e.stream_id.as_str(), e.stream_version)).collect())
            .collect();
        assert_eq!(grouped, [vec![("a", 1), ("a", 2)], vec![("b", 1), ("b", 2)], vec![("c", 1)]]);
    }

    #[test]
    fn a_backoff_doubles_up_to_its_ceiling_and_starts_over_after_a_success() {
        let ms = std::time::Duration::from_millis;
        let mut backoff = Backoff::new(ms(100), ms(350));
        let waits: Vec<_> = (0..4).map(|_| backoff.next_wait()).collect();
        assert_eq!(waits, [ms(100), ms(200), ms(350), ms(350)]);
        backoff.reset();
        assert_eq!(backoff.next_wait(), ms(100));
    }
}
