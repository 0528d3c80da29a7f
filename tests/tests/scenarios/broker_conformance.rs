//! The broker's side of Kafka's contract, checked on whatever broker the tests run on: a Kafka scenario that
//! passes on a broker which loses records proves nothing. Kafka answers a fetch at offset n with the record
//! batch that contains n, and the client drops the records before n; a broker that answers only with batches
//! starting at or after n skips the rest of a batch silently (librdkafka accepts the jump). Consumers here
//! resume at "last handled offset + 1", which is very often inside a batch the relay wrote with `linger.ms`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio::io::AsyncBufReadExt;
use uuid::Uuid;

/// A topic of one partition of the test's own.
async fn topic(brokers: &str) -> String {
    let name = format!("conformance.{}", Uuid::now_v7().simple());
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", brokers).create().expect("an admin client");
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let created = admin.create_topics(&[NewTopic::new(&name, 1, TopicReplication::Fixed(1))], &options).await;
    for result in created.expect("the broker answers") {
        result.expect("the topic is created");
    }
    name
}

/// Produces `values` as one record batch: the producer lingers long enough to gather them all into one
/// produce request. Returns the offsets the broker gave them.
async fn produce_one_batch(brokers: &str, topic: &str, values: &[&str]) -> Vec<i64> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "500")
        .create()
        .expect("a producer");
    let deliveries: Vec<_> = values
        .iter()
        .map(|value| {
            let record = FutureRecord::to(topic).key("stream").payload(*value).partition(0);
            producer.send_result(record).expect("queued")
        })
        .collect();
    let mut offsets = Vec::new();
    for delivery in deliveries {
        let delivered = delivery.await.expect("delivered").expect("acknowledged");
        offsets.push(delivered.offset);
    }
    offsets
}

/// The records of partition 0 from `offset` on, as a consumer positioned there receives them: until `count`
/// records or 20 s.
async fn read_from(brokers: &str, topic: &str, offset: i64, count: usize) -> Vec<(i64, String)> {
    let (brokers, topic) = (brokers.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", format!("conformance-{}", Uuid::now_v7().simple()))
            .set("enable.auto.commit", "false")
            .create()
            .expect("a consumer");
        let mut positions = TopicPartitionList::new();
        positions.add_partition_offset(&topic, 0, Offset::Offset(offset)).expect("a position");
        consumer.assign(&positions).expect("assigned");
        receive(&consumer, count, Duration::from_secs(20))
    })
    .await
    .expect("the consumer ends")
}

/// Up to `count` records from `consumer`, within `within`.
fn receive(consumer: &BaseConsumer, count: usize, within: Duration) -> Vec<(i64, String)> {
    let deadline = Instant::now() + within;
    let mut received = Vec::new();
    while received.len() < count && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                let value = message.payload().map(|p| String::from_utf8_lossy(p).into_owned()).unwrap_or_default();
                received.push((message.offset(), value));
            }
            Some(Err(error)) => eprintln!("consumer error: {error}"),
            None => {}
        }
    }
    received
}

fn records(from: i64, values: &[&str]) -> Vec<(i64, String)> {
    (from..).zip(values.iter().map(|v| (*v).to_owned())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_at_offset_1_of_a_three_record_batch_receives_offset_1_first() {
    let brokers = &tests::kafka::broker().await.address;
    let topic = topic(brokers).await;
    assert_eq!(produce_one_batch(brokers, &topic, &["a", "b", "c"]).await, vec![0, 1, 2]);

    assert_eq!(read_from(brokers, &topic, 1, 2).await, records(1, &["b", "c"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_positioned_inside_the_last_batch_of_a_partition_receives_the_rest_of_it() {
    let brokers = &tests::kafka::broker().await.address;
    let topic = topic(brokers).await;
    assert_eq!(produce_one_batch(brokers, &topic, &["a", "b", "c"]).await, vec![0, 1, 2]);
    assert_eq!(produce_one_batch(brokers, &topic, &["d", "e", "f"]).await, vec![3, 4, 5]);

    assert_eq!(read_from(brokers, &topic, 4, 2).await, records(4, &["e", "f"]));
    // The same from the first batch's middle: the rest of it, then the next batch.
    assert_eq!(read_from(brokers, &topic, 2, 4).await, records(2, &["c", "d", "e", "f"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_member_killed_after_committing_a_mid_batch_offset_is_replaced_by_one_that_sees_every_later_record() {
    let brokers = &tests::kafka::broker().await.address;
    let topic = topic(brokers).await;
    produce_one_batch(brokers, &topic, &["a", "b", "c"]).await;
    produce_one_batch(brokers, &topic, &["d", "e", "f"]).await;
    let group = format!("conformance-{}", Uuid::now_v7().simple());

    // A foreign member takes the partition, commits offset 1 (inside the first batch), then is SIGKILLed.
    let script = tests::package_dir().join("python/group_member.py");
    let mut member = tokio::process::Command::new(tests::kafka::python())
        .arg(script)
        .args([brokers.as_str(), &topic, &group, "1", "60"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the group member starts");
    let mut lines = tokio::io::BufReader::new(member.stdout.take().expect("its output")).lines();
    let said = tokio::time::timeout(Duration::from_secs(40), lines.next_line()).await;
    assert_eq!(said.expect("the member commits in time").expect("its output").as_deref(), Some("committed 1"));
    member.kill().await.expect("SIGKILL");

    // Its replacement joins the same group, waits out the dead member's session, and resumes at offset 1.
    let (brokers, topic) = (brokers.clone(), topic.clone());
    let received = tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "6000")
            .create()
            .expect("a consumer");
        consumer.subscribe(&[&topic]).expect("subscribed");
        receive(&consumer, 5, Duration::from_secs(45))
    })
    .await
    .expect("the replacement ends");
    assert_eq!(received, records(1, &["b", "c", "d", "e", "f"]));
}
