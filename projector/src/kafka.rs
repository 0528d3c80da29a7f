//! The Kafka source: a consumer group over the context topics. Offsets are committed to Kafka only after the
//! batch and its checkpoints are committed to PostgreSQL, so a consumer that takes over a partition resumes
//! at or before the stored checkpoint; the projector then skips what the checkpoint already covers (ADR 0003).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use events::{Context, wire};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};

use crate::source::{EventSource, Origin, SourceError, SourcedEvent};

/// How long to wait for more records once a batch has begun.
const FILL_WAIT: Duration = Duration::from_millis(5);
/// The longest a fetch waits at the broker for data. librdkafka's default (500 ms) is what a write waits
/// before a projector sees it on brokers that hold a fetch for the whole wait even once data is there.
const FETCH_WAIT_MS: &str = "50";

#[derive(Debug, Clone)]
pub struct KafkaSourceSettings {
    pub brokers: String,
    pub topic_prefix: String,
    pub group_id: String,
    pub session_timeout_ms: u32,
    /// librdkafka debug contexts (`cgrp,fetch`, ...), logged through tracing at debug level.
    pub debug: Option<String>,
}

/// How far a consumer is behind the head of each partition, in records (a gauge, by consumer group, topic
/// and partition), as librdkafka's statistics report it.
pub const LAG_EVENTS: &str = "learnlog_lag_events";
/// How old, in seconds, the last record a consumer took from a partition was when it took it; 0 once the
/// consumer has caught up with the partition. Feed readers report the same per checkpoint.
pub const LAG_SECONDS: &str = "learnlog_lag_seconds";
/// How often librdkafka reports its statistics (and so the lag in records).
const STATISTICS_INTERVAL_MS: &str = "5000";

/// Counts the partitions this consumer holds, as the group's rebalances hand them out, and reports its lag.
#[derive(Debug, Clone, Default)]
pub struct Assignment {
    partitions: Arc<AtomicUsize>,
    group: Arc<str>,
}

impl Assignment {
    pub fn partitions(&self) -> usize {
        self.partitions.load(Ordering::SeqCst)
    }
}

impl ClientContext for Assignment {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
                tracing::error!(facility, "librdkafka: {message}");
            }
            RDKafkaLogLevel::Warning => tracing::warn!(facility, "librdkafka: {message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => tracing::info!(facility, "librdkafka: {message}"),
            RDKafkaLogLevel::Debug => tracing::debug!(facility, "librdkafka: {message}"),
        }
    }

    fn stats(&self, statistics: Statistics) {
        for (topic, partitions) in &statistics.topics {
            for (partition, stats) in &partitions.partitions {
                // -1 is librdkafka's internal partition; a lag of -1 is not known yet.
                if *partition < 0 || stats.consumer_lag < 0 {
                    continue;
                }
                let labels = [
                    ("consumer", self.group.to_string()),
                    ("topic", topic.clone()),
                    ("partition", partition.to_string()),
                ];
                metrics::gauge!(LAG_EVENTS, &labels).set(stats.consumer_lag as f64);
                if stats.consumer_lag == 0 {
                    metrics::gauge!(LAG_SECONDS, &labels).set(0.0);
                }
            }
        }
    }
}

impl ConsumerContext for Assignment {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                tracing::info!(partitions = partitions.count(), "partitions assigned");
                self.partitions.store(partitions.count(), Ordering::SeqCst);
            }
            Rebalance::Revoke(partitions) => {
                tracing::info!(partitions = partitions.count(), "partitions revoked");
                self.partitions.store(0, Ordering::SeqCst);
            }
            Rebalance::Error(error) => tracing::warn!(%error, "rebalance failed"),
        }
    }
}

pub struct KafkaSource {
    consumer: StreamConsumer<Assignment>,
    assignment: Assignment,
}

impl std::fmt::Debug for KafkaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KafkaSource(..)")
    }
}

