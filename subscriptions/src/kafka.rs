//! The Kafka source: a consumer group over the context topics. The subscriber's checkpoints in PostgreSQL are
//! where it stands ([`crate::checkpoints`]): when the group hands this consumer a partition, it seeks there
//! before it hands out a record of it. Offsets are also committed to Kafka after each acknowledged batch, for
//! the tools that show a group's lag; nothing relies on them (ADR 0003).
//!
//! The store is the truth and Kafka only the transport (ARCHITECTURE.md, invariant 29): every record is
//! confirmed in the store by the event id it claims before a subscriber sees it, and what the subscriber gets
//! is the store's copy. A record that is not a Learnlog event, or that the store does not hold as it says
//! (forged into a topic, or altered on the way), changes nothing: it is kept in `rejected_records` with the
//! reason, logged and counted, and its offset is committed with the batch after it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use database::Database;
use events::{Context, RecordedEvent, wire};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::statistics::Statistics;
use rdkafka::util::Timeout;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Notify;

use crate::checkpoints::{Checkpoints, PartitionKey, Start, starts};
use crate::source::{EventSource, Origin, SourceError, SourcedEvent};
use uuid::Uuid;

/// How long to wait for more records once a batch has begun.
const FILL_WAIT: Duration = Duration::from_millis(5);
/// How long a seek to the stored checkpoints may take, retries of a partition not fetching yet included.
const SEEK_WAIT: Duration = Duration::from_secs(10);
/// How long to wait before seeking a partition that was not fetching yet again.
const SEEK_AGAIN_AFTER: Duration = Duration::from_millis(20);
/// The longest a fetch waits at the broker for data, by default (`LEARNLOG_KAFKA_FETCH_WAIT_MS`). A broker
/// that answers a waiting fetch as soon as data comes (Apache Kafka) makes this only the idle polling
/// cadence; one that holds the fetch for the whole wait (the test broker does) adds up to the wait to every
/// write's lag. `learnlog bench lag` measures the broker's round trip at several waits (ADR 0009).
pub const DEFAULT_FETCH_WAIT_MS: u32 = 20;

#[derive(Debug, Clone)]
pub struct KafkaSourceSettings {
    /// Who consumes (`projector`, `sagas`): the name its refused records are kept under.
    pub subscriber: String,
    pub brokers: String,
    pub topic_prefix: String,
    pub group_id: String,
    pub session_timeout_ms: u32,
    /// librdkafka debug contexts (`cgrp,fetch`, ...), logged through tracing at debug level.
    pub debug: Option<String>,
    /// TLS and SASL for the connections (librdkafka properties); the values never show in a printout.
    pub security: Vec<(String, SecretString)>,
    /// `fetch.wait.max.ms`.
    pub fetch_wait_ms: u32,
}

/// How far a consumer is behind the head of each partition, in records (a gauge, by consumer group, topic
/// and partition), as librdkafka's statistics report it.
pub const LAG_EVENTS: &str = "learnlog_lag_events";
/// How old, in seconds, the last record a consumer took from a partition was when it took it; 0 once the
/// consumer has caught up with the partition. Feed readers report the same per checkpoint.
pub const LAG_SECONDS: &str = "learnlog_lag_seconds";
/// Kafka records refused because the store does not hold them as they say, by subscriber (a counter).
pub const REJECTED_RECORDS: &str = "learnlog_subscription_rejected_records_total";
/// How often librdkafka reports its statistics (and so the lag in records).
const STATISTICS_INTERVAL_MS: &str = "5000";

/// Counts the partitions this consumer holds, as the group's rebalances hand them out, and reports its lag.
#[derive(Debug, Clone, Default)]
pub struct Assignment {
    partitions: Arc<AtomicUsize>,
    /// Whether the consumer has joined its group and been given its share (which may be no partition, when a
    /// group has more members than partitions), and holds it: false again while a rebalance moves them.
    joined: Arc<AtomicBool>,
    /// Partitions handed to this consumer that it has not yet positioned at their stored checkpoints.
    given: Arc<Mutex<Vec<PartitionKey>>>,
    /// Woken when partitions are handed over, so that a consumer waiting for records positions them.
    handed_over: Arc<Notify>,
    group: Arc<str>,
}

