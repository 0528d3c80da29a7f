//! The relay: tails the store's global feed and publishes every event, in feed order, to its context's Kafka
//! topic with an idempotent producer (`acks=all`), key = stream id, headers of `events::wire`. Its checkpoint
//! lives in PostgreSQL and moves only after the broker acknowledged every event up to it; after a failure it
//! starts again from the checkpoint, so an event may be published twice but never lost (consumers skip the
//! repeats by global position). Nothing is ever published from the request path.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use database::Database;
use event_store::checkpoint;
use events::{Context, RecordedEvent, wire};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use secrecy::{ExposeSecret, SecretString};
use subscriptions::dead_letters::DeadLetters;
use subscriptions::{Backoff, EventSource, FeedSource, SourcedEvent};

const BATCH_SIZE: usize = 5000;
/// The first wait after a failure; it doubles up to [`RETRY_AT_MOST`] while the failures go on.
const RETRY_AFTER: Duration = Duration::from_secs(1);
const RETRY_AT_MOST: Duration = Duration::from_secs(30);
/// How often the relay looks for streams an operator asked to retry.
const RETRY_SWEEP: Duration = Duration::from_secs(1);
/// The subscriber name of the relay's dead letters.
pub const SUBSCRIBER: &str = "relay";

/// Where and how to publish.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// Prepended to every topic name (empty in production; unique per test).
    pub topic_prefix: String,
    /// Partitions of each topic the relay creates.
    pub partitions: i32,
    pub replication_factor: i32,
    /// TLS and SASL for the connections (librdkafka properties); the values never show in a printout.
    pub security: Vec<(String, SecretString)>,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    #[error("creating topic {topic} failed: {code}")]
    Topic { topic: String, code: RDKafkaErrorCode },
    #[error("stream {0:?} belongs to no bounded context, so it has no topic")]
    Unrouted(String),
    #[error("the event store is unavailable: {0}")]
    Store(String),
    #[error("the Kafka brokers cannot be reached: {0}")]
    Unreachable(String),
}

/// How long `ensure_topics` waits for the brokers to answer before it says why they did not.
const REACH_WAIT: Duration = Duration::from_secs(10);

/// An admin client's context that keeps the last error librdkafka reported about the connection (a refused
/// login, a TLS handshake that failed), so that a failure can say why instead of only that it timed out.
#[derive(Debug, Default)]
struct LastError(std::sync::Mutex<Option<String>>);

impl LastError {
    fn keep(&self, error: String) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(error);
    }
}

impl rdkafka::ClientContext for LastError {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        use rdkafka::config::RDKafkaLogLevel as Level;
        if matches!(level, Level::Emerg | Level::Alert | Level::Critical | Level::Error) {
            tracing::warn!(facility, "librdkafka: {message}");
            self.keep(message.to_owned());
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "Kafka client error");
        self.keep(format!("{error}: {reason}"));
    }
}

