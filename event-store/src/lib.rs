//! Learnlog's PostgreSQL event store: the source of truth.
//!
//! Invariants kept here (numbered as in ARCHITECTURE.md):
//! - I1: a stream's versions are 1, 2, 3, ... with no hole; an append with a stale expected version is a
//!   [`AppendError::Conflict`] and writes nothing;
//! - I2: global positions are assigned under one transaction-scoped lock, so they are gapless and increase in
//!   commit order: whatever a reader sees is a prefix of the final feed ([`feed`]);
//! - I3: appends that queue up are written in one transaction (group commit) and each keeps its own version
//!   check, so one conflict fails only its own command ([`writer`]);
//! - I4: a command's idempotency record is written in the same transaction as its events.

pub mod append;
pub mod checkpoint;
mod fast_path;
pub mod feed;
pub mod history;
pub mod keys;
pub mod memory;
mod plan;
mod statements;
pub mod writer;

pub use append::{
    AppendError, AppendOutcome, AppendRequest, Appended, ExpectedVersion, Guard, IdempotencyRecord, SideWrite,
    SqlValue, StoredAnswer,
};
pub use feed::{FeedSubscription, ReadError};
pub use memory::MemoryEventStore;
pub use writer::PgEventStore;

/// Every event of one stream, in version order, for readers without a [`PgEventStore`] of their own.
pub async fn read_stream(
    database: &database::Database,
    stream_id: &str,
) -> Result<Vec<events::RecordedEvent>, ReadError> {
    feed::read_stream(database.pool(), stream_id).await
}

/// The events of one stream after `version`, in version order.
pub async fn read_stream_after(
    database: &database::Database,
    stream_id: &str,
    version: i64,
) -> Result<Vec<events::RecordedEvent>, ReadError> {
    feed::read_stream_after(database.pool(), stream_id, version).await
}

/// At most `limit` events after global position `after`, in feed order, without waiting for more.
pub async fn read_feed(
    database: &database::Database,
    after: i64,
    limit: i64,
) -> Result<Vec<events::RecordedEvent>, ReadError> {
    feed::read_feed(database.pool(), after, limit).await
}

/// The stored events with these ids (those the store holds), for subscribers that confirm what a Kafka
/// record claims before they act on it.
pub async fn read_events(
    database: &database::Database,
    ids: &[uuid::Uuid],
) -> Result<Vec<events::RecordedEvent>, ReadError> {
    feed::read_events(database.pool(), ids).await
}

/// The channel on which every committed append is announced (payload: the last global position).
pub const EVENTS_CHANNEL: &str = "learnlog_events";
