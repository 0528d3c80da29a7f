//! The global feed under stress: writers append to random streams in their own transactions, some roll
//! back, one holds its transaction open for 3 s, and the group-commit writer runs alongside. A subscriber
//! reading all the while must receive every committed event exactly once, and every stream in version order.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use event_store::writer::append_in_transaction;
use event_store::{AppendRequest, ExpectedVersion, FeedSubscription, PgEventStore};
use events::{CoursePublished, Event, Metadata, NewEvent, RecordedEvent};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tests::{TestDatabase, test_database};
use tokio::sync::watch;
use uuid::Uuid;

const STREAMS: usize = 12;
const RAW_WRITERS: u64 = 4;
const TRANSACTIONS_PER_WRITER: usize = 40;
const GROUP_COMMIT_APPENDS: usize = 150;

fn request(rng: &mut StdRng) -> AppendRequest {
    let count = rng.random_range(1..=3);
    let events = (0..count)
        .map(|_| {
            let event = Event::CoursePublished(CoursePublished { course_id: Uuid::now_v7() });
            NewEvent::new(&event, Metadata::default(), time::OffsetDateTime::now_utc())
        })
        .collect();
    AppendRequest {
        stream_id: format!("stress-{}", rng.random_range(0..STREAMS)),
        expected: ExpectedVersion::Any,
        events,
        idempotency: None,
        side_writes: Vec::new(),
        guards: Vec::new(),
    }
}

/// Appends in transactions of its own; returns the ids of the events whose transaction committed.
async fn raw_writer(database: &TestDatabase, seed: u64, hold_open: Option<Duration>) -> Vec<Uuid> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut client = database.client().await;
    let mut committed = Vec::new();
    let transactions = if hold_open.is_some() { 1 } else { TRANSACTIONS_PER_WRITER };
    for _ in 0..transactions {
        let requests: Vec<AppendRequest> = (0..rng.random_range(1..=3)).map(|_| request(&mut rng)).collect();
        let transaction = client.transaction().await.expect("begins");
        let outcomes = append_in_transaction(&transaction, &requests).await.expect("appends");
        assert!(outcomes.iter().all(Result::is_ok));
        if let Some(hold) = hold_open {
            tokio::time::sleep(hold).await;
        }
        if hold_open.is_none() && rng.random_bool(0.3) {
            transaction.rollback().await.expect("rolls back");
        } else {
            transaction.commit().await.expect("commits");
            committed.extend(requests.iter().flat_map(|r| r.events.iter().map(|e| e.event_id)));
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..5))).await;
    }
    committed
}

async fn group_commit_writer(store: PgEventStore, seed: u64) -> Vec<Uuid> {
    let mut rng = StdRng::seed_from_u64(seed);
    let requests: Vec<AppendRequest> = (0..GROUP_COMMIT_APPENDS).map(|_| request(&mut rng)).collect();
    let outcomes = futures_util::future::join_all(requests.iter().cloned().map(|r| store.append(r))).await;
    assert!(outcomes.iter().all(Result::is_ok));
    requests.iter().flat_map(|r| r.events.iter().map(|e| e.event_id)).collect()
}

async fn subscriber(
    mut subscription: FeedSubscription,
    mut target: watch::Receiver<Option<usize>>,
) -> Vec<RecordedEvent> {
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        if let Ok(batch) = tokio::time::timeout(Duration::from_millis(200), subscription.next_batch(50)).await {
            received.extend(batch.expect("the feed is readable"));
        }
        if target.borrow_and_update().is_some_and(|target| received.len() >= target) {
            break;
        }
    }
    received
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_subscriber_gets_every_committed_event_once_in_stream_order_despite_rollbacks_and_a_long_transaction() {
    tests::init_tracing();
    let seed: u64 = rand::rng().random();
    eprintln!("feed stress seed: {seed}");
    let database = test_database().await;
    let store = PgEventStore::start(database.connect(4));
    let (target_tx, target) = watch::channel(None);
    let reader = tokio::spawn(subscriber(FeedSubscription::new(database.connect(2), 0), target));

    let long = raw_writer(&database, seed, Some(Duration::from_secs(3)));
    let writers =
        futures_util::future::join_all((1..=RAW_WRITERS).map(|n| raw_writer(&database, seed.wrapping_add(n), None)));
    let grouped = group_commit_writer(store.clone(), seed.wrapping_add(100));
    let (long, writers, grouped) = tokio::join!(long, writers, grouped);

    let committed: Vec<Uuid> = long.into_iter().chain(writers.into_iter().flatten()).chain(grouped).collect();
    target_tx.send_replace(Some(committed.len()));
    let received = reader.await.expect("the subscriber ends");

    let received_ids: Vec<Uuid> = received.iter().map(|e| e.event_id).collect();
    let unique: HashSet<Uuid> = received_ids.iter().copied().collect();
    assert_eq!(unique.len(), received_ids.len(), "an event was delivered twice");
    assert_eq!(
        unique,
        committed.iter().copied().collect::<HashSet<_>>(),
        "delivered events differ from committed ones"
    );
    assert!(received.windows(2).all(|pair| pair[0].position < pair[1].position), "feed order broken");
    let mut versions: HashMap<&str, i64> = HashMap::new();
    for event in &received {
        let previous = versions.insert(&event.stream_id, event.stream_version).unwrap_or(0);
        assert_eq!(event.stream_version, previous + 1, "stream {} skipped or reordered a version", event.stream_id);
    }
    let last = received.last().map_or(0, |e| e.position);
    assert!(store.read_feed(last, 10).await.expect("feed readable").is_empty(), "events beyond the committed ones");
}
