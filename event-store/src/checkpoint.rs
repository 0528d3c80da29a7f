//! Checkpoints of readers that live beside the store: the Kafka relay's place in the feed.

use crate::feed::ReadError;
use database::Database;

/// The last position `relay` has seen acknowledged, 0 before the first.
pub async fn load_relay(store: &Database, relay: &str) -> Result<i64, ReadError> {
    let client = store.pool().get().await?;
    let row = client.query_opt("SELECT position FROM relay_checkpoints WHERE relay = $1", &[&relay]).await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?.unwrap_or(0))
}

/// Moves `relay` forward to `position` (never backwards).
pub async fn save_relay(store: &Database, relay: &str, position: i64) -> Result<(), ReadError> {
    let client = store.pool().get().await?;
    client
        .execute(
            "INSERT INTO relay_checkpoints (relay, position) VALUES ($1, $2) \
             ON CONFLICT (relay) DO UPDATE SET position = GREATEST(relay_checkpoints.position, EXCLUDED.position), \
             updated_at = now()",
            &[&relay, &position],
        )
        .await?;
    Ok(())
}
