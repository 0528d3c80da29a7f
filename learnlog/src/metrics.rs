//! What each role reports when `/metrics` is scraped, read from the databases then: how far the feed readers
//! (the projector on the feed, the relay, each saga) are behind the feed's head, in events and seconds; their
//! dead letters; the email outbox's backlog; and the connection pools. Kafka consumers report their lag per
//! partition themselves ([`subscriptions::kafka::LAG_EVENTS`]); HTTP timings, appended events and group-commit
//! sizes are recorded where they happen.

use api_contract::Samplers;
use database::Database;
use projector::READ_MODELS;
use subscriptions::kafka::{LAG_EVENTS, LAG_SECONDS};

use crate::app::Role;

/// Connections of a pool, by state (`in_use`, `idle`, `max`, `waiting`: requests waiting for one).
pub const POOL_CONNECTIONS: &str = "learnlog_db_pool_connections";
/// Open dead letters, by component (`projector`, `relay`, `sagas`) and status.
pub const DEAD_LETTERS: &str = "learnlog_dead_letters";
/// Emails not sent yet: `waiting` (to be tried, now or after a backoff) and `failed` (given up).
pub const OUTBOX_EMAILS: &str = "learnlog_outbox_emails";
/// The age of the oldest email waiting to be sent, in seconds (0 when none waits).
pub const OUTBOX_OLDEST_SECONDS: &str = "learnlog_outbox_oldest_seconds";
/// Samplers that could not read what they report (a database down, say).
pub const SAMPLE_FAILURES: &str = "learnlog_metrics_sample_failures_total";

