//! Reading the store: one stream, the global feed, stored idempotent answers, and a subscription that tails
//! the feed. Because positions are gapless and increase in commit order (I2), a reader that asks for
//! `position > last seen` never skips an event and never sees one twice.

use std::time::Duration;

use deadpool_postgres::Pool;
use events::{Metadata, RecordedEvent};
use tokio::sync::watch;
use tokio_postgres::Row;

use crate::EVENTS_CHANNEL;
use crate::append::StoredAnswer;
use database::Database;

/// A subscriber re-reads at least this often even without a notification.
const POLL_FALLBACK: Duration = Duration::from_millis(500);

pub(crate) const EVENT_COLUMNS: &str = "position, stream_id, stream_version, event_id, event_type, schema_version, \
     payload::text, metadata::text, occurred_at, recorded_at";

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("no database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// Shown as the SQLSTATE and the database's message (not tokio-postgres' bare "db error"), without the
    /// DETAIL that may quote a row.
    #[error("{}", database::error_summary(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("stored metadata of event at position {position} is not valid: {source}")]
    Metadata { position: i64, source: serde_json::Error },
    /// A person's key is there but does not open: this process has another data key than the one that
    /// sealed it. Not an erasure: nothing may be read or written as if the person were gone.
    #[error("the key of user {user_id} does not open with this data key; is LEARNLOG_DATA_KEY the same everywhere?")]
    ForeignKey { user_id: uuid::Uuid },
}

pub(crate) async fn read_stream(pool: &Pool, stream_id: &str) -> Result<Vec<RecordedEvent>, ReadError> {
    read_stream_after(pool, stream_id, 0).await
}

/// The events of one stream after `version`, in version order: what a cached state has not seen yet. Events
/// of the stream in archived partitions are read too, but only looked for if its archived head is after
/// `version`.
pub(crate) async fn read_stream_after(
    pool: &Pool,
    stream_id: &str,
    version: i64,
) -> Result<Vec<RecordedEvent>, ReadError> {
    let client = pool.get().await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM archived_events WHERE stream_id = $1 AND stream_version > $2 \
             AND $2 < (SELECT version FROM archived_stream_heads WHERE stream_id = $1) \
             UNION ALL \
             SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2 \
             ORDER BY stream_version"
        ))
        .await?;
    client.query(&statement, &[&stream_id, &version]).await?.iter().map(recorded_event).collect()
}

/// At most `limit` events after `after`, in feed order, archived or not.
pub(crate) async fn read_feed(pool: &Pool, after: i64, limit: i64) -> Result<Vec<RecordedEvent>, ReadError> {
    let client = pool.get().await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM all_events WHERE position > $1 ORDER BY position LIMIT $2"
        ))
        .await?;
    client.query(&statement, &[&after, &limit]).await?.iter().map(recorded_event).collect()
}

/// The stored events with these ids, in no particular order; ids the store does not hold are left out. The
/// archived partitions are searched only for the ids the hot ones do not hold.
pub(crate) async fn read_events(pool: &Pool, ids: &[uuid::Uuid]) -> Result<Vec<RecordedEvent>, ReadError> {
    let client = pool.get().await?;
    let hot = client.prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE event_id = ANY($1)")).await?;
    let mut found: Vec<RecordedEvent> =
        client.query(&hot, &[&ids]).await?.iter().map(recorded_event).collect::<Result<_, _>>()?;
    if found.len() < ids.len() {
        let missing: Vec<uuid::Uuid> =
            ids.iter().filter(|id| !found.iter().any(|event| event.event_id == **id)).copied().collect();
        let archived = client
            .prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM archived_events WHERE event_id = ANY($1)"))
            .await?;
        for row in client.query(&archived, &[&missing]).await? {
            found.push(recorded_event(&row)?);
        }
    }
    Ok(found)
}

pub(crate) async fn find_answer(pool: &Pool, scope: &str, key: &str) -> Result<Option<StoredAnswer>, ReadError> {
    let client = pool.get().await?;
    let statement = client
        .prepare_cached(
            "SELECT request_hash, status, response::text, stream_id, stream_version, last_position \
             FROM command_idempotency WHERE scope = $1 AND key = $2",
        )
        .await?;
    let row = client.query_opt(&statement, &[&scope, &key]).await?;
    Ok(row.map(|row| stored_answer(&row, 0)).transpose()?)
}

