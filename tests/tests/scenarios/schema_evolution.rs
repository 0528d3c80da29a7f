//! Schema evolution end to end: an `OrderPaid` of schema version 1 (before it named its currency) stays in
//! the store as it was written, and every reader outside the store gets version 2: the analysts' feed, a
//! foreign Kafka consumer reading the topics from offset 0, and the exports.

use event_store::{AppendRequest, ExpectedVersion, PgEventStore};
use events::{Metadata, NewEvent, Role};
use serde_json::json;
use tests::TestApp;
use tests::app::Mode;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_event_in_the_store_reads_as_version_2_on_the_feed_on_kafka_and_in_exports() {
    let app = TestApp::start_kafka().await;
    let order_id = Uuid::now_v7();
    let v1 = json!({ "order_id": order_id, "trainee_id": Uuid::now_v7(), "method": "wallet", "amount_cents": 1999,
                     "payment_reference": null });
    let appended = PgEventStore::start(app.store.clone())
        .append(AppendRequest {
            stream_id: events::stream::order_stream(order_id),
            expected: ExpectedVersion::NoStream,
            events: vec![NewEvent {
                event_id: Uuid::now_v7(),
                event_type: "OrderPaid",
                schema_version: 1,
                payload: v1.to_string(),
                metadata: Metadata::default(),
                occurred_at: time::OffsetDateTime::now_utc(),
            }],
            idempotency: None,
            side_writes: Vec::new(),
            guards: Vec::new(),
        })
        .await;
    assert!(appended.is_ok(), "{appended:?}");
    app.wait_until_projected().await;
    let stored =
        app.database.count("SELECT count(*) FROM events WHERE event_type = 'OrderPaid' AND schema_version = 1");
    assert_eq!(stored.await, 1, "the store keeps what was written");

    // The analysts' feed.
    let (_, analyst) = app.user(Role::Analyst);
    let feed = app.call(reqwest::Method::GET, "/api/v1/events?types=OrderPaid", &analyst, None).await;
    assert_eq!(feed.status, 200);
    let line: serde_json::Value = serde_json::from_str(feed.body.as_str().expect("NDJSON").trim()).expect("a line");
    assert_eq!((line["schema_version"].as_i64(), line["payload"]["currency"].as_str()), (Some(2), Some("USD")));
    assert_eq!(line["payload"]["amount_cents"], 1999);

    // A consumer that is not ours, from offset 0.
    let events = app.event_count().await;
    let Mode::Kafka { brokers, topic_prefix, .. } = &app.mode else { unreachable!("started in Kafka mode") };
    let records = tests::kafka::read_topics_foreign(brokers, topic_prefix, events).await;
    let paid = records.iter().find(|record| record["headers"]["event_type"] == "OrderPaid").expect("on its topic");
    assert_eq!(paid["headers"]["schema_version"], "2", "{paid}");
    assert_eq!(paid["value"]["currency"], "USD", "{paid}");
    assert_eq!(paid["value"]["order_id"], order_id.to_string());

    // The exports: the NDJSON line, and the Parquet file's typed columns.
    let out = std::env::temp_dir().join(format!("learnlog-evolution-{}", Uuid::now_v7()));
    for format in [export::Format::Ndjson, export::Format::Csv] {
        let dir = out.join(format!("{format:?}"));
        let options = export::ExportOptions {
            format,
            out: dir.clone(),
            after: None,
            until: None,
            before: None,
            types: vec!["OrderPaid".into()],
        };
        let run = export::export(&app.store, &options, &mut |_| {}).await.expect("exports");
        let text = std::fs::read_to_string(dir.join(&run.files["OrderPaid"].path)).expect("the file");
        match format {
            export::Format::Ndjson => {
                let line: serde_json::Value = serde_json::from_str(text.trim()).expect("a line");
                assert_eq!(
                    (line["schema_version"].as_i64(), line["payload"]["currency"].as_str()),
                    (Some(2), Some("USD"))
                );
            }
            _ => {
                let mut lines = text.lines();
                let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
                let row: Vec<&str> = lines.next().expect("a row").split(',').collect();
                let cell = |name: &str| row[header.iter().position(|h| *h == name).expect("a column")];
                assert_eq!((cell("schema_version"), cell("currency"), cell("amount_cents")), ("2", "USD", "1999"));
            }
        }
    }
    let _ = std::fs::remove_dir_all(out);
}
