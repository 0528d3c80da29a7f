//! Topics cannot move money (ARCHITECTURE.md, invariant 29): someone who can write to the topics (a foreign
//! producer, Python confluent-kafka) forges well-formed Learnlog records that would enrol a trainee and credit
//! a wallet, alters a real event, and writes a record that is no event at all. The projector and the sagas,
//! both on Kafka, confirm every record in the store: nothing changes, and every forged record is kept in
//! `rejected_records` under each subscriber, with the reason, for operators.

use std::time::Duration;

use events::{Context, Metadata, RecordedEvent, wire};
use serde_json::{Value, json};
use tests::TestApp;
use tests::app::Mode;
use time::OffsetDateTime;
use uuid::Uuid;

use super::certificates::{course, trainee_named};
use super::commerce::{add_to_cart, credit, get_as};

/// A record as a forger writes it: the wire format of `event`, on its context's topic.
fn record(topic_prefix: &str, event: &RecordedEvent) -> Value {
    let context = Context::of_stream(&event.stream_id).expect("a routed stream");
    let headers: Vec<(&str, String)> = wire::headers(event);
    json!({ "topic": context.topic(topic_prefix), "key": event.stream_id, "headers": headers, "value": event.payload })
}

/// A well-formed event the store never recorded.
fn forged(stream_id: String, stream_version: i64, position: i64, event_type: &str, payload: Value) -> RecordedEvent {
    RecordedEvent {
        position,
        stream_id,
        stream_version,
        event_id: Uuid::now_v7(),
        event_type: event_type.to_owned(),
        schema_version: if event_type == "OrderPaid" { 2 } else { 1 },
        payload: payload.to_string(),
        metadata: Metadata { correlation_id: Some(Uuid::now_v7()), causation_id: None, actor: None },
        occurred_at: OffsetDateTime::now_utc(),
        recorded_at: OffsetDateTime::now_utc(),
    }
}