/// Replaces the stored answer of `key` with `answer` if it is still the one that ended at `from_position` (a
/// command of several steps whose first step stored its answer), and returns whatever is stored then: this
/// answer, or the one a racing retry stored first.
pub(crate) async fn replace_answer(
    pool: &Pool,
    scope: &str,
    key: &str,
    from_position: i64,
    answer: &StoredAnswer,
) -> Result<Option<StoredAnswer>, ReadError> {
    let client = pool.get().await?;
    let statement = client
        .prepare_cached(
            "UPDATE command_idempotency SET status = $4, response = $5::text::json, stream_id = $6, \
             stream_version = $7, last_position = $8 \
             WHERE scope = $1 AND key = $2 AND last_position = $3 AND request_hash = $9",
        )
        .await?;
    let status = i16::try_from(answer.status).unwrap_or(500);
    let response = answer.response.to_string();
    client
        .execute(
            &statement,
            &[
                &scope,
                &key,
                &from_position,
                &status,
                &response,
                &answer.stream_id,
                &answer.stream_version,
                &answer.last_position,
                &answer.request_hash,
            ],
        )
        .await?;
    drop(client);
    find_answer(pool, scope, key).await
}

/// Whether a stream whose id starts with `prefix` and ends with `suffix` exists. Both are our own stream
/// names, never client text, so they carry no LIKE wildcards.
pub(crate) async fn any_stream(pool: &Pool, prefix: &str, suffix: &str) -> Result<bool, ReadError> {
    let client = pool.get().await?;
    let statement = client.prepare_cached(crate::statements::STREAM_LIKE).await?;
    let pattern = format!("{prefix}%{suffix}");
    Ok(client.query_one(&statement, &[&pattern]).await?.try_get(0)?)
}

/// Reads a stored answer from six columns starting at `first`.
pub(crate) fn stored_answer(row: &Row, first: usize) -> Result<StoredAnswer, tokio_postgres::Error> {
    let status: i16 = row.try_get(first + 1)?;
    let response: String = row.try_get(first + 2)?;
    Ok(StoredAnswer {
        request_hash: row.try_get(first)?,
        status: u16::try_from(status).unwrap_or_default(),
        // The column is json, so PostgreSQL has already checked the text.
        response: serde_json::from_str(&response).unwrap_or(serde_json::Value::Null),
        stream_id: row.try_get(first + 3)?,
        stream_version: row.try_get(first + 4)?,
        last_position: row.try_get(first + 5)?,
    })
}

pub(crate) fn recorded_event(row: &Row) -> Result<RecordedEvent, ReadError> {
    let position: i64 = row.try_get(0)?;
    let metadata: String = row.try_get(7)?;
    let metadata: Metadata =
        serde_json::from_str(&metadata).map_err(|source| ReadError::Metadata { position, source })?;
    Ok(RecordedEvent {
        position,
        stream_id: row.try_get(1)?,
        stream_version: row.try_get(2)?,
        event_id: row.try_get(3)?,
        event_type: row.try_get(4)?,
        schema_version: row.try_get(5)?,
        payload: row.try_get(6)?,
        metadata,
        occurred_at: row.try_get(8)?,
        recorded_at: row.try_get(9)?,
    })
}

/// Tails the global feed from a position: every committed event exactly once, in feed order.
#[derive(Debug)]
pub struct FeedSubscription {
    database: Database,
    after: i64,
    wake: watch::Receiver<u64>,
}

impl FeedSubscription {
    /// Starts after `position` (0 for the beginning of time).
    pub fn new(database: Database, after: i64) -> Self {
        let wake = database.listen(EVENTS_CHANNEL);
        FeedSubscription { database, after, wake }
    }

    /// The position of the last event handed out.
    pub fn position(&self) -> i64 {
        self.after
    }

    /// The next events, at most `limit`; waits until there is at least one. Cancel-safe: a batch that was
    /// not returned is read again by the next call.
    pub async fn next_batch(&mut self, limit: i64) -> Result<Vec<RecordedEvent>, ReadError> {
        loop {
            // Mark the current notification as seen before reading, so a commit racing the read wakes us.
            self.wake.borrow_and_update();
            let batch = read_feed(self.database.pool(), self.after, limit).await?;
            if let Some(last) = batch.last() {
                self.after = last.position;
                return Ok(batch);
            }
            let _ = tokio::time::timeout(POLL_FALLBACK, self.wake.changed()).await;
        }
    }
}
