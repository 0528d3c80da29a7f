//! Where the query API reads: the read models' primary database, or streaming replicas of it
//! (`LEARNLOG_READ_REPLICA_URLS`). A replica is read while it is reachable and has replayed everything the primary
//! had written `max_lag` ago; otherwise reads go to another replica, or to the primary, and come back once it has
//! caught up. Every database has its own [`Watermark`], so a consistency token is waited for on the database the
//! read goes to: the checkpoint rows replicate with the rows they cover.
//!
//! A monitor looks at every replica twice a second. A read that fails as unavailable while it went to a replica
//! has the replica looked at once more at once: when it does not answer, reads leave it there and then, and the
//! read is made again where they go now ([`read_again_elsewhere`]), so a replica that dies fails no read. The choice is made per process, not per request, so a request that starts
//! while the choice moves may read its page from one database and its count from another; both are consistent
//! states, and a move back to a replica is made only once it holds what the primary held `max_lag` ago.

use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use database::Database;
use tokio::time::Instant;

use crate::Watermark;

/// How often the replicas are looked at, and how long one may take to answer.
const CHECK_EVERY: Duration = Duration::from_millis(500);
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// How far behind the primary a replica may fall before reads leave it, unless configured
/// (`LEARNLOG_READ_REPLICA_MAX_LAG_MS`).
pub const DEFAULT_MAX_LAG: Duration = Duration::from_secs(5);

/// One database the read models can be read from.
#[derive(Debug)]
struct Source {
    /// Where it is, for the log (no password).
    name: String,
    database: Database,
    watermark: Watermark,
}

/// The read models' databases: replicas first, the primary last, and which one reads go to now.
#[derive(Debug, Clone)]
pub struct ReadModels {
    sources: Arc<[Source]>,
    current: Arc<AtomicUsize>,
}

impl Deref for ReadModels {
    type Target = Database;

    fn deref(&self) -> &Database {
        &self.chosen().database
    }
}

impl ReadModels {
    /// One database, read always.
    pub fn single(database: Database, watermark: Watermark) -> Self {
        let source = Source { name: "primary".to_owned(), database, watermark };
        ReadModels { sources: Arc::from(vec![source]), current: Arc::new(AtomicUsize::new(0)) }
    }

    /// Reads from the first of `replicas` that is up and no more than `max_lag` behind `primary`, else from
    /// `primary`. Each replica is `(where it is, its database, its watermark)`. The monitor ends with the last
    /// clone.
    pub fn with_replicas(
        primary: (Database, Watermark),
        replicas: Vec<(String, Database, Watermark)>,
        max_lag: Duration,
    ) -> Self {
        let mut sources: Vec<Source> =
            replicas.into_iter().map(|(name, database, watermark)| Source { name, database, watermark }).collect();
        let primary_index = sources.len();
        sources.push(Source { name: "primary".to_owned(), database: primary.0, watermark: primary.1 });
        // Reads start at the primary until a replica is seen to be current.
        let models = ReadModels { sources: Arc::from(sources), current: Arc::new(AtomicUsize::new(primary_index)) };
        let monitor = Monitor {
            sources: Arc::downgrade(&models.sources),
            current: Arc::clone(&models.current),
            max_lag,
            primary_positions: VecDeque::new(),
            healthy: vec![None; primary_index],
        };
        tokio::spawn(monitor.run());
        models
    }

    /// The watermark of the database reads go to now.
    pub fn watermark(&self) -> &Watermark {
        &self.chosen().watermark
    }

    /// Looks at the replica reads go to now, if they go to one, at once: when it does not answer, reads go to the
    /// primary until the monitor finds a replica current again. True when they moved.
    pub async fn leave_if_down(&self) -> bool {
        let primary = self.sources.len() - 1;
        let index = self.current.load(Ordering::Relaxed);
        if index >= primary || position(&self.sources[index].database).await.is_some() {
            return false;
        }
        let moved = self.current.compare_exchange(index, primary, Ordering::Relaxed, Ordering::Relaxed).is_ok();
        if moved {
            tracing::warn!(replica = %self.sources[index].name, "the replica does not answer; reads leave it");
        }
        // Moved by this read or by another one at the same time: either way the next read goes elsewhere.
        self.current.load(Ordering::Relaxed) != index
    }

    /// Where reads go now: a replica's name, or `primary`.
    pub fn reading_from(&self) -> &str {
        &self.chosen().name
    }

    fn chosen(&self) -> &Source {
        let index = self.current.load(Ordering::Relaxed).min(self.sources.len() - 1);
        &self.sources[index]
    }
}

