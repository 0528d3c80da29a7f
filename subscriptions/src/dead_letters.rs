//! Dead letters of the subscribers that live beside the store (the sagas, the relay), in `dead_letters`, keyed
//! by subscriber, in the shape of the projector's own (ADR 0004). An event a subscriber cannot act on parks
//! its stream; later events of that stream wait behind it, in order; every other stream goes on. Operators
//! list them, ask for a retry (the running subscriber handles the stream's held-back events again, in order,
//! within a second) or skip the head with a reason (the events behind it are retried), by the id `list`
//! shows: `learnlog dead-letters list | retry | skip --subscriber sagas|relay ID`, or the admin routes.
//!
//! Only the running subscriber handles held-back events, between its batches, so that nothing of a stream
//! passes events of it that are being retried.

use std::collections::HashSet;

use database::Database;
use event_store::ReadError;
use events::RecordedEvent;
use time::OffsetDateTime;
use uuid::Uuid;

/// The subscribers whose dead letters are kept here.
pub const SUBSCRIBERS: [&str; 2] = ["sagas", "relay"];

/// One held-back event, as operators see it: where it is and why, never what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub id: i64,
    pub subscriber: String,
    pub stream_id: String,
    pub position: i64,
    pub stream_version: i64,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    /// `parked` (with its error), or `retry` (asked for, not done yet).
    pub state: String,
    pub error: Option<String>,
    pub attempts: i32,
    /// Events of the same stream held back behind this one.
    pub waiting: i64,
    pub first_seen: OffsetDateTime,
    pub last_seen: OffsetDateTime,
}

/// What an operator's retry or skip did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The running subscriber handles this many held-back events again, within a second.
    Retrying(u64),
    /// The head was skipped; the running subscriber handles this many events behind it.
    Skipped { retrying: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("{subscriber} has no parked dead letter {id} (it may have been retried or skipped already)")]
    NotParked { subscriber: String, id: i64 },
    #[error(transparent)]
    Store(#[from] ReadError),
}

impl From<tokio_postgres::Error> for DeadLetterError {
    fn from(error: tokio_postgres::Error) -> Self {
        DeadLetterError::Store(error.into())
    }
}

/// One subscriber's dead letters.
#[derive(Debug, Clone)]
pub struct DeadLetters {
    store: Database,
    subscriber: &'static str,
}

impl DeadLetters {
    pub fn new(store: Database, subscriber: &'static str) -> Self {
        DeadLetters { store, subscriber }
    }

    /// Of `streams`, those this subscriber holds back (parked, waiting or being retried).
    pub async fn held_streams(&self, streams: &[&str]) -> Result<HashSet<String>, ReadError> {
        let client = self.store.pool().get().await?;
        let statement = client
            .prepare_cached(
                "SELECT DISTINCT stream_id FROM dead_letters WHERE subscriber = $1 AND stream_id = ANY($2) \
                 AND state IN ('parked', 'waiting', 'retry')",
            )
            .await?;
        let rows = client.query(&statement, &[&self.subscriber, &streams]).await?;
        rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
    }

    /// Parks `event`'s stream on it with `error`, or, without one, holds it back behind its stream's head.
    pub async fn park(&self, event: &RecordedEvent, error: Option<&str>) -> Result<(), ReadError> {
        let client = self.store.pool().get().await?;
        let state = if error.is_some() { "parked" } else { "waiting" };
        client
            .execute(
                "INSERT INTO dead_letters (subscriber, stream_id, position, stream_version, event_id, event_type, \
                 state, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (subscriber, position) DO NOTHING",
                &[
                    &self.subscriber,
                    &event.stream_id,
                    &event.position,
                    &event.stream_version,
                    &event.event_id,
                    &event.event_type,
                    &state,
                    &error,
                ],
            )
            .await?;
        Ok(())
    }

    /// Streams to handle again: those an operator asked to retry (or whose head was skipped), and any held
    /// back without a parked head (an event held back while its stream was being retried).
    pub async fn to_retry(&self) -> Result<Vec<String>, ReadError> {
        let client = self.store.pool().get().await?;
        let rows = client
            .query(
                "SELECT stream_id FROM dead_letters WHERE subscriber = $1 AND state IN ('parked', 'waiting', 'retry') \
                 GROUP BY stream_id HAVING NOT bool_or(state = 'parked') ORDER BY min(position)",
                &[&self.subscriber],
            )
            .await?;
        rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
    }

    /// The held-back events of `stream_id`, in order, as the store holds them.
    pub async fn held_back(&self, stream_id: &str) -> Result<Vec<RecordedEvent>, ReadError> {
        let client = self.store.pool().get().await?;
        let rows = client
            .query(
                "SELECT position FROM dead_letters WHERE subscriber = $1 AND stream_id = $2 \
                 AND state IN ('parked', 'waiting', 'retry') ORDER BY position",
                &[&self.subscriber, &stream_id],
            )
            .await?;
        let positions: HashSet<i64> = rows.iter().map(|row| row.try_get(0)).collect::<Result<_, _>>()?;
        drop(client);
        let events = event_store::read_stream(&self.store, stream_id).await?;
        Ok(events.into_iter().filter(|event| positions.contains(&event.position)).collect())
    }

