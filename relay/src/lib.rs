//! The relay: tails the store's global feed and publishes every event, in feed order, to its context's Kafka
//! topic with an idempotent producer (`acks=all`), key = stream id, headers of `events::wire`. Its checkpoint
//! lives in PostgreSQL and moves only after the broker acknowledged every event up to it; after a failure it
//! starts again from the checkpoint, so an event may be published twice but never lost (consumers skip the
//! repeats by global position). Nothing is ever published from the request path.

use std::future::Future;
use std::time::Duration;

use database::Database;
use event_store::{FeedSubscription, checkpoint};
use events::{Context, RecordedEvent, wire};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use secrecy::{ExposeSecret, SecretString};

const BATCH_SIZE: i64 = 5000;
const RETRY_AFTER: Duration = Duration::from_secs(1);

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
}

/// Creates every context topic that does not exist yet, with infinite retention (analysts replay from Kafka).
pub async fn ensure_topics(settings: &KafkaSettings) -> Result<(), RelayError> {
    let admin: AdminClient<DefaultClientContext> = client_config(&settings.brokers, &settings.security).create()?;
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
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").field("name", &self.name).field("settings", &self.settings).finish()
    }
}

impl Relay {
    pub fn new(store: Database, settings: KafkaSettings) -> Result<Self, RelayError> {
        let producer = producer_config(&settings.brokers, &settings.security).create()?;
        Ok(Relay { store, producer, settings, name: "kafka".to_owned() })
    }

    /// The same relay under another checkpoint name (several relays over one store, e.g. in benchmarks).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Runs until `shutdown` completes. Whatever was not acknowledged is published again on the next start.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let start = match checkpoint::load_relay(&self.store, &self.name).await {
                Ok(position) => position,
                Err(error) => {
                    tracing::warn!(%error, "cannot read the relay checkpoint; retrying");
                    if wait_or_stop(&mut shutdown).await {
                        return;
                    }
                    continue;
                }
            };
            tracing::info!(position = start, "relay publishing from the checkpoint");
            match self.relay_from(start, &mut shutdown).await {
                Stopped::Shutdown => return,
                Stopped::Failed(error) => tracing::warn!(%error, "relaying failed; starting again from the checkpoint"),
            }
            if wait_or_stop(&mut shutdown).await {
                return;
            }
        }
    }

    /// Publishes batch after batch. While a batch's acknowledgements are awaited, the next batch is already
    /// being read from the store; it is enqueued only once the previous one is acknowledged and recorded.
    async fn relay_from(&self, start: i64, shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>) -> Stopped {
        let mut subscription = FeedSubscription::new(self.store.clone(), start);
        let mut ready: Option<Vec<RecordedEvent>> = None;
        loop {
            let batch = match ready.take() {
                Some(batch) => batch,
                None => tokio::select! {
                    () = shutdown.as_mut() => return Stopped::Shutdown,
                    batch = subscription.next_batch(BATCH_SIZE) => match batch {
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
                        Ok(()) => recorded = true,
                        Err(error) => return Stopped::Failed(error),
                    },
                    next = subscription.next_batch(BATCH_SIZE), if ready.is_none() => match next {
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
    /// stream that belongs to no context has no topic: it is parked in `relay_dead_letters` (before the
    /// checkpoint can pass it) and the rest of the batch goes on.
    async fn enqueue(&self, batch: &[RecordedEvent]) -> Result<Vec<DeliveryFuture>, RelayError> {
        let mut deliveries = Vec::with_capacity(batch.len());
        for event in batch {
            let Some(context) = Context::of_stream(&event.stream_id) else {
                self.park(event).await?;
                continue;
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
                    Ok(delivery) => {
                        deliveries.push(delivery);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                        record = returned;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err((error, _)) => return Err(error.into()),
                }
            }
        }
        Ok(deliveries)
    }
}

impl Relay {
    async fn park(&self, event: &RecordedEvent) -> Result<(), RelayError> {
        let error = RelayError::Unrouted(event.stream_id.clone()).to_string();
        tracing::error!(stream = %event.stream_id, position = event.position, "an event has no topic; its stream is parked");
        let client = self.store.pool().get().await.map_err(|e| RelayError::Store(e.to_string()))?;
        client
            .execute(
                "INSERT INTO relay_dead_letters (relay, position, stream_id, event_type, error) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (relay, position) DO NOTHING",
                &[&self.name, &event.position, &event.stream_id, &event.event_type, &error],
            )
            .await
            .map_err(|e| RelayError::Store(e.to_string()))?;
        Ok(())
    }
}

/// An event the relay parked: where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayDeadLetter {
    pub relay: String,
    pub position: i64,
    pub stream_id: String,
    pub event_type: String,
    pub error: String,
}

/// Every event a relay parked, in feed order.
pub async fn dead_letters(store: &Database) -> Result<Vec<RelayDeadLetter>, RelayError> {
    let client = store.pool().get().await.map_err(|e| RelayError::Store(e.to_string()))?;
    let rows = client
        .query("SELECT relay, position, stream_id, event_type, error FROM relay_dead_letters ORDER BY position", &[])
        .await
        .map_err(|e| RelayError::Store(e.to_string()))?;
    rows.iter()
        .map(|row| {
            Ok(RelayDeadLetter {
                relay: row.try_get(0)?,
                position: row.try_get(1)?,
                stream_id: row.try_get(2)?,
                event_type: row.try_get(3)?,
                error: row.try_get(4)?,
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(|e| RelayError::Store(e.to_string()))
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

/// Sleeps before a retry; true if shutdown came first.
async fn wait_or_stop(shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>) -> bool {
    tokio::select! {
        () = shutdown.as_mut() => true,
        () = tokio::time::sleep(RETRY_AFTER) => false,
    }
}