impl KafkaSource {
    /// Joins the consumer group and subscribes to every context topic.
    pub fn new(settings: &KafkaSourceSettings) -> Result<Self, SourceError> {
        let assignment = Assignment { partitions: Arc::default(), group: Arc::from(settings.group_id.as_str()) };
        let mut config = ClientConfig::new();
        if let Some(contexts) = settings.debug.as_deref().filter(|c| !c.is_empty()) {
            config.set("debug", contexts).set_log_level(RDKafkaLogLevel::Debug);
        }
        let consumer: StreamConsumer<Assignment> = config
            .set("bootstrap.servers", &settings.brokers)
            .set("group.id", &settings.group_id)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", settings.session_timeout_ms.to_string())
            .set("fetch.wait.max.ms", FETCH_WAIT_MS)
            .set("statistics.interval.ms", STATISTICS_INTERVAL_MS)
            .create_with_context(assignment.clone())?;
        let topics: Vec<String> = Context::ALL.iter().map(|context| context.topic(&settings.topic_prefix)).collect();
        let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
        Ok(KafkaSource { consumer, assignment })
    }

    /// Sets [`LAG_SECONDS`] of each partition in `batch` to the age of its newest record.
    fn report_age(&self, batch: &[SourcedEvent]) {
        let now = time::OffsetDateTime::now_utc();
        let mut newest: HashMap<(&str, i32), time::OffsetDateTime> = HashMap::new();
        for sourced in batch {
            if let Origin::Kafka { topic, partition, .. } = &sourced.origin {
                newest.insert((topic.as_str(), *partition), sourced.event.recorded_at);
            }
        }
        for ((topic, partition), recorded_at) in newest {
            let labels = [
                ("consumer", self.assignment.group.to_string()),
                ("topic", topic.to_owned()),
                ("partition", partition.to_string()),
            ];
            metrics::gauge!(LAG_SECONDS, &labels).set((now - recorded_at).as_seconds_f64().max(0.0));
        }
    }

    /// A handle that tells how many partitions this consumer holds, usable after the source moved away.
    pub fn assignment(&self) -> Assignment {
        self.assignment.clone()
    }
}

fn to_event(message: &BorrowedMessage<'_>) -> Option<SourcedEvent> {
    let origin =
        Origin::Kafka { topic: message.topic().to_owned(), partition: message.partition(), offset: message.offset() };
    let text = |bytes: Option<&[u8]>| bytes.and_then(|b| std::str::from_utf8(b).ok()).map(str::to_owned);
    let key = text(message.key());
    let payload = text(message.payload());
    let headers = message.headers();
    let header = |name: &str| -> Option<String> {
        let headers = headers?;
        headers.iter().find(|h| h.key == name).and_then(|h| text(h.value))
    };
    match (key, payload) {
        (Some(key), Some(payload)) => match wire::from_record(&key, &payload, header) {
            Ok(event) => Some(SourcedEvent { event, origin }),
            Err(error) => {
                tracing::error!(%error, ?origin, "skipping a record that is not a Learnlog event");
                None
            }
        },
        _ => {
            tracing::error!(?origin, "skipping a record without a text key and value");
            None
        }
    }
}

impl EventSource for KafkaSource {
    async fn next_batch(&mut self, limit: usize) -> Result<Vec<SourcedEvent>, SourceError> {
        let mut batch = Vec::new();
        loop {
            let first = self.consumer.recv().await?;
            batch.extend(to_event(&first));
            if !batch.is_empty() {
                break;
            }
        }
        while batch.len() < limit {
            match tokio::time::timeout(FILL_WAIT, self.consumer.recv()).await {
                Ok(Ok(message)) => batch.extend(to_event(&message)),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "consumer error while filling a batch");
                    break;
                }
                Err(_) => break,
            }
        }
        self.report_age(&batch);
        Ok(batch)
    }

    async fn acknowledge(&mut self, batch: &[SourcedEvent]) {
        let mut next: HashMap<(&str, i32), i64> = HashMap::new();
        for sourced in batch {
            if let Origin::Kafka { topic, partition, offset } = &sourced.origin {
                let entry = next.entry((topic.as_str(), *partition)).or_insert(0);
                *entry = (*entry).max(offset + 1);
            }
        }
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), offset) in next {
            if let Err(error) = offsets.add_partition_offset(topic, partition, Offset::Offset(offset)) {
                tracing::warn!(%error, "cannot record an offset to commit");
            }
        }
        if offsets.count() > 0
            && let Err(error) = self.consumer.commit(&offsets, CommitMode::Async)
        {
            // Harmless: the stored checkpoint is what counts; a lagging commit only means re-reading.
            tracing::debug!(%error, "committing offsets to Kafka failed");
        }
    }
}
