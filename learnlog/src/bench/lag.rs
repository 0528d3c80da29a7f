//! `learnlog bench lag`: how long after a command's 201 its write is visible through the query API, at fixed
//! offered rates (open loop), in embedded mode and, when `KAFKA_BROKERS` is set, through Kafka. Visibility is
//! a read with the command's consistency token answering `fresh`. The baseline is a bare HTTP round trip to
//! the same server (`GET /healthz`), the floor under any read; with Kafka, also the broker's own
//! produce-to-consume round trip with the relay's producer settings and the consumers' fetch wait, the floor
//! under any write that travels through Kafka.

use std::sync::Arc;
use std::time::{Duration, Instant};

use api_contract::TokenKeys;
use events::Role as UserRole;
use secrecy::SecretString;
use tokio::sync::watch;
use uuid::Uuid;

use super::{BenchCluster, percentiles_ms};
use crate::app::{App, Role};
use crate::config::{Config, KafkaConfig};
use crate::error::Error;

#[derive(Debug, Clone, clap::Args)]
pub struct LagOptions {
    /// Offered command rates per second, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "200,1000")]
    pub rates: Vec<u32>,
    /// Length of each run, in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
}

pub async fn lag(config: &Config, options: &LagOptions) -> Result<String, Error> {
    let bench = BenchCluster::start().await?;
    let mut report = String::from(
        "end-to-end lag (201 -> visible through the query API), open loop\n\
         mode     | offered/s | achieved/s | lag p50 ms | lag p99 ms | stale | baseline p50 ms | baseline p99 ms\n",
    );
    let mut modes: Vec<(&str, Option<KafkaConfig>)> = vec![("embedded", None)];
    match &config.kafka {
        Some(kafka) => {
            let id = Uuid::now_v7().simple();
            let kafka = KafkaConfig {
                topic_prefix: format!("bench{id}."),
                group_id: format!("bench{id}"),
                partitions: kafka.partitions.min(6),
                ..kafka.clone()
            };
            modes.push(("kafka", Some(kafka)));
        }
        None => report.push_str("(kafka mode skipped: set KAFKA_BROKERS to a running broker)\n"),
    }
    for (index, (mode, kafka)) in modes.into_iter().enumerate() {
        let round_trip = match &kafka {
            Some(kafka) => broker_round_trips(kafka).await,
            None => Ok(String::new()),
        };
        let result = run_mode(&bench, config, mode, kafka, index, options, &mut report).await;
        if let Err(error) = result {
            report.push_str(&format!("{mode}: failed: {error}\n"));
        }
        match round_trip {
            Ok(line) => report.push_str(&line),
            Err(error) => report.push_str(&format!("broker round trip: failed: {error}\n")),
        }
    }
    bench.stop().await?;
    Ok(report)
}

async fn run_mode(
    bench: &BenchCluster,
    config: &Config,
    mode: &str,
    kafka: Option<KafkaConfig>,
    index: usize,
    options: &LagOptions,
    report: &mut String,
) -> Result<(), Error> {
    let url = bench.database(&format!("bench_lag_{index}"), kafka.as_ref()).await?;
    let secret = SecretString::from(format!("{}{}", Uuid::now_v7().simple(), Uuid::now_v7().simple()));
    let config = Config {
        listen: "127.0.0.1:0".parse().map_err(|_| Error::Config("listen address".into()))?,
        jwt_secret: Some(secret.clone()),
        consistency_wait: Duration::from_secs(30),
        kafka,
        ..config.clone()
    };
    // No payment sandbox: these benchmarks place no card orders.
    let roles: Vec<Role> =
        Role::everything(&config).into_iter().filter(|role| *role != Role::PaymentsSandbox).collect();
    let app = App::build(&config, &url.as_str().into(), &roles).await?;
    let base = format!("http://{}", app.local_addr()?);
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(app.run(async move {
        let mut stopped = stopped;
        let _ = stopped.wait_for(|stop| *stop).await;
    }));
    let keys = TokenKeys::new(&secret)?;
    let token = keys.issue(Uuid::now_v7(), UserRole::Instructor, Duration::from_secs(3600))?;
    let client = reqwest::Client::new();
    let probe = Probe { client, base, token: Arc::new(token) };

    // Warm up (and, with Kafka, let the consumer join) before measuring.
    for _ in 0..20 {
        probe.command_until_visible().await;
    }
    for &rate in &options.rates {
        let total = (f64::from(rate.max(1)) * options.seconds.max(0.1)).ceil() as usize;
        let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(total);
        let mut baseline = Vec::with_capacity(total);
        for n in 0..total {
            tokio::time::sleep_until((started + interval * u32::try_from(n).unwrap_or(u32::MAX)).into()).await;
            let command = probe.clone();
            tasks.push(tokio::spawn(async move { command.command_until_visible().await }));
            if n % 10 == 0 {
                let floor = probe.clone();
                baseline.push(tokio::spawn(async move { floor.bare_round_trip().await }));
            }
        }
        let mut lags = Vec::new();
        let mut stale = 0;
        for task in tasks {
            match task.await {
                Ok(Some(lag)) => lags.push(lag),
                _ => stale += 1,
            }
        }
        let elapsed = started.elapsed();
        let mut floor: Vec<Duration> = Vec::new();
        for task in baseline {
            floor.extend(task.await.ok().flatten());
        }
        let (p50, p99) = percentiles_ms(&mut lags);
        let (floor50, floor99) = percentiles_ms(&mut floor);
        report.push_str(&format!(
            "{mode:<8} | {rate:>9} | {:>10.0} | {p50:>10.2} | {p99:>10.2} | {stale:>5} | {floor50:>15.2} | {floor99:>15.2}\n",
            total as f64 / elapsed.as_secs_f64(),
        ));
    }
    let _ = stop.send(true);
    let _ = running.await;
    Ok(())
}

