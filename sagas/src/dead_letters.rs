//! The sagas' checkpoint and dead letters, in the event store's database (see `V12__sagas.sql`).

use std::collections::HashSet;

use database::Database;
use events::RecordedEvent;

use crate::{SAGAS, SagaError};

pub(crate) async fn checkpoint(store: &Database) -> Result<i64, SagaError> {
    let client = store.pool().get().await?;
    let row = client.query_opt("SELECT position FROM saga_checkpoints WHERE saga = $1", &[&SAGAS]).await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?.unwrap_or(0))
}

pub(crate) async fn save_checkpoint(store: &Database, position: i64) -> Result<(), SagaError> {
    let client = store.pool().get().await?;
    client
        .execute(
            "INSERT INTO saga_checkpoints (saga, position) VALUES ($1, $2) ON CONFLICT (saga) DO UPDATE \
             SET position = GREATEST(saga_checkpoints.position, EXCLUDED.position), updated_at = now()",
            &[&SAGAS, &position],
        )
        .await?;
    Ok(())
}

/// `stream_id` if it is parked.
pub(crate) async fn parked(store: &Database, stream_id: &str) -> Result<HashSet<String>, SagaError> {
    let client = store.pool().get().await?;
    let statement = client
        .prepare_cached("SELECT stream_id FROM saga_dead_letters WHERE saga = $1 AND stream_id = $2 LIMIT 1")
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
