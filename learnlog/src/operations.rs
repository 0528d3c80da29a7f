//! Operators' tasks of the `learnlog` binary that act on a running system's databases: the projector's dead
//! letters (in the read models' database), the streams the relay parked and those the sagas parked (in the
//! store's). They reach
//! `DATABASE_URL` and `LEARNLOG_READ_DATABASE_URL`, or the data folder's embedded cluster when neither is set.

use database::Database;
use projector::dead_letters::{self, DeadLetter, Resolution};

use crate::config::Config;
use crate::embedded;
use crate::error::Error;

pub use projector::admin::PROJECTOR;

/// What `learnlog dead-letters` was asked to do; `subscriber` is [`PROJECTOR`] or one of
/// `subscriptions::dead_letters::SUBSCRIBERS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadLetterTask {
    List,
    Retry { subscriber: &'static str, id: i64 },
    Skip { subscriber: &'static str, id: i64, reason: String },
}

/// Runs `task` and returns what to print. Retries and skips are recorded as done by `operator` (the login
/// name of whoever ran the command).
pub async fn dead_letter_task(config: &Config, task: DeadLetterTask, operator: &str) -> Result<String, Error> {
    let (cluster, store_url) = embedded::store_url(config).await?;
    let read_url = config.read_database_url.clone().unwrap_or_else(|| store_url.clone());
    let result = async {
        let read = Database::connect_read_models(read_url.expose(), 1)?;
        let data_key = std::sync::Arc::new(crate::secret::data_key(config.data_key.as_ref(), &config.data_dir)?);
        let keyring = event_store::keys::KeyRing::new(Database::connect(store_url.expose(), 1)?, data_key);
        let by = format!("cli:{operator}");
        let store = Database::connect(store_url.expose(), 1)?;
        let text = match task {
            DeadLetterTask::List => {
                let held = subscriptions::dead_letters::list(&store, None).await?;
                let refused = subscriptions::kafka::rejected_records(&store).await?;
                let gaps = subscriptions::gaps::reported(&store).await?;
                format!(
                    "{}\n{}\n{}\n{}",
                    render_list(&dead_letters::list(&read).await?),
                    render_held(&held),
                    render_refused(&refused),
                    render_gaps(&gaps)
                )
            }
            DeadLetterTask::Retry { subscriber: PROJECTOR, id } => {
                render_resolution(&dead_letters::retry(&read, &keyring, id, &by).await?)
            }
            DeadLetterTask::Skip { subscriber: PROJECTOR, id, reason } => {
                render_resolution(&dead_letters::skip(&read, &keyring, id, &by, &reason).await?)
            }
            DeadLetterTask::Retry { subscriber, id } => {
                let resolution = subscriptions::dead_letters::retry(&store, subscriber, id).await?;
                render_handed_over(subscriber, &resolution)
            }
            DeadLetterTask::Skip { subscriber, id, reason } => {
                let resolution = subscriptions::dead_letters::skip(&store, subscriber, id, &by, &reason).await?;
                render_handed_over(subscriber, &resolution)
            }
        };
        Ok(text)
    }
    .await;
    if let Some(cluster) = cluster {
        cluster.stop().await?;
    }
    result
}

/// A tab-separated table: `header` and a line per row, or `none` when there are no rows.
fn table(none: &str, header: &str, rows: impl IntoIterator<Item = String>) -> String {
    let mut out = String::from(header);
    for row in rows {
        out.push('\n');
        out.push_str(&row);
    }
    if out.len() == header.len() { none.to_owned() } else { out }
}

fn render_list(letters: &[DeadLetter]) -> String {
    let rows = letters.iter().map(|letter| {
        format!(
            "{}\t{}\t{}\t{}\t{} v{}\t{}\t{}\t{}\t{}",
            letter.id,
            letter.stream_id,
            letter.position,
            letter.stream_version,
            letter.event_type,
            letter.schema_version,
            letter.attempts,
            letter.waiting,
            letter.last_seen,
            letter.error.as_deref().unwrap_or("")
        )
    });
    table("no parked streams", "id\tstream\tposition\tversion\ttype\tattempts\twaiting\tlast seen\terror", rows)
}

fn render_held(letters: &[subscriptions::dead_letters::DeadLetter]) -> String {
    let rows = letters.iter().map(|letter| {
        format!(
            "{}\t{}\t{}\t{}\t{}\t{} v{}\t{}\t{}\t{}\t{}\t{}",
            letter.subscriber,
            letter.id,
            letter.stream_id,
            letter.position,
            letter.stream_version,
            letter.event_type,
            letter.schema_version,
            letter.state,
            letter.attempts,
            letter.waiting,
            letter.last_seen,
            letter.error.as_deref().unwrap_or("")
        )
    });
    let header = "parked by\tid\tstream\tposition\tversion\ttype\tstate\tattempts\twaiting\tlast seen\terror";
    table("no stream parked by the sagas or the relay", header, rows)
}

fn render_handed_over(subscriber: &str, resolution: &subscriptions::dead_letters::Resolution) -> String {
    use subscriptions::dead_letters::Resolution;
    match resolution {
        Resolution::Retrying(events) => format!("the running {subscriber} will handle {events} event(s) again"),
        Resolution::Skipped { retrying } => {
            format!("skipped; the running {subscriber} will handle the {retrying} event(s) waiting behind it")
        }
    }
}

fn render_refused(records: &[subscriptions::kafka::RejectedRecord]) -> String {
    let rows = records.iter().map(|record| {
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            record.subscriber,
            record.topic,
            record.partition,
            record.offset,
            record.stream_id.as_deref().unwrap_or("-"),
            record.event_id.map_or_else(|| "-".to_owned(), |id| id.to_string()),
            record.event_type.as_deref().unwrap_or("-"),
            record.seen_at,
            record.reason
        )
    });
    let header = "refused by\ttopic\tpartition\toffset\tstream\tevent id\ttype\tseen at\treason";
    table("no Kafka record refused", header, rows)
}

fn render_gaps(gaps: &[subscriptions::gaps::ReportedGap]) -> String {
    let rows = gaps.iter().map(|gap| {
        format!(
            "{}\t{}\t{}..={}\t{}\t{}",
            gap.subscriber, gap.stream_id, gap.first_missing, gap.last_missing, gap.read_from_store, gap.seen_at
        )
    });
    table("no gap in what Kafka delivered", "gap seen by\tstream\tmissing versions\tread from the store\tseen at", rows)
}

fn render_resolution(resolution: &Resolution) -> String {
    match resolution.parked_again {
        None => format!("applied {} event(s); the stream is no longer parked", resolution.applied),
        Some(id) => format!(
            "applied {} event(s); the stream is parked again on dead letter {id} (see `learnlog dead-letters list`)",
            resolution.applied
        ),
    }
}