impl Assignment {
    pub fn partitions(&self) -> usize {
        self.partitions.load(Ordering::SeqCst)
    }

    /// Whether the consumer holds its share of the partitions: it can read what is written from now on.
    pub fn joined(&self) -> bool {
        self.joined.load(Ordering::SeqCst)
    }

    fn given(&self) -> std::sync::MutexGuard<'_, Vec<PartitionKey>> {
        self.given.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn partitions_of(list: &TopicPartitionList) -> Vec<PartitionKey> {
    list.elements().iter().map(|element| (element.topic().to_owned(), element.partition())).collect()
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
                self.given().extend(partitions_of(partitions));
                self.handed_over.notify_one();
                self.joined.store(true, Ordering::SeqCst);
            }
            Rebalance::Revoke(partitions) => {
                tracing::info!(partitions = partitions.count(), "partitions revoked");
                let revoked: HashSet<PartitionKey> = partitions_of(partitions).into_iter().collect();
                self.given().retain(|partition| !revoked.contains(partition));
                self.partitions.store(0, Ordering::SeqCst);
                self.joined.store(false, Ordering::SeqCst);
            }
            Rebalance::Error(error) => tracing::warn!(%error, "rebalance failed"),
        }
    }
}

pub struct KafkaSource {
    consumer: StreamConsumer<Assignment>,
    assignment: Assignment,
    /// The event store, where every record is confirmed.
    store: Database,
    subscriber: String,
    /// Records taken from the consumer and not yet handed out: kept while confirming them fails.
    received: Vec<Received>,
    /// Per partition, the offset after the last refused record, committed with the next acknowledgement.
    refused: HashMap<(String, i32), i64>,
    /// The subscriber's stored places in the partitions, where a partition handed over is read from.
    checkpoints: Arc<dyn Checkpoints>,
    /// Per partition positioned at its checkpoint, the lowest offset to hand out: a record fetched from the
    /// place before the seek is dropped.
    floors: HashMap<String, HashMap<i32, i64>>,
}

/// A record as it came off a topic, before it is confirmed in the store.
#[derive(Debug)]
enum Received {
    Event(SourcedEvent),
    /// Not a Learnlog event at all.
    Unreadable {
        origin: Origin,
        key: Option<String>,
        reason: String,
    },
}

impl Received {
    fn origin(&self) -> &Origin {
        match self {
            Received::Event(sourced) => &sourced.origin,
            Received::Unreadable { origin, .. } => origin,
        }
    }
}

/// A record the store does not confirm.
#[derive(Debug)]
struct Refusal {
    origin: Origin,
    stream_id: Option<String>,
    event_id: Option<Uuid>,
    event_type: Option<String>,
    reason: String,
}

impl std::fmt::Debug for KafkaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KafkaSource(..)")
    }
}

impl KafkaSource {
    /// Joins the consumer group and subscribes to every context topic; records are confirmed in `store`, and a
    /// partition handed over is read from the place `checkpoints` has stored for it.
    pub fn new(
        settings: &KafkaSourceSettings,
        store: Database,
        checkpoints: Arc<dyn Checkpoints>,
    ) -> Result<Self, SourceError> {
        let assignment = Assignment {
            partitions: Arc::default(),
            joined: Arc::default(),
            given: Arc::default(),
            handed_over: Arc::default(),
            group: Arc::from(settings.group_id.as_str()),
        };
        let mut config = ClientConfig::new();
        for (property, value) in &settings.security {
            config.set(property, value.expose_secret());
        }
        if let Some(contexts) = settings.debug.as_deref().filter(|c| !c.is_empty()) {
            config.set("debug", contexts).set_log_level(RDKafkaLogLevel::Debug);
        }
        let consumer: StreamConsumer<Assignment> = config
            .set("bootstrap.servers", &settings.brokers)
            .set("group.id", &settings.group_id)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", settings.session_timeout_ms.to_string())
            .set("fetch.wait.max.ms", settings.fetch_wait_ms.to_string())
            .set("statistics.interval.ms", STATISTICS_INTERVAL_MS)
            .create_with_context(assignment.clone())?;
        let topics: Vec<String> = Context::ALL.iter().map(|context| context.topic(&settings.topic_prefix)).collect();
        let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
        Ok(KafkaSource {
            consumer,
            assignment,
            store,
            subscriber: settings.subscriber.clone(),
            received: Vec::new(),
            refused: HashMap::new(),
            checkpoints,
            floors: HashMap::new(),
        })
    }

