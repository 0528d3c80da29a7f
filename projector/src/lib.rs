//! The projector: reads events from a source, applies them to the read models, and stores its checkpoint in
//! the same PostgreSQL transaction as the changes, so each batch takes effect exactly once, also across
//! restarts. It never writes the event store.

mod checkpoint;
mod projections;
pub mod source;

use std::future::Future;
use std::time::Duration;

use event_store::Database;
use events::{DecodeError, RecordedEvent};

pub use checkpoint::load as load_checkpoint;
pub use source::{EventSource, FeedSource};

/// The channel on which a committed projector batch is announced (payload: the checkpoint position).
pub const PROJECTIONS_CHANNEL: &str = "learnlog_projections";
/// The checkpoint name of the projector that feeds every read model in this version.
pub const READ_MODELS: &str = "read_models";

/// Events applied per transaction at most.
const BATCH_SIZE: i64 = 500;
const RETRY_AFTER: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    #[error("no read-model database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Source(#[from] event_store::ReadError),
}

/// Feeds the read models in `read` from an event source.
#[derive(Debug)]
pub struct Projector {
    read: Database,
    name: String,
}

impl Projector {
    pub fn new(read: Database, name: impl Into<String>) -> Self {
        Projector { read, name: name.into() }
    }

    /// Where this projector stands: the source resumes after it.
    pub async fn checkpoint(&self) -> Result<i64, ProjectorError> {
        checkpoint::load(&self.read, &self.name).await
    }

    /// Runs until `shutdown` completes. A batch being applied is finished first; a failing one is retried.
    pub async fn run(self, mut source: impl EventSource, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let batch = tokio::select! {
                () = &mut shutdown => return,
                batch = source.next_batch(BATCH_SIZE) => batch,
            };
            let batch = match batch {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::warn!(%error, "reading events failed; retrying");
                    tokio::time::sleep(RETRY_AFTER).await;
                    continue;
                }
            };
            while let Err(error) = self.apply(&batch).await {
                tracing::warn!(%error, "applying a batch failed; retrying");
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep(RETRY_AFTER) => {}
                }
            }
        }
    }

    /// Applies `batch` and moves the checkpoint to its last event, in one transaction.
    pub async fn apply(&self, batch: &[RecordedEvent]) -> Result<(), ProjectorError> {
        let Some(last) = batch.last() else { return Ok(()) };
        let mut client = self.read.pool().get().await?;
        let transaction = client.transaction().await?;
        for recorded in batch {
            match recorded.decode() {
                Ok(event) => projections::apply(&transaction, recorded, &event).await?,
                Err(DecodeError::UnknownType(event_type)) => {
                    // Written by a newer version of Learnlog: no read model of this version needs it.
                    tracing::debug!(%event_type, position = recorded.position, "skipping an event type this version does not know");
                }
                Err(error) => {
                    tracing::error!(%error, position = recorded.position, stream = %recorded.stream_id, "skipping an event that does not decode");
                }
            }
        }
        checkpoint::store(&transaction, &self.name, last.position).await?;
        transaction.execute("SELECT pg_notify($1, $2)", &[&PROJECTIONS_CHANNEL, &last.position.to_string()]).await?;
        transaction.commit().await?;
        Ok(())
    }
}
