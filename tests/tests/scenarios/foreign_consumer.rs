//! Analysts consume the topics with their own tools: a Python confluent-kafka consumer reading from offset 0
//! sees every event, each stream in version order, with the documented headers.

use std::collections::{HashMap, HashSet};

use events::Role;
use tests::TestApp;
use tests::app::Mode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_consumer_reads_every_event_in_stream_order_with_the_documented_headers() {
    let app = TestApp::start_kafka().await;
    let (_, token) = app.user(Role::Instructor);
    for n in 0..25 {
        let created = app.create_course(&token, &format!("Course {n}")).await;
        if n % 3 != 0 {
            app.post(&format!("/api/v1/courses/{}/publish", created.id()), &token, None).await;
        }
    }
    app.wait_until_projected().await;
    let events = app.event_count().await;
    let Mode::Kafka { brokers, topic_prefix, .. } = &app.mode else { unreachable!("started in Kafka mode") };

    let records = tests::kafka::read_topics_foreign(brokers, topic_prefix, events).await;

    let ids: HashSet<&str> = records.iter().filter_map(|r| r["headers"]["event_id"].as_str()).collect();
    assert_eq!(ids.len() as i64, events, "every event exactly once");
    let mut by_stream: HashMap<&str, Vec<(i64, i64, i64)>> = HashMap::new();
    for record in &records {
        let headers = &record["headers"];
        for name in [
            "event_id",
            "position",
            "event_type",
            "schema_version",
            "stream_version",
            "correlation_id",
            "occurred_at",
            "recorded_at",
            "metadata",
        ] {
            assert!(headers[name].is_string(), "header {name} missing in {record}");
        }
        let number = |name: &str| headers[name].as_str().and_then(|v| v.parse::<i64>().ok()).expect("a number");
        let key = record["key"].as_str().expect("a key");
        assert!(record["topic"].as_str().is_some_and(|t| t.ends_with("learnlog.catalog.events.v1")));
        assert!(record["value"]["course_id"].is_string(), "the value is the stored payload");
        by_stream.entry(key).or_default().push((
            record["offset"].as_i64().expect("offset"),
            number("stream_version"),
            number("position"),
        ));
    }
    for (stream, mut records) in by_stream {
        records.sort();
        let versions: Vec<i64> = records.iter().map(|r| r.1).collect();
        assert_eq!(versions, (1..=versions.len() as i64).collect::<Vec<_>>(), "stream {stream} out of order");
        assert!(records.windows(2).all(|pair| pair[0].2 < pair[1].2), "positions of {stream} go backwards");
    }
}