/// Creates every context topic that does not exist yet, with infinite retention (analysts replay from Kafka).
pub async fn ensure_topics(settings: &KafkaSettings) -> Result<(), RelayError> {
    let admin: std::sync::Arc<AdminClient<LastError>> = std::sync::Arc::new(
        client_config(&settings.brokers, &settings.security).create_with_context(LastError::default())?,
    );
    // A wrong password or certificate fails here, saying so, rather than as a timeout of the topics' creation.
    let probe = std::sync::Arc::clone(&admin);
    let reached = tokio::task::spawn_blocking(move || probe.inner().fetch_metadata(None, REACH_WAIT).map(drop))
        .await
        .map_err(|error| RelayError::Unreachable(error.to_string()))?;
    if let Err(error) = reached {
        let last = admin.inner().context().0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        return Err(RelayError::Unreachable(last.unwrap_or_else(|| error.to_string())));
    }
    let names: Vec<String> = Context::ALL.iter().map(|context| context.topic(&settings.topic_prefix)).collect();
    let topics: Vec<NewTopic<'_>> = names
        .iter()
        .map(|name| {
            NewTopic::new(name, settings.partitions, TopicReplication::Fixed(settings.replication_factor))
                .set("retention.ms", "-1")
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(&topics, &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(RelayError::Topic { topic, code }),
        }
    }
    Ok(())
}

/// A client of `brokers`, connected with `security` (TLS, SASL).
pub fn client_config(brokers: &str, security: &[(String, SecretString)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    for (property, value) in security {
        config.set(property, value.expose_secret());
    }
    config
}

/// The relay's producer settings: idempotent, acknowledged by every in-sync replica, batched for 5 ms.
pub fn producer_config(brokers: &str, security: &[(String, SecretString)]) -> ClientConfig {
    let mut config = client_config(brokers, security);
    config.set("enable.idempotence", "true").set("acks", "all").set("linger.ms", "5");
    config
}

/// Publishes the feed to Kafka.
pub struct Relay {
    store: Database,
    producer: FutureProducer,
    settings: KafkaSettings,
    name: String,
    dead_letters: DeadLetters,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").field("name", &self.name).field("settings", &self.settings).finish()
    }
}

impl Relay {
    pub fn new(store: Database, settings: KafkaSettings) -> Result<Self, RelayError> {
        let producer = producer_config(&settings.brokers, &settings.security).create()?;
        let dead_letters = DeadLetters::new(store.clone(), SUBSCRIBER);
        Ok(Relay { store, producer, settings, name: "kafka".to_owned(), dead_letters })
    }

    /// The same relay under another checkpoint name (several relays over one store, e.g. in benchmarks).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Runs until `shutdown` completes. Whatever was not acknowledged is published again on the next start.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut backoff = Backoff::new(RETRY_AFTER, RETRY_AT_MOST);
        loop {
            let start = match checkpoint::load_relay(&self.store, &self.name).await {
                Ok(position) => position,
                Err(error) => {
                    tracing::warn!(%error, "cannot read the relay checkpoint; retrying");
                    if wait_or_stop(&mut shutdown, &mut backoff).await {
                        return;
                    }
                    continue;
                }
            };
            tracing::info!(position = start, "relay publishing from the checkpoint");
            match self.relay_from(start, &mut shutdown, &mut backoff).await {
                Stopped::Shutdown => return,
                Stopped::Failed(error) => tracing::warn!(%error, "relaying failed; starting again from the checkpoint"),
            }
            if wait_or_stop(&mut shutdown, &mut backoff).await {
                return;
            }
        }
    }

    /// Publishes batch after batch. While a batch's acknowledgements are awaited, the next batch is already
    /// being read from the store; it is enqueued only once the previous one is acknowledged and recorded.
    /// The store's feed is read through the subscription runtime's source, like every follower of the events.
    async fn relay_from(
        &self,
        start: i64,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
        backoff: &mut Backoff,
    ) -> Stopped {
        let mut source = FeedSource::new(self.store.clone(), start);
        let mut ready: Option<Vec<RecordedEvent>> = None;
        let mut next_retry_sweep = tokio::time::Instant::now();
        loop {
            // Between batches, so that no event of a stream passes the held-back ones being published.
            if tokio::time::Instant::now() >= next_retry_sweep {
                if let Err(error) = self.retry_when_asked().await {
                    return Stopped::Failed(error.to_string());
                }
                next_retry_sweep = tokio::time::Instant::now() + RETRY_SWEEP;
            }
            let batch = match ready.take() {
                Some(batch) => batch,
                None => tokio::select! {
                    () = shutdown.as_mut() => return Stopped::Shutdown,
                    () = tokio::time::sleep_until(next_retry_sweep) => continue,
                    batch = source.next_batch(BATCH_SIZE) => match batch.map(events) {
                        Ok(batch) => batch,
                        Err(error) => return Stopped::Failed(error.to_string()),
                    },
                },
            };
            let Some(last) = batch.last().map(|event| event.position) else { continue };
            let deliveries = match self.enqueue(&batch).await {
                Ok(deliveries) => deliveries,
                Err(error) => return Stopped::Failed(error.to_string()),
            };
            let acknowledged = async {
                acknowledged(deliveries).await.map_err(|error| error.to_string())?;
                checkpoint::save_relay(&self.store, &self.name, last).await.map_err(|error| error.to_string())
            };
            tokio::pin!(acknowledged);
            let mut recorded = false;
            while !recorded || ready.is_none() {
                tokio::select! {
                    () = shutdown.as_mut() => return Stopped::Shutdown,
                    result = &mut acknowledged, if !recorded => match result {
                        Ok(()) => {
                            recorded = true;
                            backoff.reset();
                        }
                        Err(error) => return Stopped::Failed(error),
                    },
                    next = source.next_batch(BATCH_SIZE), if ready.is_none() => match next.map(events) {
                        Ok(next) => ready = Some(next),
                        Err(error) => return Stopped::Failed(error.to_string()),
                    },
                }
                if recorded && ready.is_none() {
                    // Nothing new yet: wait for it in the outer loop.
                    break;
                }
            }
        }
    }

    /// Enqueues the whole batch in feed order; the futures resolve as the broker acknowledges. An event of a
    /// stream that belongs to no context has no topic: it parks its stream in the dead letters (before the
    /// checkpoint can pass it), later events of the stream are held back behind it, and the rest of the batch
    /// goes on.
    async fn enqueue(&self, batch: &[RecordedEvent]) -> Result<Vec<DeliveryFuture>, RelayError> {
        let mut streams: Vec<&str> = batch.iter().map(|event| event.stream_id.as_str()).collect();
        streams.sort_unstable();
        streams.dedup();
        let mut held: HashSet<String> = self.dead_letters.held_streams(&streams).await.map_err(store_error)?;
        let mut deliveries = Vec::with_capacity(batch.len());
        for event in batch {
            if held.contains(&event.stream_id) {
                self.dead_letters.park(event, None).await.map_err(store_error)?;
                continue;
            }
            match self.send(event).await? {
                Some(delivery) => deliveries.push(delivery),
                None => {
                    self.park(event).await?;
                    held.insert(event.stream_id.clone());
                }
            }
        }
        Ok(deliveries)
    }

    /// Publishes the held-back events of the streams an operator asked to retry, in order, each once the
    /// previous one is acknowledged; an event that still has no topic parks its stream again.
    async fn retry_when_asked(&self) -> Result<(), RelayError> {
        for stream_id in self.dead_letters.to_retry().await.map_err(store_error)? {
            for event in self.dead_letters.held_back(&stream_id).await.map_err(store_error)? {
                let Some(delivery) = self.send(&event).await? else {
                    let error = RelayError::Unrouted(event.stream_id.clone()).to_string();
                    tracing::error!(stream = %stream_id, position = event.position, "a retried event still has no topic");
                    self.dead_letters.park_again(&event, &error).await.map_err(store_error)?;
                    break;
                };
                acknowledged(vec![delivery]).await?;
                self.dead_letters.release(&event).await.map_err(store_error)?;
                tracing::info!(stream = %stream_id, position = event.position, "a held-back event was published");
            }
        }
        Ok(())
    }

    /// Enqueues `event` on its context's topic; `None` when its stream belongs to no context.
    async fn send(&self, event: &RecordedEvent) -> Result<Option<DeliveryFuture>, RelayError> {
        let Some(context) = Context::of_stream(&event.stream_id) else {
            return Ok(None);
        };
        let topic = context.topic(&self.settings.topic_prefix);
        // Consumers read every type at its current schema version.
        let event = event.upcast();
        let headers = wire::headers(&event)
            .iter()
            .fold(OwnedHeaders::new(), |headers, (key, value)| headers.insert(Header { key, value: Some(value) }));
        let mut record = FutureRecord::to(&topic).key(&event.stream_id).payload(&event.payload).headers(headers);
        loop {
            match self.producer.send_result(record) {
                Ok(delivery) => return Ok(Some(delivery)),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err((error, _)) => return Err(error.into()),
            }
        }
    }
}