/// The samplers of `roles`: the pools always; the projector's lag on the feed (on Kafka, the consumer
/// reports it per partition) and dead letters; the relay's lag and dead letters; each saga's lag and dead
/// letters; the mailer's outbox.
pub fn samplers(roles: &[Role], store: &Database, read: &Database, on_kafka: bool) -> Samplers {
    let mut samplers = Samplers::default();
    let pools = [("store", store.clone()), ("read", read.clone())];
    samplers.add(move || {
        for (name, database) in &pools {
            let status = database.pool().status();
            let in_use = status.size.saturating_sub(status.available);
            for (state, count) in
                [("in_use", in_use), ("idle", status.available), ("max", status.max_size), ("waiting", status.waiting)]
            {
                metrics::gauge!(POOL_CONNECTIONS, "database" => *name, "state" => state).set(count as f64);
            }
        }
        std::future::ready(())
    });
    if roles.contains(&Role::Projector) {
        let (store, read) = (store.clone(), read.clone());
        samplers.add(move || {
            let (store, read) = (store.clone(), read.clone());
            reported("projector", async move {
                if !on_kafka {
                    let checkpoint = projector::load_checkpoint(&read, READ_MODELS).await.map_err(|e| e.to_string())?;
                    feed_lag(&store, "projector", checkpoint).await?;
                }
                let client = read.pool().get().await.map_err(|e| e.to_string())?;
                let counts = client
                    .query(
                        "SELECT state, count(*) FROM projector_dead_letters WHERE state IN ('parked', 'waiting') \
                         GROUP BY state",
                        &[],
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                dead_letter_counts("projector", &["parked", "waiting"], &counts);
                Ok(())
            })
        });
    }
    for (role, reader) in [(Role::Relay, RELAY), (Role::Sagas, SAGAS)] {
        if roles.contains(&role) {
            let store = store.clone();
            samplers.add(move || {
                let store = store.clone();
                reported(reader.component, async move { reader.sample(&store).await })
            });
        }
    }
    if roles.contains(&Role::Mailer) {
        let store = store.clone();
        samplers.add(move || {
            let store = store.clone();
            reported("mailer", async move {
                let client = store.pool().get().await.map_err(|e| e.to_string())?;
                let row = client
                    .query_one(
                        "SELECT count(*) FILTER (WHERE failed_at IS NULL), count(*) FILTER (WHERE failed_at IS NOT NULL), \
                         COALESCE(EXTRACT(EPOCH FROM now() - min(created_at) FILTER (WHERE failed_at IS NULL)), 0)::float8 \
                         FROM email_outbox WHERE sent_at IS NULL",
                        &[],
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                let (waiting, failed, oldest): (i64, i64, f64) = (row.get(0), row.get(1), row.get(2));
                metrics::gauge!(OUTBOX_EMAILS, "status" => "waiting").set(waiting as f64);
                metrics::gauge!(OUTBOX_EMAILS, "status" => "failed").set(failed as f64);
                metrics::gauge!(OUTBOX_OLDEST_SECONDS).set(oldest.max(0.0));
                Ok(())
            })
        });
    }
    samplers
}

/// A reader of the feed whose checkpoints and dead letters are in the store's database.
#[derive(Debug, Clone, Copy)]
struct FeedReader {
    component: &'static str,
    /// `(name, position)` of each of its checkpoints.
    checkpoints: &'static str,
    /// `(status, count)` of its open dead letters.
    dead_letters: &'static str,
    statuses: &'static [&'static str],
}

const RELAY: FeedReader = FeedReader {
    component: "relay",
    checkpoints: "SELECT 'relay:' || relay, position FROM relay_checkpoints",
    dead_letters: "SELECT state, count(*) FROM dead_letters WHERE subscriber = 'relay' GROUP BY state",
    statuses: &["parked", "waiting", "retry"],
};

// On Kafka the sagas' consumer group reports its lag per partition too; the checkpoints show how far each saga
// has handled the feed either way.
const SAGAS: FeedReader = FeedReader {
    component: "sagas",
    checkpoints: "SELECT 'saga:' || saga, position FROM saga_checkpoints",
    dead_letters: "SELECT state, count(*) FROM dead_letters WHERE subscriber = 'sagas' GROUP BY state",
    statuses: &["parked", "waiting", "retry"],
};

impl FeedReader {
    /// Its dead letters, and its lag at each checkpoint.
    async fn sample(self, store: &Database) -> Result<(), String> {
        let client = store.pool().get().await.map_err(|e| e.to_string())?;
        let checkpoints = client.query(self.checkpoints, &[]).await.map_err(|e| e.to_string())?;
        let counts = client.query(self.dead_letters, &[]).await.map_err(|e| e.to_string())?;
        drop(client);
        dead_letter_counts(self.component, self.statuses, &counts);
        for row in checkpoints {
            let (consumer, position): (String, i64) = (row.get(0), row.get(1));
            feed_lag(store, &consumer, position).await?;
        }
        Ok(())
    }
}

/// Runs a sampler, counting (and logging at debug) a failure instead of failing the scrape.
async fn reported(component: &'static str, sample: impl Future<Output = Result<(), String>>) {
    if let Err(error) = sample.await {
        tracing::debug!(component, %error, "a metrics sampler could not read its data");
        metrics::counter!(SAMPLE_FAILURES, "component" => component).increment(1);
    }
}

/// How far a reader of the feed at `position` is behind its head: in events, and in seconds since the first
/// event it has not handled was recorded (0 when it has handled everything).
async fn feed_lag(store: &Database, consumer: &str, position: i64) -> Result<(), String> {
    let client = store.pool().get().await.map_err(|e| e.to_string())?;
    let row = client
        .query_one(
            "SELECT COALESCE((SELECT max(position) FROM events), 0), \
             (SELECT EXTRACT(EPOCH FROM now() - recorded_at)::float8 FROM all_events \
             WHERE position = $1::bigint + 1)",
            &[&position],
        )
        .await
        .map_err(|e| e.to_string())?;
    let (head, oldest): (i64, Option<f64>) = (row.get(0), row.get(1));
    let labels = [("consumer", consumer.to_owned()), ("topic", "feed".to_owned()), ("partition", "0".to_owned())];
    metrics::gauge!(LAG_EVENTS, &labels).set((head - position).max(0) as f64);
    metrics::gauge!(LAG_SECONDS, &labels).set(oldest.unwrap_or(0.0).max(0.0));
    Ok(())
}

/// Sets the dead-letter gauge of every status in `statuses` from `(status, count)` rows, 0 for the absent.
fn dead_letter_counts(component: &'static str, statuses: &[&'static str], rows: &[tokio_postgres::Row]) {
    for status in statuses {
        let count = rows
            .iter()
            .find(|row| row.try_get::<_, &str>(0).ok() == Some(*status))
            .and_then(|row| row.try_get::<_, i64>(1).ok())
            .unwrap_or(0);
        metrics::gauge!(DEAD_LETTERS, "component" => component, "status" => *status).set(count as f64);
    }
}
