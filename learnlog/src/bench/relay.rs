//! `learnlog bench relay`: how fast the relay moves a backlog from the store to Kafka, against a plain
//! rdkafka producer (same settings, same records: key, payload, headers) sending the same events from memory
//! and waiting for every acknowledgement. Rounds alternate baseline and relay, each on fresh topics.

use std::time::{Duration, Instant};

use database::Database;
use event_store::{AppendRequest, ExpectedVersion, PgEventStore, checkpoint};
use events::{Context, RecordedEvent, wire};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use relay::{KafkaSettings, Relay, ensure_topics};
use tokio::sync::watch;
use uuid::Uuid;

use super::BenchCluster;
use super::append::sample_event;
use crate::config::{Config, KafkaConfig};
use crate::error::Error;

#[derive(Debug, Clone, clap::Args)]
pub struct RelayOptions {
    /// Events in the backlog.
    #[arg(long, default_value_t = 50_000)]
    pub events: usize,
    /// Baseline/relay pairs.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
}

pub async fn relay(config: &Config, options: &RelayOptions) -> Result<String, Error> {
    let kafka = config.kafka.clone().ok_or_else(|| Error::Config("`bench relay` needs KAFKA_BROKERS".into()))?;
    let bench = BenchCluster::start().await?;
    let result = run(&bench, &kafka, options).await;
    bench.stop().await?;
    result
}

async fn run(bench: &BenchCluster, kafka: &KafkaConfig, options: &RelayOptions) -> Result<String, Error> {
    let store = Database::connect(&bench.database("bench_relay", None).await?, 8)?;
    let events = fill(&store, options.events).await?;
    let mut report = format!(
        "relay throughput, {} events per run\nround | baseline events/s | relay events/s | ratio\n",
        events.len()
    );
    for round in 1..=options.rounds.max(1) {
        let base = baseline(kafka, &events).await?;
        let ours = relayed(&store, kafka, &events, round).await?;
        report
            .push_str(&format!("{round:>5} | {base:>17.0} | {ours:>14.0} | {:>4.2}x\n", ours / base.max(f64::EPSILON)));
    }
    Ok(report)
}

/// Appends `count` events (100 per stream) and returns them as stored.
async fn fill(store: &Database, count: usize) -> Result<Vec<RecordedEvent>, Error> {
    let writer = PgEventStore::start(store.clone());
    let appends = (0..count.div_ceil(100)).map(|_| {
        let request = AppendRequest {
            stream_id: format!("course-{}", Uuid::now_v7()),
            expected: ExpectedVersion::NoStream,
            events: (0..100).map(|_| sample_event()).collect(),
            idempotency: None,
            side_writes: Vec::new(),
            guards: Vec::new(),
        };
        writer.append(request)
    });
    for outcome in futures_util::future::join_all(appends).await {
        outcome.map_err(|error| Error::Config(format!("filling the store failed: {error}")))?;
    }
    let mut events = Vec::new();
    loop {
        let batch = writer
            .read_feed(events.last().map_or(0, |e: &RecordedEvent| e.position), 10_000)
            .await
            .map_err(|error| Error::Config(format!("reading the store failed: {error}")))?;
        if batch.is_empty() {
            return Ok(events);
        }
        events.extend(batch);
    }
}

fn settings(kafka: &KafkaConfig, prefix: &str) -> KafkaSettings {
    KafkaSettings {
        brokers: kafka.brokers.clone(),
        topic_prefix: prefix.to_owned(),
        partitions: 6,
        replication_factor: 1,
        security: kafka.security.clone(),
    }
}

/// A plain producer with the relay's settings, sending every record, then awaiting every acknowledgement.
async fn baseline(kafka: &KafkaConfig, events: &[RecordedEvent]) -> Result<f64, Error> {
    let prefix = format!("benchbase{}.", Uuid::now_v7().simple());
    ensure_topics(&settings(kafka, &prefix)).await?;
    let producer: FutureProducer =
        relay::producer_config(&kafka.brokers, &kafka.security).create().map_err(relay::RelayError::from)?;
    let topic = Context::Catalog.topic(&prefix);
    let started = Instant::now();
    let mut deliveries = Vec::with_capacity(events.len());
    for event in events {
        let headers = wire::headers(event)
            .iter()
            .fold(OwnedHeaders::new(), |headers, (key, value)| headers.insert(Header { key, value: Some(value) }));
        let record = FutureRecord::to(&topic).key(&event.stream_id).payload(&event.payload).headers(headers);
        deliveries.push(producer.send(record, Duration::from_secs(30)));
    }
    for delivery in futures_util::future::join_all(deliveries).await {
        delivery.map_err(|(error, _)| relay::RelayError::from(error))?;
    }
    Ok(events.len() as f64 / started.elapsed().as_secs_f64())
}

/// The relay from the start of the store until its checkpoint reaches the last event.
async fn relayed(store: &Database, kafka: &KafkaConfig, events: &[RecordedEvent], round: usize) -> Result<f64, Error> {
    let prefix = format!("benchrelay{}.", Uuid::now_v7().simple());
    ensure_topics(&settings(kafka, &prefix)).await?;
    let name = format!("bench-{round}-{}", Uuid::now_v7().simple());
    let relay = Relay::new(store.clone(), settings(kafka, &prefix))?.named(name.clone());
    let head = events.last().map_or(0, |e| e.position);
    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();
    let running = tokio::spawn(relay.run(async move {
        let mut stopped = stopped;
        let _ = stopped.wait_for(|stop| *stop).await;
    }));
    loop {
        let at = checkpoint::load_relay(store, &name).await.map_err(|error| Error::Config(error.to_string()))?;
        if at >= head {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = events.len() as f64 / started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    let _ = running.await;
    Ok(rate)
}
