//! An event the sagas cannot act on parks its stream: later events of that stream wait behind it, a retry
//! before the fix fails again, and skipping the poison lets the waiting events through, in order.

use std::time::Duration;

use event_store::{AppendRequest, ExpectedVersion, PgEventStore};
use events::commerce::OrderLineRefunded;
use events::{Event, Metadata, NewEvent};
use sagas::dead_letters::{self, SagaDeadLetter};
use tests::TestApp;
use uuid::Uuid;

use super::commerce::trainee;

async fn held(app: &TestApp) -> Vec<SagaDeadLetter> {
    dead_letters::list(&app.store).await.expect("the dead letters read")
}

/// Polls (bounded) until `done` holds for the sagas' dead letters.
async fn until(app: &TestApp, what: &str, done: impl Fn(&[SagaDeadLetter]) -> bool) -> Vec<SagaDeadLetter> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let letters = held(app).await;
        if done(&letters) {
            return letters;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {letters:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_poison_event_parks_its_stream_until_skipped_and_then_the_waiting_events_go_through() {
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let (trainee_id, _) = trainee(&app, "ada").await;
    let order_id = Uuid::now_v7();
    let now = time::OffsetDateTime::now_utc();
    // A type this version does not know (a newer release wrote it), then a refund the sagas would pay out.
    let poison = NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "OrderTeleported",
        schema_version: 1,
        payload: "{}".to_owned(),
        metadata: Metadata::default(),
        occurred_at: now,
    };
    let refund = Event::OrderLineRefunded(OrderLineRefunded {
        order_id,
        trainee_id,
        course_id: Uuid::now_v7(),
        amount_cents: 500,
    });
    let store = PgEventStore::start(app.store.clone());
    let appended = store
        .append(AppendRequest {
            stream_id: events::stream::order_stream(order_id),
            expected: ExpectedVersion::NoStream,
            events: vec![poison, NewEvent::new(&refund, Metadata::default(), now)],
            idempotency: None,
            side_writes: Vec::new(),
            guards: Vec::new(),
        })
        .await;
    assert!(appended.is_ok(), "{appended:?}");

    let letters = until(&app, "the stream is parked", |letters| letters.len() == 2).await;
    assert_eq!((letters[0].status.as_str(), letters[1].status.as_str()), ("parked", "waiting"));
    assert!(letters[0].error.as_deref().unwrap_or_default().contains("OrderTeleported"), "{letters:?}");
    let credits = format!("SELECT count(*) FROM events WHERE stream_id = 'wallet-{trainee_id}'");
    assert_eq!(app.database.count(&credits).await, 0, "the refund waits behind the poison");

    let stream = events::stream::order_stream(order_id);
    assert_eq!(dead_letters::retry(&app.store, &stream).await.expect("retried"), 2);
    let letters = until(&app, "the retry fails again", |letters| {
        letters.iter().all(|letter| letter.status != "retry") && letters.len() == 2
    })
    .await;
    assert_eq!(letters[0].status, "parked");
    assert_eq!(app.database.count(&credits).await, 0);

    assert_eq!(
        dead_letters::skip(&app.store, &stream, "test", "written by a newer release").await.expect("skipped"),
        1
    );
    until(&app, "the waiting refund went through", <[SagaDeadLetter]>::is_empty).await;
    assert_eq!(app.database.count(&credits).await, 1, "the refund was paid into the wallet once");
}