    /// Takes at least one record from the consumer, then whatever follows within [`FILL_WAIT`], up to `limit`.
    /// Returns early, with nothing, when partitions are handed over: they are positioned first.
    async fn receive(&mut self, limit: usize) -> Result<(), SourceError> {
        let handed_over = Arc::clone(&self.assignment.handed_over);
        let first = tokio::select! {
            first = self.consumer.recv() => first?,
            () = handed_over.notified() => return Ok(()),
        };
        take(&self.floors, &mut self.received, &first);
        while self.received.len() < limit {
            match tokio::time::timeout(FILL_WAIT, self.consumer.recv()).await {
                Ok(Ok(message)) => take(&self.floors, &mut self.received, &message),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "consumer error while filling a batch");
                    break;
                }
                Err(_) => break,
            }
        }
        Ok(())
    }

    /// Seeks each partition handed over since the last call to the record after the subscriber's stored
    /// checkpoint (its beginning without one), and drops what was received of it from elsewhere. On a
    /// failure the partitions stay to be positioned on the next call.
    async fn position_given(&mut self) -> Result<(), SourceError> {
        let given: Vec<PartitionKey> = self.assignment.given().clone();
        if given.is_empty() {
            return Ok(());
        }
        let stored = self.checkpoints.last_handled(&given).await?;
        let starts = starts(&given, &stored);
        self.seek(&starts).await?;
        let positioned: HashSet<&PartitionKey> = starts.iter().map(|(partition, _)| partition).collect();
        self.received.retain(|received| match received.origin() {
            Origin::Kafka { topic, partition, .. } => !positioned.contains(&(topic.clone(), *partition)),
            Origin::Feed => true,
        });
        for (partition, start) in &starts {
            tracing::debug!(topic = %partition.0, partition = partition.1, ?start, "a partition handed over is positioned");
            self.floors.entry(partition.0.clone()).or_default().insert(partition.1, start.floor());
        }
        let from_beginning = starts.iter().filter(|(_, start)| *start == Start::Beginning).count();
        tracing::info!(
            subscriber = %self.subscriber,
            from_checkpoint = starts.len() - from_beginning,
            from_beginning,
            "partitions handed over start at the subscriber's checkpoints"
        );
        self.assignment.given().retain(|partition| !positioned.contains(partition));
        Ok(())
    }

    /// Moves the fetch position of each partition to its start. A partition handed over a moment ago may not be
    /// fetching yet (librdkafka answers `ERR__STATE` until it has asked for the group's offsets): it is tried
    /// again shortly, for up to [`SEEK_WAIT`].
    async fn seek(&self, starts: &[(PartitionKey, Start)]) -> Result<(), SourceError> {
        let deadline = tokio::time::Instant::now() + SEEK_WAIT;
        let mut pending: Vec<&(PartitionKey, Start)> = starts.iter().collect();
        loop {
            let mut seeks = TopicPartitionList::new();
            for ((topic, partition), start) in &pending {
                let offset = match start {
                    Start::Beginning => Offset::Beginning,
                    Start::At(offset) => Offset::Offset(*offset),
                };
                seeks.add_partition_offset(topic, *partition, offset)?;
            }
            // Blocks this task while librdkafka moves its fetch positions: milliseconds, once per assignment.
            let sought = self.consumer.seek_partitions(seeks, Timeout::After(SEEK_WAIT))?;
            let mut not_yet = HashSet::new();
            for element in sought.elements() {
                match element.error() {
                    Ok(()) => {}
                    Err(KafkaError::OffsetFetch(RDKafkaErrorCode::State | RDKafkaErrorCode::PreviousInProgress))
                        if tokio::time::Instant::now() < deadline =>
                    {
                        not_yet.insert((element.topic().to_owned(), element.partition()));
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            if not_yet.is_empty() {
                return Ok(());
            }
            pending.retain(|(partition, _)| not_yet.contains(partition));
            tokio::time::sleep(SEEK_AGAIN_AFTER).await;
        }
    }

    /// The received records the store confirms, as the store holds them; the others are refused (kept,
    /// logged, counted). On a failure nothing is lost: the records stay received for the next try.
    async fn confirm(&mut self) -> Result<Vec<SourcedEvent>, SourceError> {
        let ids: Vec<Uuid> = self
            .received
            .iter()
            .filter_map(|received| match received {
                Received::Event(sourced) => Some(sourced.event.event_id),
                Received::Unreadable { .. } => None,
            })
            .collect();
        let mut stored: HashMap<Uuid, RecordedEvent> = HashMap::new();
        if !ids.is_empty() {
            for event in event_store::read_events(&self.store, &ids).await? {
                stored.insert(event.event_id, event);
            }
        }
        let mut confirmed = Vec::new();
        let mut refusals = Vec::new();
        for received in &self.received {
            match received {
                Received::Event(sourced) => match verdict(&sourced.event, stored.get(&sourced.event.event_id)) {
                    Ok(truth) => confirmed.push(SourcedEvent { event: truth.clone(), origin: sourced.origin.clone() }),
                    Err(reason) => refusals.push(Refusal {
                        origin: sourced.origin.clone(),
                        stream_id: Some(sourced.event.stream_id.clone()),
                        event_id: Some(sourced.event.event_id),
                        event_type: Some(sourced.event.event_type.clone()),
                        reason,
                    }),
                },
                Received::Unreadable { origin, key, reason } => refusals.push(Refusal {
                    origin: origin.clone(),
                    stream_id: key.clone(),
                    event_id: None,
                    event_type: None,
                    reason: reason.clone(),
                }),
            }
        }
        if !refusals.is_empty() {
            self.refuse(&refusals).await?;
        }
        self.received.clear();
        Ok(confirmed)
    }

    /// Keeps `refusals` in `rejected_records` (once per subscriber and record), logs and counts them.
    async fn refuse(&mut self, refusals: &[Refusal]) -> Result<(), SourceError> {
        let (mut topics, mut partitions, mut offsets) = (Vec::new(), Vec::new(), Vec::new());
        let (mut streams, mut ids, mut types, mut reasons) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        // Every refused record came from Kafka; the columns stay aligned by taking each one whole.
        for refusal in refusals {
            if let Origin::Kafka { topic, partition, offset } = &refusal.origin {
                topics.push(topic.as_str());
                partitions.push(*partition);
                offsets.push(*offset);
                streams.push(refusal.stream_id.as_deref());
                ids.push(refusal.event_id);
                types.push(refusal.event_type.as_deref());
                reasons.push(refusal.reason.as_str());
            }
        }
        let client = self.store.pool().get().await.map_err(event_store::ReadError::from)?;
        client
            .execute(
                "INSERT INTO rejected_records \
                 (subscriber, topic, partition, kafka_offset, stream_id, event_id, event_type, reason) \
                 SELECT $1, * FROM unnest($2::text[], $3::int4[], $4::int8[], $5::text[], $6::uuid[], $7::text[], \
                 $8::text[]) ON CONFLICT DO NOTHING",
                &[&self.subscriber, &topics, &partitions, &offsets, &streams, &ids, &types, &reasons],
            )
            .await
            .map_err(event_store::ReadError::from)?;
        for refusal in refusals {
            tracing::error!(
                subscriber = %self.subscriber,
                origin = ?refusal.origin,
                stream = refusal.stream_id.as_deref().unwrap_or("?"),
                event_id = ?refusal.event_id,
                event_type = refusal.event_type.as_deref().unwrap_or("?"),
                reason = %refusal.reason,
                "a Kafka record was refused: the store does not hold it as it says; it changes nothing"
            );
            if let Origin::Kafka { topic, partition, offset } = &refusal.origin {
                let next = self.refused.entry((topic.clone(), *partition)).or_insert(0);
                *next = (*next).max(offset + 1);
            }
        }
        metrics::counter!(REJECTED_RECORDS, "subscriber" => self.subscriber.clone()).increment(refusals.len() as u64);
        Ok(())
    }

    /// Commits, per partition, the offset after the newest record of `handled` or refused so far.
    fn commit(&mut self, handled: &[SourcedEvent]) {
        let mut next: HashMap<(String, i32), i64> = std::mem::take(&mut self.refused);
        for sourced in handled {
            if let Origin::Kafka { topic, partition, offset } = &sourced.origin {
                let entry = next.entry((topic.clone(), *partition)).or_insert(0);
                *entry = (*entry).max(offset + 1);
            }
        }
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), offset) in next {
            if let Err(error) = offsets.add_partition_offset(&topic, partition, Offset::Offset(offset)) {
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

/// A Kafka record a subscriber refused, as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRecord {
    pub subscriber: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub stream_id: Option<String>,
    pub event_id: Option<Uuid>,
    pub event_type: Option<String>,
    pub reason: String,
    pub seen_at: time::OffsetDateTime,
}

/// Every record refused by a subscriber, oldest first.
pub async fn rejected_records(store: &Database) -> Result<Vec<RejectedRecord>, event_store::ReadError> {
    let client = store.pool().get().await?;
    let rows = client
        .query(
            "SELECT subscriber, topic, partition, kafka_offset, stream_id, event_id, event_type, reason, seen_at \
             FROM rejected_records ORDER BY seen_at, subscriber, topic, partition, kafka_offset",
            &[],
        )
        .await?;
    let record = |row: &tokio_postgres::Row| -> Result<RejectedRecord, tokio_postgres::Error> {
        Ok(RejectedRecord {
            subscriber: row.try_get(0)?,
            topic: row.try_get(1)?,
            partition: row.try_get(2)?,
            offset: row.try_get(3)?,
            stream_id: row.try_get(4)?,
            event_id: row.try_get(5)?,
            event_type: row.try_get(6)?,
            reason: row.try_get(7)?,
            seen_at: row.try_get(8)?,
        })
    };
    Ok(rows.iter().map(record).collect::<Result<_, _>>()?)
}

/// Keeps `message` in `received` for confirmation, unless it lies below its partition's floor (fetched from
/// where the partition was before the consumer positioned it at the subscriber's checkpoint).
fn take(floors: &HashMap<String, HashMap<i32, i64>>, received: &mut Vec<Received>, message: &BorrowedMessage<'_>) {
    let floor = floors.get(message.topic()).and_then(|partitions| partitions.get(&message.partition()));
    if floor.is_some_and(|floor| message.offset() < *floor) {
        return;
    }
    received.push(to_received(message));
}

fn to_received(message: &BorrowedMessage<'_>) -> Received {
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
            Ok(event) => Received::Event(SourcedEvent { event, origin }),
            Err(error) => {
                Received::Unreadable { origin, key: Some(key), reason: format!("not a Learnlog event: {error}") }
            }
        },
        (key, _) => Received::Unreadable { origin, key, reason: "no text key and value".to_owned() },
    }
}

/// Whether the store confirms `record`: it holds an event under the record's id, in the same place of the
/// same stream, of the same type, with the same payload at the schema version the relay publishes (the
/// current one: the stored payload upcast). `Ok` is the stored event, which the subscriber gets; `Err` says what
/// differs.
fn verdict<'a>(record: &RecordedEvent, stored: Option<&'a RecordedEvent>) -> Result<&'a RecordedEvent, String> {
    let Some(truth) = stored else {
        return Err("the event store holds no event with this id".to_owned());
    };
    let published = truth.upcast();
    let stored: &RecordedEvent = &published;
    let differs = |what: &str| Err(format!("the event store holds this id with another {what}"));
    if stored.stream_id != record.stream_id {
        return differs("stream");
    }
    if stored.stream_version != record.stream_version {
        return differs("stream version");
    }
    if stored.position != record.position {
        return differs("position");
    }
    if stored.event_type != record.event_type || stored.schema_version != record.schema_version {
        return differs("type");
    }
    if stored.payload != record.payload {
        return differs("payload");
    }
    Ok(truth)
}

