//! The event store against a real PostgreSQL: reading back, group commit, positions, idempotency records.

use std::collections::HashMap;

use event_store::{AppendError, AppendOutcome, AppendRequest, ExpectedVersion, IdempotencyRecord, PgEventStore};
use events::{Actor, CoursePublished, Event, Metadata, NewEvent, Role};
use tests::test_database;
use uuid::Uuid;

fn event_with(metadata: Metadata) -> (Event, NewEvent) {
    let event = Event::CoursePublished(CoursePublished { course_id: Uuid::now_v7() });
    let new = NewEvent::new(&event, metadata, time::OffsetDateTime::now_utc());
    (event, new)
}

#[tokio::test]
async fn appended_events_read_back_whole_and_in_order() {
    let database = test_database().await;
    let store = PgEventStore::start(database.connect(2));
    let metadata = Metadata {
        correlation_id: Some(Uuid::now_v7()),
        causation_id: None,
        actor: Some(Actor { user_id: Uuid::now_v7(), role: Role::Instructor }),
    };
    let (first_event, first) = event_with(metadata.clone());
    let (second_event, second) = event_with(metadata.clone());
    let request = AppendRequest {
        stream_id: "course-x".into(),
        expected: ExpectedVersion::NoStream,
        events: vec![first.clone(), second.clone()],
        idempotency: None,
        side_writes: Vec::new(),
        guards: Vec::new(),
    };
    let Ok(AppendOutcome::Appended(appended)) = store.append(request).await else { panic!("append failed") };
    assert_eq!((appended.stream_version, appended.first_position, appended.last_position), (2, 1, 2));

    let stream = store.read_stream("course-x").await.expect("readable");
    assert_eq!(stream.len(), 2);
    assert_eq!(stream[0].event_id, first.event_id);
    assert_eq!(stream[0].metadata, metadata);
    assert_eq!(stream[0].decode().expect("decodes"), first_event);
    assert_eq!(stream[1].decode().expect("decodes"), second_event);
    assert_eq!(stream[1].stream_version, 2);
    assert_eq!(store.read_feed(1, 10).await.expect("feed").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_to_many_streams_get_gapless_positions_in_stream_order() {
    let database = test_database().await;
    let store = PgEventStore::start(database.connect(2));
    let outcomes = futures_util::future::join_all((0..400).map(|n| {
        let store = store.clone();
        async move {
            let stream_id = format!("s-{}", n % 20);
            store
                .append(AppendRequest {
                    stream_id,
                    expected: ExpectedVersion::Any,
                    events: vec![event_with(Metadata::default()).1],
                    idempotency: None,
                    side_writes: Vec::new(),
                    guards: Vec::new(),
                })
                .await
        }
    }))
    .await;
    assert!(outcomes.iter().all(Result::is_ok));
    let feed = store.read_feed(0, 1000).await.expect("feed");
    let positions: Vec<i64> = feed.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=400).collect::<Vec<_>>());
    let mut last_version: HashMap<&str, i64> = HashMap::new();
    for event in &feed {
        let previous = last_version.insert(&event.stream_id, event.stream_version).unwrap_or(0);
        assert_eq!(event.stream_version, previous + 1, "stream {} out of order in the feed", event.stream_id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_busy_batch_a_conflict_fails_only_its_own_command() {
    let database = test_database().await;
    let store = PgEventStore::start(database.connect(2));
    let outcomes = futures_util::future::join_all((0..60).map(|n| {
        let store = store.clone();
        async move {
            // Every third command expects a version its stream never had.
            let expected = if n % 3 == 0 { ExpectedVersion::Exact(7) } else { ExpectedVersion::NoStream };
            store
                .append(AppendRequest {
                    stream_id: format!("b-{n}"),
                    expected,
                    events: vec![event_with(Metadata::default()).1],
                    idempotency: None,
                    side_writes: Vec::new(),
                    guards: Vec::new(),
                })
                .await
        }
    }))
    .await;
    for (n, outcome) in outcomes.iter().enumerate() {
        if n % 3 == 0 {
            assert!(matches!(outcome, Err(AppendError::Conflict { actual: 0, .. })), "{n}: {outcome:?}");
        } else {
            assert!(outcome.is_ok(), "{n}: {outcome:?}");
        }
    }
    assert_eq!(database.count("SELECT count(*) FROM events").await, 40);
}

#[tokio::test]
async fn an_idempotency_record_is_stored_with_its_events_and_replayed() {
    let database = test_database().await;
    let store = PgEventStore::start(database.connect(2));
    let record = IdempotencyRecord {
        scope: "u".into(),
        key: "k".into(),
        request_hash: "h".into(),
        status: 201,
        response: serde_json::json!({ "id": 1 }),
    };
    let request = |record: IdempotencyRecord| AppendRequest {
        stream_id: "i".into(),
        expected: ExpectedVersion::Any,
        events: vec![event_with(Metadata::default()).1],
        idempotency: Some(record),
        side_writes: Vec::new(),
        guards: Vec::new(),
    };
    assert!(matches!(store.append(request(record.clone())).await, Ok(AppendOutcome::Appended(_))));
    let Ok(AppendOutcome::Replayed(answer)) = store.append(request(record.clone())).await else {
        panic!("not replayed")
    };
    assert_eq!((answer.status, answer.last_position, answer.stream_version), (201, 1, 1));
    assert_eq!(answer.response, serde_json::json!({ "id": 1 }));
    let reused = store.append(request(IdempotencyRecord { request_hash: "other".into(), ..record })).await;
    assert!(matches!(reused, Err(AppendError::IdempotencyKeyReused)));
    assert_eq!(database.count("SELECT count(*) FROM events").await, 1);
    assert!(store.find_answer("u", "k").await.expect("readable").is_some());
}

#[tokio::test]
async fn an_empty_append_is_refused_before_it_reaches_the_database() {
    let database = test_database().await;
    let store = PgEventStore::start(database.connect(1));
    let empty = AppendRequest {
        stream_id: "e".into(),
        expected: ExpectedVersion::Any,
        events: vec![],
        idempotency: None,
        side_writes: Vec::new(),
        guards: Vec::new(),
    };
    assert!(matches!(store.append(empty).await, Err(AppendError::Empty)));
}
