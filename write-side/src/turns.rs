//! One command at a time per stream in this process. Commands on the same aggregate would lose each other's
//! version race anyway; queueing them here turns a burst on one hot stream (twenty orders paid from one
//! wallet at once) into a line of quick appends instead of a storm of retries. Commands of other processes
//! still meet the append's version check.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Debug, Clone, Default)]
pub struct StreamLocks {
    locks: Arc<Mutex<HashMap<String, Arc<AsyncMutex<()>>>>>,
}

/// Held while a command decides and appends; dropping it lets the next command of the stream in.
#[derive(Debug)]
pub struct StreamTurn {
    _guard: OwnedMutexGuard<()>,
}

impl StreamLocks {
    /// Waits for this process's turn on `stream_id`.
    pub async fn turn(&self, stream_id: &str) -> StreamTurn {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            // Locks nobody holds or waits for are dropped, so the map stays as small as the streams in use.
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
            Arc::clone(locks.entry(stream_id.to_owned()).or_default())
        };
        StreamTurn { _guard: lock.lock_owned().await }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stream_is_taken_in_turns_and_other_streams_are_free() {
        let locks = StreamLocks::default();
        let first = locks.turn("wallet-1").await;
        let other = tokio::time::timeout(std::time::Duration::from_millis(50), locks.turn("wallet-2")).await;
        assert!(other.is_ok(), "another stream does not wait");
        let same = tokio::time::timeout(std::time::Duration::from_millis(50), locks.turn("wallet-1")).await;
        assert!(same.is_err(), "the same stream waits for its turn");
        drop(first);
        assert!(tokio::time::timeout(std::time::Duration::from_millis(50), locks.turn("wallet-1")).await.is_ok());
    }
}