async fn produce(brokers: &str, records: &[Value]) {
    let script = tests::package_dir().join("python/produce_records.py");
    let input: String = records.iter().map(|r| format!("{r}\n")).collect();
    let mut child = tokio::process::Command::new(tests::kafka::python())
        .arg(script)
        .arg(brokers)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("the foreign producer starts");
    let mut stdin = child.stdin.take().expect("its input");
    tokio::io::AsyncWriteExt::write_all(&mut stdin, input.as_bytes()).await.expect("records written");
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait()).await.expect("in time").expect("waited");
    assert!(status.success(), "the foreign producer delivered every record");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_forged_into_the_topics_enrol_no_one_credit_nothing_and_are_refused_by_name() {
    let app = TestApp::start_kafka().await;
    let _sagas = app.start_sagas();
    let (_, instructor) = app.instructor("grace", "Grace Hopper").await;
    let bought = course(&app, &instructor, "Compilers", 2, false).await;
    let (trainee_id, token) = trainee_named(&app, "ada", "Ada Lovelace").await;
    credit(&app, trainee_id, 100).await;
    assert_eq!(add_to_cart(&app, &token, bought.id).await.status, 201);
    let placed = app.post("/api/v1/orders", &token, Some(&json!({ "method": "card", "country": "US" }))).await;
    assert_eq!(placed.status, 201, "{:?}", placed.body);
    let order_id = placed.id();
    app.wait_until_projected().await;

    let Mode::Kafka { brokers, topic_prefix, .. } = &app.mode else { unreachable!("started in Kafka mode") };
    let head = app.database.count("SELECT max(position) FROM events").await;
    let order_version = app
        .database
        .count(&format!("SELECT max(stream_version) FROM events WHERE stream_id = 'order-{order_id}'"))
        .await;
    let (trainee, course_id) = (trainee_id, bought.id);
    let forgeries = [
        // The trainee's own unpaid card order, "paid".
        forged(
            format!("order-{order_id}"),
            order_version + 1,
            head + 1,
            "OrderPaid",
            json!({ "order_id": order_id, "trainee_id": trainee, "method": "card", "amount_cents": 1999,
                    "currency": "USD", "payment_reference": "pi_forged" }),
        ),
        forged(
            format!("order-{order_id}"),
            order_version + 2,
            head + 2,
            "OrderLineRefunded",
            json!({ "order_id": order_id, "trainee_id": trainee, "course_id": course_id, "amount_cents": 1999 }),
        ),
        forged(
            format!("enrollment-{trainee}-{course_id}"),
            5,
            head + 3,
            "RefundApproved",
            json!({ "refund_id": Uuid::now_v7(), "trainee_id": trainee, "course_id": course_id, "order_id": order_id,
                    "paid_cents": 1999, "refund_cents": 1999 }),
        ),
        forged(
            format!("access-{trainee}-{course_id}"),
            2,
            head + 4,
            "CourseAccessRequestChanged",
            json!({ "request_id": Uuid::now_v7(), "trainee_id": trainee, "course_id": course_id, "status": "resolved" }),
        ),
    ];
    // A real event, altered: the course's creation with another title.
    let mut altered = event_store::read_stream(&app.store, &format!("course-{course_id}"))
        .await
        .expect("the course's stream")
        .remove(0);
    altered.payload = altered.payload.replace("Compilers", "Forged");
    let mut records: Vec<Value> = forgeries.iter().map(|event| record(topic_prefix, event)).collect();
    records.push(record(topic_prefix, &altered));
    // And a record that is no Learnlog event at all.
    records.push(json!({ "topic": Context::Commerce.topic(topic_prefix), "key": format!("wallet-{trainee}"),
                         "headers": [], "value": "{\"balance_cents\": 1000000}" }));
    produce(brokers, &records).await;

    // Both subscribers refuse all six, each once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let counts = (
            app.database.count("SELECT count(*) FROM rejected_records WHERE subscriber = 'projector'").await,
            app.database.count("SELECT count(*) FROM rejected_records WHERE subscriber = 'sagas'").await,
        );
        if counts == (6, 6) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "refused so far (projector, sagas): {counts:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for event in &forgeries {
        let named = app
            .database
            .count(&format!(
                "SELECT count(*) FROM rejected_records WHERE event_id = '{}' AND event_type = '{}' \
                 AND reason = 'the event store holds no event with this id'",
                event.event_id, event.event_type
            ))
            .await;
        assert_eq!(named, 2, "{} is refused by name by the projector and the sagas", event.event_type);
    }
    let altered_refused = app
        .database
        .count(&format!(
            "SELECT count(*) FROM rejected_records WHERE event_id = '{}' \
             AND reason = 'the event store holds this id with another payload'",
            altered.event_id
        ))
        .await;
    assert_eq!(altered_refused, 2);
    let unreadable =
        app.database.count("SELECT count(*) FROM rejected_records WHERE reason LIKE 'not a Learnlog event:%'").await;
    assert_eq!(unreadable, 2);

    // Nothing moved: a real write after the forgeries is read fresh, and once the sagas and the projector have
    // handled all the store holds (what the sagas appended too), nothing was enrolled, credited, paid or renamed.
    let created = app.create_course(&instructor, "After the forgeries").await;
    let fresh = app.get(&format!("/api/v1/courses/{}", created.id()), Some(&created.token())).await;
    assert_eq!(fresh.header("x-consistency"), Some("fresh"));
    app.wait_until_caught_up().await;
    let enrolments = get_as(&app, "/api/v1/me/enrollments", &token).await;
    assert_eq!(enrolments.body["total_results"], 0, "{:?}", enrolments.body);
    let wallet = get_as(&app, "/api/v1/me/wallet", &token).await;
    assert_eq!(wallet.body["balance"]["amount_cents"], 100, "{:?}", wallet.body);
    let order = get_as(&app, &format!("/api/v1/me/orders/{order_id}"), &token).await;
    assert_eq!(order.body["data"]["status"], "awaiting_payment", "{:?}", order.body);
    let page = app.get(&format!("/api/v1/courses/{course_id}"), None).await;
    assert_eq!(page.body["data"]["title"], "Compilers");
    let stored = app.database.count(&format!("SELECT count(*) FROM events WHERE position > {head}")).await;
    assert_eq!(stored, 1, "only the real course was recorded after the forgeries");

    app.wait_until_projected().await;
    let rebuilt = app.rebuild().await;
    assert_eq!(TestApp::catalogue(&app.database).await, TestApp::catalogue(&rebuilt).await);
}
