//! What the pipeline needs of an event store, and the two stores that give it: PostgreSQL (with the key ring
//! that seals personal data in its database) and the store in memory that the pipeline's own tests run on.

use std::future::Future;
use std::sync::Arc;

use database::Database;
use event_store::keys::{DataKey, KeyRing};
use event_store::{
    AppendError, AppendOutcome, AppendRequest, MemoryEventStore, PgEventStore, ReadError, SideWrite, StoredAnswer,
};
use events::{Event, RecordedEvent};

/// An event store as the command pipeline uses it. Every method is one round trip at most.
pub trait EventStore: Clone + Send + Sync + 'static {
    /// The events of `stream_id` after `version`, in version order.
    fn read_stream_after(
        &self,
        stream_id: &str,
        version: i64,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, ReadError>> + Send;

    /// Appends one command's events with its checks (version, guards, idempotency), waiting for the commit.
    fn append(&self, request: AppendRequest) -> impl Future<Output = Result<AppendOutcome, AppendError>> + Send;

    /// The stored first answer of an idempotent command.
    fn find_answer(
        &self,
        scope: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<StoredAnswer>, ReadError>> + Send;

    /// Replaces the stored answer of `key` that ended at `from_position`; returns what is stored then.
    fn replace_answer(
        &self,
        scope: &str,
        key: &str,
        from_position: i64,
        answer: &StoredAnswer,
    ) -> impl Future<Output = Result<Option<StoredAnswer>, ReadError>> + Send;

    /// Seals the personal fields of `events` with their owners' keys, pushing the side write that keeps a new
    /// key onto `side_writes` (crypto-shredding: erasing a person is forgetting their key).
    fn seal(
        &self,
        events: &mut [Event],
        side_writes: &mut Vec<SideWrite>,
    ) -> impl Future<Output = Result<(), ReadError>> + Send;
}

/// The PostgreSQL event store and the key ring kept in the same database.
#[derive(Debug, Clone)]
pub struct PgStore {
    events: PgEventStore,
    keyring: KeyRing,
}

impl PgStore {
    /// Starts a writer (group commit) on `database`.
    pub fn start(database: Database, data_key: Arc<DataKey>) -> Self {
        let keyring = KeyRing::new(database.clone(), data_key);
        PgStore { events: PgEventStore::start(database), keyring }
    }

    pub fn database(&self) -> &Database {
        self.events.database()
    }

    pub fn events(&self) -> &PgEventStore {
        &self.events
    }

    pub fn keyring(&self) -> &KeyRing {
        &self.keyring
    }
}

impl EventStore for PgStore {
    async fn read_stream_after(&self, stream_id: &str, version: i64) -> Result<Vec<RecordedEvent>, ReadError> {
        self.events.read_stream_after(stream_id, version).await
    }

    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, AppendError> {
        self.events.append(request).await
    }

    async fn find_answer(&self, scope: &str, key: &str) -> Result<Option<StoredAnswer>, ReadError> {
        self.events.find_answer(scope, key).await
    }

    async fn replace_answer(
        &self,
        scope: &str,
        key: &str,
        from_position: i64,
        answer: &StoredAnswer,
    ) -> Result<Option<StoredAnswer>, ReadError> {
        self.events.replace_answer(scope, key, from_position, answer).await
    }

    async fn seal(&self, events: &mut [Event], side_writes: &mut Vec<SideWrite>) -> Result<(), ReadError> {
        self.keyring.seal(events, side_writes).await
    }
}

impl EventStore for MemoryEventStore {
    async fn read_stream_after(&self, stream_id: &str, version: i64) -> Result<Vec<RecordedEvent>, ReadError> {
        Ok(MemoryEventStore::read_stream_after(self, stream_id, version))
    }

    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, AppendError> {
        MemoryEventStore::append(self, request)
    }

    async fn find_answer(&self, scope: &str, key: &str) -> Result<Option<StoredAnswer>, ReadError> {
        Ok(MemoryEventStore::find_answer(self, scope, key))
    }

    async fn replace_answer(
        &self,
        scope: &str,
        key: &str,
        from_position: i64,
        answer: &StoredAnswer,
    ) -> Result<Option<StoredAnswer>, ReadError> {
        Ok(MemoryEventStore::replace_answer(self, scope, key, from_position, answer))
    }

    async fn seal(&self, events: &mut [Event], _side_writes: &mut Vec<SideWrite>) -> Result<(), ReadError> {
        MemoryEventStore::seal(self, events);
        Ok(())
    }
}
