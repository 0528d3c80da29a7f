//! The sagas' checkpoint and dead letters, in the event store's database (`V12__sagas.sql`, `V13__…`). An
//! operator lists parked streams, asks for a retry (the running sagas handle the stream's events again, in
//! order, within a second) or skips them, recording who and why.

use std::collections::HashSet;

use database::Database;
use events::RecordedEvent;
use time::OffsetDateTime;

use crate::{SAGAS, SagaError};

pub(crate) async fn checkpoint(store: &Database) -> Result<i64, SagaError> {
    let client = store.pool().get().await?;
    let row = client.query_opt("SELECT position FROM saga_checkpoints WHERE saga = $1", &[&SAGAS]).await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?.unwrap_or(0))
}

/// `stream_id` if it is parked (or waiting for a retry).
pub(crate) async fn parked(store: &Database, stream_id: &str) -> Result<HashSet<String>, SagaError> {
    let client = store.pool().get().await?;
    let statement = client
        .prepare_cached(
            "SELECT stream_id FROM saga_dead_letters WHERE saga = $1 AND stream_id = $2 AND status <> 'skipped' LIMIT 1",
        )
        .await?;
    let rows = client.query(&statement, &[&SAGAS, &stream_id]).await?;
    rows.iter().map(|row| row.try_get(0).map_err(SagaError::from)).collect()
}

/// Parks `recorded` with `error`, or, without one, sets it waiting behind its stream's parked event.
pub(crate) async fn park(store: &Database, recorded: &RecordedEvent, error: Option<&str>) -> Result<(), SagaError> {
    let client = store.pool().get().await?;
    let status = if error.is_some() { "parked" } else { "waiting" };
    client
        .execute(
            "INSERT INTO saga_dead_letters (saga, position, stream_id, event_id, event_type, status, error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (saga, position) DO NOTHING",
            &[
                &SAGAS,
                &recorded.position,
                &recorded.stream_id,
                &recorded.event_id,
                &recorded.event_type,
                &status,
                &error,
            ],
        )
        .await?;
    Ok(())
}

/// A saga's parked or waiting event, for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SagaDeadLetter {
    pub position: i64,
    pub stream_id: String,
    pub event_type: String,
    /// `parked` (its error below), `waiting` behind it, or `retry` (asked for, not done yet).
    pub status: String,
    pub error: Option<String>,
    pub parked_at: OffsetDateTime,
}

/// Every event the sagas hold back, oldest first.
pub async fn list(store: &Database) -> Result<Vec<SagaDeadLetter>, SagaError> {
    let client = store.pool().get().await?;
    let rows = client
        .query(
            "SELECT position, stream_id, event_type, status, error, parked_at FROM saga_dead_letters \
             WHERE saga = $1 AND status <> 'skipped' ORDER BY position",
            &[&SAGAS],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(SagaDeadLetter {
                position: row.try_get(0)?,
                stream_id: row.try_get(1)?,
                event_type: row.try_get(2)?,
                status: row.try_get(3)?,
                error: row.try_get(4)?,
                parked_at: row.try_get(5)?,
            })
        })
        .collect()
}

/// Asks the running sagas to handle `stream_id`'s held-back events again; how many there are.
pub async fn retry(store: &Database, stream_id: &str) -> Result<u64, SagaError> {
    let client = store.pool().get().await?;
    Ok(client
        .execute(
            "UPDATE saga_dead_letters SET status = 'retry' WHERE saga = $1 AND stream_id = $2 \
             AND status IN ('parked', 'waiting')",
            &[&SAGAS, &stream_id],
        )
        .await?)
}

/// Gives up on `stream_id`'s parked event for good, recording who and why, and has the running sagas handle
/// the events waiting behind it; how many were skipped (0: nothing was parked).
pub async fn skip(store: &Database, stream_id: &str, by: &str, reason: &str) -> Result<u64, SagaError> {
    let mut client = store.pool().get().await?;
    let transaction = client.transaction().await?;
    let skipped = transaction
        .execute(
            "UPDATE saga_dead_letters SET status = 'skipped', resolved_by = $3, reason = $4, resolved_at = now() \
             WHERE saga = $1 AND stream_id = $2 AND status = 'parked'",
            &[&SAGAS, &stream_id, &by, &reason],
        )
        .await?;
    transaction
        .execute(
            "UPDATE saga_dead_letters SET status = 'retry' WHERE saga = $1 AND stream_id = $2 AND status = 'waiting'",
            &[&SAGAS, &stream_id],
        )
        .await?;
    transaction.commit().await?;
    Ok(skipped)
}

/// Streams an operator asked to retry.
pub(crate) async fn to_retry(store: &Database) -> Result<Vec<String>, SagaError> {
    let client = store.pool().get().await?;
    let rows = client
        .query("SELECT DISTINCT stream_id FROM saga_dead_letters WHERE saga = $1 AND status = 'retry'", &[&SAGAS])
        .await?;
    rows.iter().map(|row| row.try_get(0).map_err(SagaError::from)).collect()
}

/// The held-back events of `stream_id`, in order, read from the store.
pub(crate) async fn held_back(store: &Database, stream_id: &str) -> Result<Vec<RecordedEvent>, SagaError> {
    let client = store.pool().get().await?;
    let rows = client
        .query(
            "SELECT position FROM saga_dead_letters WHERE saga = $1 AND stream_id = $2 AND status <> 'skipped' \
             ORDER BY position",
            &[&SAGAS, &stream_id],
        )
        .await?;
    let positions: Vec<i64> = rows.iter().map(|row| row.try_get(0)).collect::<Result<_, _>>()?;
    let events = event_store::read_stream(store, stream_id).await?;
    Ok(events.into_iter().filter(|event| positions.contains(&event.position)).collect())
}

/// `recorded` was handled: it no longer holds its stream back.
pub(crate) async fn release(store: &Database, recorded: &RecordedEvent) -> Result<(), SagaError> {
    let client = store.pool().get().await?;
    client
        .execute("DELETE FROM saga_dead_letters WHERE saga = $1 AND position = $2", &[&SAGAS, &recorded.position])
        .await?;
    Ok(())
}

/// A retry of `recorded` failed for good: it is parked again, and the rest of its stream waits behind it.
pub(crate) async fn park_again(store: &Database, recorded: &RecordedEvent, error: &str) -> Result<(), SagaError> {
    let client = store.pool().get().await?;
    client
        .execute(
            "UPDATE saga_dead_letters SET status = CASE WHEN position = $3 THEN 'parked' ELSE 'waiting' END, \
             error = CASE WHEN position = $3 THEN $4 ELSE error END \
             WHERE saga = $1 AND stream_id = $2 AND status <> 'skipped'",
            &[&SAGAS, &recorded.stream_id, &recorded.position, &error],
        )
        .await?;
    Ok(())
}
