//! How far the read models have got: the projector's checkpoint, refreshed on every projector notification
//! (and by polling, should the notifications be lost).

use std::time::Duration;

use event_store::Database;
use tokio::sync::watch;

/// Re-read the checkpoint at least this often.
const POLL_FALLBACK: Duration = Duration::from_millis(250);

/// The applied position of one projector, shared by every request.
#[derive(Debug, Clone)]
pub struct Watermark {
    applied: watch::Receiver<i64>,
}

impl Watermark {
    /// Follows the checkpoint `projector` in `read`. The background task ends with the last clone.
    pub fn follow(read: Database, projector: &str, channel: &str) -> Self {
        let (applied_tx, applied) = watch::channel(0_i64);
        let mut wake = read.listen(channel);
        let projector = projector.to_owned();
        tokio::spawn(async move {
            loop {
                match read_checkpoint(&read, &projector).await {
                    Ok(position) => {
                        applied_tx.send_if_modified(|current| {
                            let moved = position > *current;
                            if moved {
                                *current = position;
                            }
                            moved
                        });
                    }
                    Err(error) => tracing::debug!(%error, "reading the projector checkpoint failed"),
                }
                tokio::select! {
                    () = applied_tx.closed() => return,
                    _ = tokio::time::timeout(POLL_FALLBACK, wake.changed()) => {}
                }
            }
        });
        Watermark { applied }
    }

    /// The last position the read models include.
    pub fn applied(&self) -> i64 {
        *self.applied.borrow()
    }

    /// Waits until `position` is applied, at most `limit`. True if it is.
    pub async fn wait_for(&self, position: i64, limit: Duration) -> bool {
        let mut applied = self.applied.clone();
        matches!(tokio::time::timeout(limit, applied.wait_for(|current| *current >= position)).await, Ok(Ok(_)))
    }
}

async fn read_checkpoint(read: &Database, projector: &str) -> Result<i64, Box<dyn std::error::Error + Send + Sync>> {
    let client = read.pool().get().await?;
    let statement = client.prepare_cached("SELECT position FROM projector_checkpoints WHERE projector = $1").await?;
    let row = client.query_opt(&statement, &[&projector]).await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?.unwrap_or(0))
}
