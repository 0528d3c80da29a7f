//! Optimistic concurrency under contention: exactly one of many racing writers wins, the rest are told so,
//! and the stream's versions have no hole.

use event_store::{AppendError, AppendRequest, ExpectedVersion, PgEventStore};
use events::{CoursePublished, Event, Metadata, NewEvent, Role};
use tests::{TestApp, test_database};

fn published_event() -> NewEvent {
    let event = Event::CoursePublished(CoursePublished { course_id: uuid::Uuid::now_v7() });
    NewEvent::new(&event, Metadata::default(), time::OffsetDateTime::now_utc())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_publishes_with_the_same_version_let_exactly_one_win() {
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    let course = app.create_course(&token, "Raced").await.id();
    let path = format!("/api/v1/courses/{course}/publish");
    let answers = futures_util::future::join_all((0..50).map(|_| {
        let request = app.http.post(app.url(&path)).bearer_auth(&token).header("if-match", "\"1\"");
        app.send(request, None)
    }))
    .await;
    let won = answers.iter().filter(|a| a.status == 200).count();
    let lost = answers.iter().filter(|a| a.status == 409 && a.body["code"] == "conflict").count();
    assert_eq!((won, lost), (1, 49), "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());

    let versions: Vec<i64> = app
        .database
        .client()
        .await
        .query(
            "SELECT stream_version FROM events WHERE stream_id = $1 ORDER BY stream_version",
            &[&format!("course-{course}")],
        )
        .await
        .expect("stream readable")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, [1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_appends_with_the_same_expected_version_let_exactly_one_win() {
    let database = test_database().await;
    let store = PgEventStore::start(database.connect(4));
    let first = AppendRequest {
        stream_id: "s".into(),
        expected: ExpectedVersion::NoStream,
        events: vec![published_event()],
        idempotency: None,
        side_writes: Vec::new(),
        guards: Vec::new(),
    };
    store.append(first).await.expect("first append");

    let outcomes = futures_util::future::join_all((0..50).map(|_| {
        let request = AppendRequest {
            stream_id: "s".into(),
            expected: ExpectedVersion::Exact(1),
            events: vec![published_event(), published_event()],
            idempotency: None,
            side_writes: Vec::new(),
            guards: Vec::new(),
        };
        store.append(request)
    }))
    .await;
    let won = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    let conflicts =
        outcomes.iter().filter(|outcome| matches!(outcome, Err(AppendError::Conflict { actual: 3, .. }))).count();
    assert_eq!((won, conflicts), (1, 49));

    let versions: Vec<i64> = store.read_stream("s").await.expect("readable").iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, [1, 2, 3]);
    assert_eq!(database.count("SELECT count(*) - max(position) FROM events").await, 0, "positions are gapless");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_creators_of_one_new_stream_let_exactly_one_win() {
    let database = test_database().await;
    let store = PgEventStore::start(database.connect(4));
    let outcomes = futures_util::future::join_all((0..50).map(|_| {
        store.append(AppendRequest {
            stream_id: "new".into(),
            expected: ExpectedVersion::NoStream,
            events: vec![published_event()],
            idempotency: None,
            side_writes: Vec::new(),
            guards: Vec::new(),
        })
    }))
    .await;
    assert_eq!(outcomes.iter().filter(|outcome| outcome.is_ok()).count(), 1);
    assert_eq!(database.count("SELECT count(*) FROM events").await, 1);
}

/// Two stores stand for two command-API processes: each one's remembered feed head goes stale whenever the
/// other commits, so their one-round-trip appends must notice and fall back without losing or doubling
/// anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writer_processes_racing_on_the_same_streams_keep_versions_and_positions_whole() {
    let database = test_database().await;
    let stores = [PgEventStore::start(database.connect(2)), PgEventStore::start(database.connect(2))];
    let tasks = (0..8).map(|worker| {
        let store = stores[worker % 2].clone();
        async move {
            let mut won = 0;
            for round in 0..40 {
                let stream_id = format!("shared-{}", round % 3);
                let current = store.read_stream(&stream_id).await.expect("readable").len() as i64;
                let expected = if current == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(current) };
                let request = AppendRequest {
                    stream_id,
                    expected,
                    events: vec![published_event()],
                    idempotency: None,
                    side_writes: Vec::new(),
                    guards: Vec::new(),
                };
                match store.append(request).await {
                    Ok(_) => won += 1,
                    Err(AppendError::Conflict { .. }) => {}
                    Err(other) => panic!("unexpected: {other}"),
                }
            }
            won
        }
    });
    let won: i64 = futures_util::future::join_all(tasks).await.into_iter().sum();
    assert_eq!(database.count("SELECT count(*) FROM events").await, won);
    assert_eq!(database.count("SELECT max(position) FROM events").await, won, "positions are gapless");
    let holes = database
        .count(
            "SELECT count(*) FROM (SELECT stream_version, row_number() OVER (PARTITION BY stream_id ORDER BY stream_version) AS n \
             FROM events) v WHERE stream_version <> n",
        )
        .await;
    assert_eq!(holes, 0, "every stream's versions run 1, 2, 3, ...");
}