fn store_error(error: event_store::ReadError) -> RelayError {
    RelayError::Store(error.to_string())
}

impl Relay {
    async fn park(&self, event: &RecordedEvent) -> Result<(), RelayError> {
        let error = RelayError::Unrouted(event.stream_id.clone()).to_string();
        tracing::error!(stream = %event.stream_id, position = event.position, "an event has no topic; its stream is parked");
        self.dead_letters.park(event, Some(&error)).await.map_err(store_error)
    }
}

/// Why relaying from a checkpoint ended.
enum Stopped {
    Shutdown,
    Failed(String),
}

/// Waits for every acknowledgement; the first failure ends the wait.
async fn acknowledged(deliveries: Vec<DeliveryFuture>) -> Result<(), RelayError> {
    for delivery in deliveries {
        match delivery.await {
            Ok(Ok(_)) => {}
            Ok(Err((error, _))) => return Err(error.into()),
            Err(_) => return Err(KafkaError::Canceled.into()),
        }
    }
    Ok(())
}

/// Sleeps before a retry, as long as `backoff` says; true if shutdown came first.
async fn wait_or_stop(shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>, backoff: &mut Backoff) -> bool {
    tokio::select! {
        () = shutdown.as_mut() => true,
        () = tokio::time::sleep(backoff.next_wait()) => false,
    }
}

/// The events of a batch the feed source read.
fn events(batch: Vec<SourcedEvent>) -> Vec<RecordedEvent> {
    batch.into_iter().map(|sourced| sourced.event).collect()
}
