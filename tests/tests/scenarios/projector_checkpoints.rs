//! The projector's checkpoints decide what a batch may apply: redelivered Kafka records (same offsets) and
//! events a relay restart republished (new offsets, old positions) change nothing, also inside one batch.

use events::{CourseCreated, CourseLevel, Event, Metadata, RecordedEvent};
use projector::{Projector, READ_MODELS};
use subscriptions::{Origin, SourcedEvent};
use tests::test_database;
use uuid::Uuid;

fn created(position: i64) -> RecordedEvent {
    let course_id = Uuid::now_v7();
    let event = Event::CourseCreated(CourseCreated {
        course_id,
        instructor_id: Uuid::now_v7(),
        title: format!("Course at {position}"),
        summary: "s".into(),
        category: "Database".into(),
        subcategories: vec![],
        level: CourseLevel::Advanced,
        language: "English".into(),
        base_price_cents: 100,
        description: String::new(),
        preview_video_url: None,
        outline: Vec::new(),
        keywords: Vec::new(),
        captions: Vec::new(),
    });
    RecordedEvent {
        position,
        stream_id: format!("course-{course_id}"),
        stream_version: 1,
        event_id: Uuid::now_v7(),
        event_type: event.event_type().into(),
        schema_version: 1,
        payload: event.encode(),
        metadata: Metadata::default(),
        occurred_at: time::OffsetDateTime::now_utc(),
        recorded_at: time::OffsetDateTime::now_utc(),
    }
}

fn at(event: &RecordedEvent, partition: i32, offset: i64) -> SourcedEvent {
    SourcedEvent { event: event.clone(), origin: Origin::Kafka { topic: "t".into(), partition, offset } }
}

#[tokio::test]
async fn redelivered_and_republished_records_apply_once() {
    let database = test_database().await;
    let projector = Projector::new(database.connect(2), READ_MODELS, keyring(&database));
    let (a, b, c) = (created(1), created(2), created(3));

    assert_eq!(projector.apply(&[at(&a, 0, 0), at(&b, 1, 0)]).await.expect("applies"), 2);
    // The same records again (a consumer resumed from an older committed offset).
    assert_eq!(projector.apply(&[at(&a, 0, 0), at(&b, 1, 0)]).await.expect("applies"), 0);
    // The relay restarted and published `a` again under a new offset, then `c`; within this one batch.
    assert_eq!(projector.apply(&[at(&a, 0, 1), at(&c, 0, 2), at(&c, 0, 3)]).await.expect("applies"), 1);
    assert_eq!(database.count("SELECT count(*) FROM catalog_course").await, 3);
    assert_eq!(database.count("SELECT kafka_offset FROM projector_partition_checkpoints WHERE partition = 0").await, 3);
    assert_eq!(database.count("SELECT max(version) FROM projected_stream_versions").await, 1);
}

#[tokio::test]
async fn events_of_different_streams_arriving_out_of_position_order_in_one_partition_are_all_applied() {
    let database = test_database().await;
    let projector = Projector::new(database.connect(2), READ_MODELS, keyring(&database));
    let (a, b, c) = (created(1), created(2), created(3));
    // A broker that reorders a retried produce request within a partition: positions 3, 1, 2.
    assert_eq!(projector.apply(&[at(&c, 0, 0)]).await.expect("applies"), 1);
    assert_eq!(projector.apply(&[at(&a, 0, 1), at(&b, 0, 2)]).await.expect("applies"), 2);
    assert_eq!(database.count("SELECT count(*) FROM catalog_course").await, 3);
}

#[tokio::test]
async fn a_feed_batch_already_covered_by_the_checkpoint_changes_nothing() {
    let database = test_database().await;
    let projector = Projector::new(database.connect(2), READ_MODELS, keyring(&database));
    let events: Vec<SourcedEvent> = (1..=3).map(|p| SourcedEvent { event: created(p), origin: Origin::Feed }).collect();
    assert_eq!(projector.apply(&events).await.expect("applies"), 3);
    // A second projector process that read the same feed batch a moment later.
    let other = Projector::new(database.connect(2), READ_MODELS, keyring(&database));
    assert_eq!(other.apply(&events).await.expect("applies"), 0);
    assert_eq!(projector.checkpoint().await.expect("readable"), 3);
}

/// People's keys in `database`, under a key of this test's own.
fn keyring(database: &tests::TestDatabase) -> event_store::keys::KeyRing {
    let data_key = std::sync::Arc::new(event_store::keys::DataKey::random());
    event_store::keys::KeyRing::new(database.connect(1), data_key)
}
