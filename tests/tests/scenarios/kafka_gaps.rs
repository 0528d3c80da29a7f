//! A gap is an alarm, never a skip: a subscriber's position in a partition is moved past a record it never
//! handled (as a broker that drops a record, or a consumer positioned past it, would leave it). The next
//! record of that stream skips a version; the subscriber says so (ERROR, `subscription_gaps`), reads the
//! missing event from the store and handles both in order: the projector's read models equal a rebuild, the
//! sagas act on the lost event.

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
    let head = app.wait_until_relayed().await;

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

/// The sagas' checkpoint is moved past a course's retirement, as a broker that dropped it would leave them.
/// The course's deletion then skips a version: the sagas read the retirement from the store, handle it first
/// (it takes the course out of a trainee's cart), and report the gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retirement_the_sagas_were_positioned_past_is_read_from_the_store_and_handled() {
    let app = TestApp::start_kafka().await;
    let sagas = app.start_sagas();
    let (_, instructor) = app.instructor("grace", "Grace Hopper").await;
    let created = app.create_course(&instructor, "Retired in transit").await;
    let course_id = created.id();
    let stream = format!("course-{course_id}");
    assert_eq!(app.post(&format!("/api/v1/courses/{course_id}/publish"), &instructor, None).await.status, 200);
    let (_, trainee) = super::commerce::trainee(&app, "ada").await;
    assert_eq!(super::commerce::add_to_cart(&app, &trainee, course_id).await.status, 201);
    let handled = format!("SELECT COALESCE(max(version), 0) FROM saga_stream_versions WHERE stream_id = '{stream}'");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while app.database.count(&handled).await < 2 {
        assert!(tokio::time::Instant::now() < deadline, "the sagas did not handle the publication");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = sagas.send(true);

    let retired = app.post(&format!("/api/v1/courses/{course_id}/retire"), &instructor, None).await;
    assert_eq!(retired.status, 200, "{:?}", retired.body);
    let deleted = app.call(reqwest::Method::DELETE, &format!("/api/v1/courses/{course_id}"), &instructor, None).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    let head = app.wait_until_relayed().await;
    let Mode::Kafka { brokers, topic_prefix, .. } = &app.mode else { unreachable!("Kafka mode") };
    let records = tests::kafka::read_topics_foreign(brokers, topic_prefix, head).await;
    let retirement = records
        .iter()
        .find(|record| record["key"] == stream.as_str() && record["headers"]["stream_version"] == "3")
        .expect("the retirement is on its topic");
    let retirement_id = retirement["headers"]["event_id"].as_str().expect("an event id").to_owned();

    // The sagas' checkpoint in the retirement's partition is moved past it, once their consumer has left.
    let moved = app
        .database
        .client()
        .await
        .execute(
            "UPDATE saga_partition_checkpoints SET kafka_offset = $3 WHERE topic = $1 AND partition = $2",
            &[
                &retirement["topic"].as_str().expect("a topic"),
                &i32::try_from(retirement["partition"].as_i64().expect("a partition")).expect("small"),
                &retirement["offset"].as_i64().expect("an offset"),
            ],
        )
        .await
        .expect("the checkpoint moves");
    assert_eq!(moved, 1, "the sagas keep a checkpoint in the partition they handled the publication from");

    let _sagas = app.start_sagas();
    let caused = format!("SELECT count(*) FROM events WHERE metadata::json->>'causation_id' = '{retirement_id}'");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while app.database.count(&caused).await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the retirement was never handled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reported = app
        .database
        .count(&format!(
            "SELECT count(*) FROM subscription_gaps WHERE subscriber = 'sagas' AND stream_id = '{stream}' \
             AND first_missing = 3 AND last_missing = 3 AND read_from_store = 1"
        ))
        .await;
    assert_eq!(reported, 1, "the gap is reported where operators look");
}