impl EventSource for KafkaSource {
    async fn next_batch(&mut self, limit: usize) -> Result<Vec<SourcedEvent>, SourceError> {
        loop {
            // Partitions handed over are positioned before anything is read from them.
            if self.received.is_empty() && self.assignment.given().is_empty() {
                self.receive(limit).await?;
            }
            self.position_given().await?;
            if self.received.is_empty() {
                continue;
            }
            let batch = self.confirm().await?;
            if !batch.is_empty() {
                self.report_age(&batch);
                return Ok(batch);
            }
            // Every record was refused: all before them were acknowledged already, so their offsets can go.
            self.commit(&[]);
        }
    }

    async fn acknowledge(&mut self, batch: &[SourcedEvent]) {
        self.commit(batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> RecordedEvent {
        RecordedEvent {
            position: 7,
            stream_id: "order-1".to_owned(),
            stream_version: 2,
            event_id: Uuid::now_v7(),
            event_type: "OrderPaid".to_owned(),
            schema_version: 2,
            payload: r#"{"amount_cents":1999}"#.to_owned(),
            metadata: events::Metadata::default(),
            occurred_at: time::OffsetDateTime::UNIX_EPOCH,
            recorded_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_record_the_store_holds_as_it_says_is_confirmed() {
        let truth = stored();
        assert_eq!(verdict(&truth.clone(), Some(&truth)), Ok(&truth));
    }

    #[test]
    fn a_record_of_an_event_stored_at_an_older_schema_version_is_confirmed_as_the_relay_publishes_it() {
        let order = r#"{"order_id":"0190d2a4-7c1e-7000-8000-000000000001","trainee_id":"0190d2a4-7c1e-7000-8000-000000000002","method":"wallet","amount_cents":1999,"payment_reference":null}"#;
        let truth = RecordedEvent { schema_version: 1, payload: order.to_owned(), ..stored() };
        let published = truth.upcast().into_owned();
        assert_eq!(published.schema_version, 2);
        assert_eq!(verdict(&published, Some(&truth)), Ok(&truth), "the subscriber gets the event as stored");
        assert!(verdict(&truth, Some(&truth)).is_err(), "the relay never publishes an older version");
    }

    #[test]
    fn a_record_with_an_id_the_store_does_not_hold_is_refused() {
        assert_eq!(verdict(&stored(), None), Err("the event store holds no event with this id".to_owned()));
    }

    #[test]
    fn a_record_that_differs_from_the_stored_event_is_refused_saying_where() {
        let truth = stored();
        type Forgery = fn(&mut RecordedEvent);
        let cases: [(Forgery, &str); 5] = [
            (|r| r.stream_id = "wallet-1".to_owned(), "stream"),
            (|r| r.stream_version = 3, "stream version"),
            (|r| r.position = 8, "position"),
            (|r| r.event_type = "RefundApproved".to_owned(), "type"),
            (|r| r.payload = r#"{"amount_cents":999999}"#.to_owned(), "payload"),
        ];
        for (forge, what) in cases {
            let mut forged = truth.clone();
            forge(&mut forged);
            assert_eq!(
                verdict(&forged, Some(&truth)),
                Err(format!("the event store holds this id with another {what}"))
            );
        }
    }
}