    /// `event` was handled: it no longer holds its stream back.
    pub async fn release(&self, event: &RecordedEvent) -> Result<(), ReadError> {
        let client = self.store.pool().get().await?;
        client
            .execute(
                "DELETE FROM dead_letters WHERE subscriber = $1 AND position = $2",
                &[&self.subscriber, &event.position],
            )
            .await?;
        Ok(())
    }

    /// A retry of `event` failed for good: it parks its stream again, the rest of the stream behind it.
    pub async fn park_again(&self, event: &RecordedEvent, error: &str) -> Result<(), ReadError> {
        let client = self.store.pool().get().await?;
        client
            .execute(
                "UPDATE dead_letters SET \
                 state = CASE WHEN position = $3 THEN 'parked' ELSE 'waiting' END, \
                 error = CASE WHEN position = $3 THEN $4 ELSE error END, \
                 attempts = attempts + CASE WHEN position = $3 THEN 1 ELSE 0 END, last_seen = now() \
                 WHERE subscriber = $1 AND stream_id = $2 AND state IN ('parked', 'waiting', 'retry')",
                &[&self.subscriber, &event.stream_id, &event.position, &error],
            )
            .await?;
        Ok(())
    }
}

/// Every stream held back by `subscriber` (every subscriber here: `None`), by its head, oldest first.
pub async fn list(store: &Database, subscriber: Option<&str>) -> Result<Vec<DeadLetter>, ReadError> {
    let client = store.pool().get().await?;
    let rows = client
        .query(
            "SELECT d.id, d.subscriber, d.stream_id, d.position, d.stream_version, d.event_id, d.event_type, \
             e.schema_version, d.state, d.error, d.attempts, \
             (SELECT count(*) FROM dead_letters w WHERE w.subscriber = d.subscriber AND w.stream_id = d.stream_id \
              AND w.state = 'waiting'), d.first_seen, d.last_seen \
             FROM dead_letters d JOIN all_events e ON e.position = d.position \
             WHERE d.state IN ('parked', 'retry') AND ($1::text IS NULL OR d.subscriber = $1) \
             ORDER BY d.position, d.subscriber",
            &[&subscriber],
        )
        .await?;
    let letter = |row: &tokio_postgres::Row| -> Result<DeadLetter, tokio_postgres::Error> {
        Ok(DeadLetter {
            id: row.try_get(0)?,
            subscriber: row.try_get(1)?,
            stream_id: row.try_get(2)?,
            position: row.try_get(3)?,
            stream_version: row.try_get(4)?,
            event_id: row.try_get(5)?,
            event_type: row.try_get(6)?,
            schema_version: row.try_get(7)?,
            state: row.try_get(8)?,
            error: row.try_get(9)?,
            attempts: row.try_get(10)?,
            waiting: row.try_get(11)?,
            first_seen: row.try_get(12)?,
            last_seen: row.try_get(13)?,
        })
    };
    Ok(rows.iter().map(letter).collect::<Result<_, _>>()?)
}

/// Asks the running `subscriber` to handle again the stream that dead letter `id` parks.
pub async fn retry(store: &Database, subscriber: &str, id: i64) -> Result<Resolution, DeadLetterError> {
    let client = store.pool().get().await.map_err(ReadError::from)?;
    let retrying = client
        .execute(
            "UPDATE dead_letters SET state = 'retry' WHERE subscriber = $1 AND state IN ('parked', 'waiting') \
             AND stream_id = (SELECT stream_id FROM dead_letters WHERE id = $2 AND subscriber = $1 AND state = 'parked')",
            &[&subscriber, &id],
        )
        .await?;
    match retrying {
        0 => Err(DeadLetterError::NotParked { subscriber: subscriber.to_owned(), id }),
        retrying => Ok(Resolution::Retrying(retrying)),
    }
}

/// Gives up on dead letter `id` of `subscriber` for good, recording who and why, and has the running
/// subscriber handle the events waiting behind it.
pub async fn skip(
    store: &Database,
    subscriber: &str,
    id: i64,
    by: &str,
    reason: &str,
) -> Result<Resolution, DeadLetterError> {
    let mut client = store.pool().get().await.map_err(ReadError::from)?;
    let transaction = client.transaction().await?;
    let skipped = transaction
        .query_opt(
            "UPDATE dead_letters SET state = 'skipped', resolved_by = $3, skip_reason = $4, resolved_at = now() \
             WHERE id = $2 AND subscriber = $1 AND state = 'parked' RETURNING stream_id",
            &[&subscriber, &id, &by, &reason],
        )
        .await?;
    let Some(skipped) = skipped else {
        return Err(DeadLetterError::NotParked { subscriber: subscriber.to_owned(), id });
    };
    let stream_id: String = skipped.try_get(0)?;
    let retrying = transaction
        .execute(
            "UPDATE dead_letters SET state = 'retry' WHERE subscriber = $1 AND stream_id = $2 AND state = 'waiting'",
            &[&subscriber, &stream_id],
        )
        .await?;
    transaction.commit().await?;
    Ok(Resolution::Skipped { retrying })
}
