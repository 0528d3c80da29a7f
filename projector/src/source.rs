//! Where events come from. Embedded mode tails the store's global feed directly; every source hands out
//! events in an order that respects each stream's versions.

use std::future::Future;

use event_store::{Database, FeedSubscription, ReadError};
use events::RecordedEvent;

/// A source of events for the projector.
pub trait EventSource: Send {
    /// The next events, at most `limit`, waiting until there is at least one.
    fn next_batch(&mut self, limit: i64) -> impl Future<Output = Result<Vec<RecordedEvent>, ReadError>> + Send;
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
    async fn next_batch(&mut self, limit: i64) -> Result<Vec<RecordedEvent>, ReadError> {
        self.subscription.next_batch(limit).await
    }
}