/// Records sent one at a time for each of the broker's round trips.
const ROUND_TRIPS: usize = 100;
/// Fetch waits the round trip is measured at, besides the one the subscribers use.
const FETCH_WAITS_MS: [u32; 4] = [10, 20, 50, 200];

/// The broker's produce-to-consume round trip at several fetch waits, the subscribers' marked.
async fn broker_round_trips(kafka: &KafkaConfig) -> Result<String, Error> {
    let mut waits = FETCH_WAITS_MS.to_vec();
    if !waits.contains(&kafka.fetch_wait_ms) {
        waits.push(kafka.fetch_wait_ms);
    }
    let mut lines = String::new();
    for wait in waits {
        let used = if wait == kafka.fetch_wait_ms { " (the subscribers')" } else { "" };
        let (p50, p99, count) = broker_round_trip(kafka, wait).await?;
        lines.push_str(&format!(
            "broker round trip (produce -> consume), fetch wait {wait} ms{used}, {count} records: \
             p50 {p50:.2} ms, p99 {p99:.2} ms\n"
        ));
    }
    Ok(lines)
}

/// The broker's produce-to-consume round trip: a producer with the relay's settings sends one record at a
/// time, at irregular intervals, to a topic of its own, and a consumer with `fetch_wait_ms`, positioned at the
/// end, receives it; p50 and p99 of the time between the two, and how many were measured.
async fn broker_round_trip(kafka: &KafkaConfig, fetch_wait_ms: u32) -> Result<(f64, f64, usize), Error> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::producer::{FutureProducer, FutureRecord};
    use rdkafka::{Offset, TopicPartitionList};

    let settings = relay::KafkaSettings {
        brokers: kafka.brokers.clone(),
        topic_prefix: format!("{}roundtrip{fetch_wait_ms}.", kafka.topic_prefix),
        partitions: 1,
        replication_factor: kafka.replication_factor,
        security: kafka.security.clone(),
    };
    relay::ensure_topics(&settings).await?;
    let topic = events::Context::Catalog.topic(&settings.topic_prefix);
    let producer: FutureProducer =
        relay::producer_config(&kafka.brokers, &kafka.security).create().map_err(relay::RelayError::from)?;
    let consumer: BaseConsumer = relay::client_config(&kafka.brokers, &kafka.security)
        .set("group.id", format!("{}-roundtrip", kafka.group_id))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", fetch_wait_ms.to_string())
        .create()
        .map_err(relay::RelayError::from)?;
    let mut positions = TopicPartitionList::new();
    positions.add_partition_offset(&topic, 0, Offset::End).map_err(relay::RelayError::from)?;
    consumer.assign(&positions).map_err(relay::RelayError::from)?;
    let consumer = Arc::new(consumer);
    let mut times = Vec::with_capacity(ROUND_TRIPS);
    for n in 0..ROUND_TRIPS + 10 {
        // Not in step with the consumer's fetches: a pause of 0 to 24 ms before each record.
        tokio::time::sleep(Duration::from_millis(u64::try_from(n * 13 % 25).unwrap_or(0))).await;
        let key = n.to_string();
        let sent = Instant::now();
        let delivery = producer.send_result(FutureRecord::to(&topic).key(&key).payload("{}")).map_err(|(e, _)| e);
        let delivery = delivery.map_err(relay::RelayError::from)?;
        let waiting = Arc::clone(&consumer);
        let received = tokio::task::spawn_blocking(move || {
            use rdkafka::message::Message;
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Some(Ok(message)) = waiting.poll(Duration::from_millis(100))
                    && message.key() == Some(key.as_bytes())
                {
                    return Some(Instant::now());
                }
            }
            None
        })
        .await
        .map_err(|e| Error::Config(e.to_string()))?;
        let _ = delivery.await;
        // The first few warm the connections up.
        if let Some(received) = received.filter(|_| n >= 10) {
            times.push(received - sent);
        }
    }
    let count = times.len();
    let (p50, p99) = percentiles_ms(&mut times);
    Ok((p50, p99, count))
}

#[derive(Clone)]
struct Probe {
    client: reqwest::Client,
    base: String,
    token: Arc<String>,
}

impl Probe {
    /// Creates a course, then reads with its token; the lag from the 201 to a fresh answer.
    async fn command_until_visible(&self) -> Option<Duration> {
        let body = serde_json::json!({
            "title": "Lag probe", "summary": "Measures lag", "category": "Database", "level": "beginner",
            "price": { "amount_cents": 100, "currency": "USD" }
        });
        let created = self
            .client
            .post(format!("{}/api/v1/courses", self.base))
            .bearer_auth(self.token.as_str())
            .json(&body)
            .send()
            .await
            .ok()?;
        let accepted = Instant::now();
        let token = created.headers().get("x-consistency-token")?.to_str().ok()?.to_owned();
        let read = self
            .client
            .get(format!("{}/api/v1/courses?limit=1", self.base))
            .header("x-consistency-token", token)
            .send()
            .await
            .ok()?;
        let fresh = read.headers().get("x-consistency").is_some_and(|v| v == "fresh");
        let lag = accepted.elapsed();
        fresh.then_some(lag)
    }

    async fn bare_round_trip(&self) -> Option<Duration> {
        let started = Instant::now();
        self.client.get(format!("{}/healthz", self.base)).send().await.ok()?;
        Some(started.elapsed())
    }
}
