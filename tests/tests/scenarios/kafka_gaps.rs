//! A gap is an alarm, never a skip: the projector's position in a partition is moved past a record it never
//! applied (as a broker that drops a record, or a consumer positioned past it, would leave it). The next
//! record of that stream skips a version; the projector says so (ERROR, `subscription_gaps`), reads the
//! missing event from the store and applies both in order, so the read models equal a rebuild.

use std::time::Duration;

use events::Role;
use tests::TestApp;
use tests::app::Mode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_the_projector_was_positioned_past_is_read_from_the_store_and_the_gap_is_reported() {
    let mut app = TestApp::start_kafka().await;
    let (_, token) = app.user(Role::Instructor);
    let created = app.create_course(&token, "Lost in transport").await;
    let course_id = created.id();
    app.wait_until_projected().await;

    app.stop_projector().await;
    let published = app.post(&format!("/api/v1/courses/{course_id}/publish"), &token, None).await;
    assert_eq!(published.status, 200);
    let section = serde_json::json!({ "title": "After the lost one" });
    let added = app.post(&format!("/api/v1/courses/{course_id}/sections"), &token, Some(&section)).await;
    assert_eq!(added.status, 201);
    let head = app.event_count().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while app.database.count("SELECT COALESCE(max(position), 0) FROM relay_checkpoints").await < head {
        assert!(tokio::time::Instant::now() < deadline, "the relay did not publish in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Where the publication (version 2) was written, as any consumer reads it.
    let Mode::Kafka { brokers, topic_prefix, .. } = &app.mode else { unreachable!("started in Kafka mode") };
    let records = tests::kafka::read_topics_foreign(brokers, topic_prefix, head).await;
    let stream = format!("course-{course_id}");
    let lost = records
        .iter()
        .find(|record| record["key"] == stream.as_str() && record["headers"]["stream_version"] == "2")
        .expect("the publication is on its topic");
    let (topic, partition, offset) = (
        lost["topic"].as_str().expect("a topic"),
        lost["partition"].as_i64().expect("a partition"),
        lost["offset"].as_i64().expect("an offset"),
    );
    // The projector is positioned past it: as far as its checkpoint says, it was handled.
    let client = app.database.client().await;
    let moved = client
        .execute(
            "UPDATE projector_partition_checkpoints SET kafka_offset = $3 WHERE topic = $1 AND partition = $2",
            &[&topic, &(partition as i32), &offset],
        )
        .await
        .expect("the checkpoint moves");
    assert_eq!(moved, 1);

    app.start_projector().await;
    app.wait_until_projected().await;
    let page = app.get(&format!("/api/v1/courses/{course_id}"), Some(&added.token())).await;
    assert_eq!(page.header("x-consistency"), Some("fresh"));
    assert_eq!(page.body["data"]["status"], "published", "the lost publication was read from the store");
    let reported = app
        .database
        .count(&format!(
            "SELECT count(*) FROM subscription_gaps WHERE subscriber = 'projector' AND stream_id = '{stream}' \
             AND first_missing = 2 AND last_missing = 2 AND read_from_store = 1 AND kafka_offset > {offset}"
        ))
        .await;
    assert_eq!(reported, 1, "the gap is reported where operators look");
    let rebuilt = app.rebuild().await;
    assert_eq!(TestApp::catalogue(&app.database).await, TestApp::catalogue(&rebuilt).await);
}
