//! The append contract: what a command asks the store to write, and what it gets back.

use events::NewEvent;
use std::sync::Arc;

/// The version a command saw when it decided; the append fails if the stream moved since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// No check: append at the end, whatever is there.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last version must be exactly this.
    Exact(i64),
}

impl ExpectedVersion {
    pub fn allows(self, current: i64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => current == 0,
            ExpectedVersion::Exact(expected) => current == expected,
        }
    }
}

/// The answer to keep for a command sent with an `Idempotency-Key`, written with its events.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyRecord {
    /// Whose key this is (keys of different actors never collide).
    pub scope: String,
    pub key: String,
    /// A digest of the request, so the same key with another body is recognised.
    pub request_hash: String,
    pub status: u16,
    /// The `data` part of the answer; the consistency token is derived from the stored position.
    pub response: serde_json::Value,
}

/// One command's events for one stream.
#[derive(Debug, Clone, PartialEq)]
pub struct AppendRequest {
    pub stream_id: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
    pub idempotency: Option<IdempotencyRecord>,
}

/// Where the events of an append landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub stream_id: String,
    /// The stream's version after the append.
    pub stream_version: i64,
    pub first_position: i64,
    pub last_position: i64,
}

/// The first answer of an idempotent command, returned again for a replay.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnswer {
    pub request_hash: String,
    pub status: u16,
    pub response: serde_json::Value,
    pub stream_id: String,
    pub stream_version: i64,
    pub last_position: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AppendOutcome {
    Appended(Appended),
    /// The idempotency key was already used for this same request: nothing new was written.
    Replayed(StoredAnswer),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum AppendError {
    #[error("stream {stream_id} is at version {actual}, the command expected {expected:?}")]
    Conflict { stream_id: String, expected: ExpectedVersion, actual: i64 },
    #[error("the idempotency key was already used with another request")]
    IdempotencyKeyReused,
    #[error("an append needs at least one event")]
    Empty,
    #[error("the event store is shutting down")]
    Closed,
    #[error("the event store is unavailable: {0}")]
    Unavailable(#[source] Arc<tokio_postgres::Error>),
}