/// A read (GET or HEAD) answered `503` while it went to a replica that no longer answers is made once more,
/// where reads go now.
pub async fn read_again_elsewhere(
    axum::extract::State(read): axum::extract::State<ReadModels>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let is_read = matches!(*request.method(), http::Method::GET | http::Method::HEAD);
    if !is_read || read.sources.len() == 1 {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let again = axum::extract::Request::from_parts(parts.clone(), axum::body::Body::empty());
    let response = next.clone().run(axum::extract::Request::from_parts(parts, body)).await;
    if response.status() == http::StatusCode::SERVICE_UNAVAILABLE && read.leave_if_down().await {
        return next.run(again).await;
    }
    response
}

/// Looks at the replicas and moves reads.
struct Monitor {
    sources: std::sync::Weak<[Source]>,
    current: Arc<AtomicUsize>,
    max_lag: Duration,
    /// The primary's write-ahead log positions as sampled, oldest first, none older than needed.
    primary_positions: VecDeque<(Instant, i64)>,
    /// Each replica's last state, for the log: `None` before it is first looked at.
    healthy: Vec<Option<bool>>,
}

impl Monitor {
    async fn run(mut self) {
        loop {
            let Some(sources) = self.sources.upgrade() else { return };
            self.check(&sources).await;
            drop(sources);
            tokio::time::sleep(CHECK_EVERY).await;
        }
    }

    async fn check(&mut self, sources: &[Source]) {
        let primary_index = sources.len() - 1;
        let now = Instant::now();
        if let Some(position) = position(&sources[primary_index].database).await {
            self.primary_positions.push_back((now, position));
        }
        let required = required_position(&mut self.primary_positions, now, self.max_lag);
        let mut chosen = primary_index;
        for (index, replica) in sources[..primary_index].iter().enumerate() {
            let replayed = position(&replica.database).await;
            let healthy = is_current(replayed, required);
            if self.healthy[index] != Some(healthy) {
                match healthy {
                    true => tracing::info!(replica = %replica.name, "the replica is current; reads may go to it"),
                    false => tracing::warn!(replica = %replica.name, ?replayed, ?required,
                        "the replica is down or behind; reads leave it"),
                }
                self.healthy[index] = Some(healthy);
            }
            if healthy && chosen == primary_index {
                chosen = index;
            }
        }
        let before = self.current.swap(chosen, Ordering::Relaxed);
        if before != chosen {
            tracing::info!(from = %sources[before.min(primary_index)].name, to = %sources[chosen].name, "reads moved");
        }
    }
}

/// The primary's position a replica must have replayed: the newest sample taken at least `max_lag` ago, if
/// the samples go back that far. Older samples are dropped.
fn required_position(samples: &mut VecDeque<(Instant, i64)>, now: Instant, max_lag: Duration) -> Option<i64> {
    let cutoff = now.checked_sub(max_lag)?;
    while samples.len() >= 2 && samples[1].0 <= cutoff {
        samples.pop_front();
    }
    samples.front().filter(|(at, _)| *at <= cutoff).map(|(_, position)| *position)
}

/// Whether a replica that answered with `replayed` (or did not answer) may be read.
fn is_current(replayed: Option<i64>, required: Option<i64>) -> bool {
    match (replayed, required) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(replayed), Some(required)) => replayed >= required,
    }
}

/// A database's write-ahead log position, in bytes: how far a primary has written, how far a standby has
/// replayed. `None` when it does not answer in time.
async fn position(database: &Database) -> Option<i64> {
    let asked = async {
        let client = database.pool().get().await.ok()?;
        let row = client
            .query_one(
                "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END \
                 - '0/0'::pg_lsn)::bigint",
                &[],
            )
            .await
            .ok()?;
        row.try_get::<_, Option<i64>>(0).ok().flatten()
    };
    tokio::time::timeout(CHECK_TIMEOUT, asked).await.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_must_hold_what_the_primary_held_max_lag_ago() {
        let start = Instant::now();
        let lag = Duration::from_secs(5);
        let mut samples: VecDeque<(Instant, i64)> =
            (0..12).map(|second| (start + Duration::from_secs(second), 100 * second as i64)).collect();
        let required = required_position(&mut samples, start + Duration::from_secs(11), lag);
        assert_eq!(required, Some(600), "the newest sample at least 5 s old");
        assert_eq!(samples.front().map(|(_, position)| *position), Some(600), "older samples are dropped");
        assert!(is_current(Some(600), required));
        assert!(!is_current(Some(599), required), "behind by more than the bound");
        assert!(!is_current(None, required), "a replica that does not answer");
    }

    #[test]
    fn before_the_samples_reach_back_a_replica_that_answers_is_current() {
        let start = Instant::now();
        let mut samples = VecDeque::from([(start, 500)]);
        let required = required_position(&mut samples, start + Duration::from_secs(1), Duration::from_secs(5));
        assert_eq!(required, None);
        assert!(is_current(Some(0), required));
    }
}
