//! How far the read models have got. In embedded mode the projector's feed checkpoint says it in one number;
//! with Kafka, events of different partitions arrive in no global order, so a write counts as included once
//! its stream's version is in `projected_stream_versions`. Both are re-checked on every projector
//! notification (and by polling, should notifications be lost).

use std::time::Duration;

use api_contract::ConsistencyToken;
use database::Database;
use tokio::sync::watch;
use tokio::time::Instant;

/// Re-check at least this often.
const POLL_FALLBACK: Duration = Duration::from_millis(250);

/// The read models' progress, shared by every request.
#[derive(Debug, Clone)]
pub struct Watermark {
    read: Database,
    projector: String,
    /// The embedded projector's feed checkpoint.
    applied: watch::Receiver<i64>,
    /// Moves on every projector notification or poll.
    ticks: watch::Receiver<u64>,
}

impl Watermark {
    /// Follows the projector `projector` in `read`. The background task ends with the last clone.
    pub fn follow(read: Database, projector: &str, channel: &str) -> Self {
        let (applied_tx, applied) = watch::channel(0_i64);
        let (ticks_tx, ticks) = watch::channel(0_u64);
        let mut wake = read.listen(channel);
        let name = projector.to_owned();
        let projector = projector.to_owned();
        let database = read.clone();
        tokio::spawn(async move {
            loop {
                match read_checkpoint(&database, &projector).await {
                    Ok(position) => {
                        applied_tx.send_if_modified(|current| {
                            let moved = position > *current;
                            *current = (*current).max(position);
                            moved
                        });
                    }
                    Err(error) => tracing::debug!(%error, "reading the projector checkpoint failed"),
                }
                ticks_tx.send_modify(|tick| *tick = tick.wrapping_add(1));
                tokio::select! {
                    () = ticks_tx.closed() => return,
                    _ = tokio::time::timeout(POLL_FALLBACK, wake.changed()) => {}
                }
            }
        });
        Watermark { read, projector: name, applied, ticks }
    }

    /// The watermark of a snapshot's read models in `read`: the same projector's checkpoint there, read once,
    /// since nothing feeds a snapshot. A token beyond it is answered at once as not included.
    pub async fn fixed_in(&self, read: Database) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let position = read_checkpoint(&read, &self.projector).await?;
        // Without senders, the receivers keep their value and report no change ever.
        let (applied, ticks) = (watch::channel(position).1, watch::channel(0).1);
        Ok(Watermark { read, projector: self.projector.clone(), applied, ticks })
    }

    /// Waits until the write of `token` is in the read models, at most `limit`. True if it is.
    pub async fn wait_for(&self, token: &ConsistencyToken, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut ticks = self.ticks.clone();
        loop {
            ticks.borrow_and_update();
            if *self.applied.borrow() >= token.position || self.stream_included(token).await {
                return true;
            }
            if !matches!(tokio::time::timeout_at(deadline, ticks.changed()).await, Ok(Ok(()))) {
                return false;
            }
        }
    }

    /// Ticks on every projector notification (and poll): a reader waiting for a read model to change looks
    /// again after each.
    pub fn ticks(&self) -> watch::Receiver<u64> {
        self.ticks.clone()
    }

    async fn stream_included(&self, token: &ConsistencyToken) -> bool {
        let version = async {
            let client = self.read.pool().get().await.ok()?;
            let statement = client
                .prepare_cached("SELECT version FROM projected_stream_versions WHERE stream_id = $1")
                .await
                .ok()?;
            let row = client.query_opt(&statement, &[&token.stream_id]).await.ok()??;
            row.try_get::<_, i64>(0).ok()
        };
        version.await.is_some_and(|version| version >= token.stream_version)
    }
}

async fn read_checkpoint(read: &Database, projector: &str) -> Result<i64, Box<dyn std::error::Error + Send + Sync>> {
    let client = read.pool().get().await?;
    let statement = client.prepare_cached("SELECT position FROM projector_checkpoints WHERE projector = $1").await?;
    let row = client.query_opt(&statement, &[&projector]).await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?.unwrap_or(0))
}
