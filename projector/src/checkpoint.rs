//! Projector checkpoints, stored beside the read models they describe.

use deadpool_postgres::Transaction;
use event_store::Database;

use crate::ProjectorError;

/// The last position applied by `projector`, 0 before the first batch.
pub async fn load(read: &Database, projector: &str) -> Result<i64, ProjectorError> {
    let client = read.pool().get().await?;
    let row =
        client.query_opt("SELECT position FROM projector_checkpoints WHERE projector = $1", &[&projector]).await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?.unwrap_or(0))
}

pub(crate) async fn store(transaction: &Transaction<'_>, projector: &str, position: i64) -> Result<(), ProjectorError> {
    let statement = transaction
        .prepare_cached(
            "INSERT INTO projector_checkpoints (projector, position, updated_at) VALUES ($1, $2, now()) \
             ON CONFLICT (projector) DO UPDATE SET position = EXCLUDED.position, updated_at = now()",
        )
        .await?;
    transaction.execute(&statement, &[&projector, &position]).await?;
    Ok(())
}
