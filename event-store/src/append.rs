//! The append contract: what a command asks the store to write, and what it gets back.

use std::sync::Arc;

use bytes::BytesMut;
use events::NewEvent;
use time::OffsetDateTime;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use uuid::Uuid;

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

/// One command's events for one stream, and the write-side rows that go with them.
#[derive(Debug, Clone, PartialEq)]
pub struct AppendRequest {
    pub stream_id: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
    pub idempotency: Option<IdempotencyRecord>,
    /// Written in the same transaction, only if the events are appended (not for a replay, not on a
    /// conflict).
    pub side_writes: Vec<SideWrite>,
    /// Facts about other streams that the decision rested on, checked under the append lock: if one no
    /// longer holds, nothing is appended and the command gets a [`AppendError::Conflict`] to decide again.
    pub guards: Vec<Guard>,
}

/// A fact about another stream that must still hold when a command's events are appended. Appends are
/// serialised by the append lock, so a fact checked under it cannot change before the commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// The stream is still at this version (0: it still does not exist).
    StreamAt { stream_id: String, version: i64 },
    /// Still no stream is named `<prefix>...<suffix>` (such as an enrolment in one course). Both are our own
    /// stream names, never client text, so they carry no LIKE wildcards.
    NoStreamLike { prefix: String, suffix: String },
}

impl Guard {
    /// The stream named in a [`AppendError::Conflict`] when this guard fails.
    pub(crate) fn subject(&self) -> String {
        match self {
            Guard::StreamAt { stream_id, .. } => stream_id.clone(),
            Guard::NoStreamLike { prefix, suffix } => format!("{prefix}*{suffix}"),
        }
    }
}

/// A row of write-side state that a command writes beside its events: a credential, a session, an outbox
/// email, a uniqueness claim. The statement is the command's own (typed where the command is defined); the
/// store runs it in the append's transaction after the version check passed. A unique violation fails only
/// its own command, as [`AppendError::Claimed`] with the constraint's name; nothing of it is kept.
#[derive(Clone, PartialEq)]
pub struct SideWrite {
    pub statement: &'static str,
    pub values: Vec<SqlValue>,
}

impl SideWrite {
    pub fn new(statement: &'static str, values: Vec<SqlValue>) -> Self {
        SideWrite { statement, values }
    }
}

impl std::fmt::Debug for SideWrite {
    /// The statement only: the values may be secrets (hashes, sealed data) or personal data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SideWrite").field("statement", &self.statement).finish_non_exhaustive()
    }
}

/// A value of a [`SideWrite`]'s statement.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Uuid(Uuid),
    Text(String),
    OptText(Option<String>),
    Int(i32),
    BigInt(i64),
    Bytes(Vec<u8>),
    Time(OffsetDateTime),
}

impl ToSql for SqlValue {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            SqlValue::Uuid(value) => value.to_sql_checked(ty, out),
            SqlValue::Text(value) => value.to_sql_checked(ty, out),
            SqlValue::OptText(value) => value.to_sql_checked(ty, out),
            SqlValue::Int(value) => value.to_sql_checked(ty, out),
            SqlValue::BigInt(value) => value.to_sql_checked(ty, out),
            SqlValue::Bytes(value) => value.to_sql_checked(ty, out),
            SqlValue::Time(value) => value.to_sql_checked(ty, out),
        }
    }

    /// Each variant checks its own type when it is written.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
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
    /// A side write hit a unique constraint: what it claims (an email, a username) is someone else's.
    #[error("a side write violates the unique constraint {constraint}")]
    Claimed { constraint: String },
    #[error("an append needs at least one event")]
    Empty,
    #[error("the event store is shutting down")]
    Closed,
    #[error("the event store is unavailable: {0}")]
    Unavailable(#[source] Arc<tokio_postgres::Error>),
}
