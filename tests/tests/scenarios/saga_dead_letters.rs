//! An event the sagas cannot act on parks its stream: later events of that stream wait behind it, a retry
//! before the fix fails again, and skipping the poison lets the waiting events through, in order.

use std::time::Duration;

use event_store::{AppendRequest, ExpectedVersion, PgEventStore};
use events::commerce::OrderLineRefunded;
use events::{Event, Metadata, NewEvent};
use subscriptions::dead_letters::{self, DeadLetter, Resolution};
use tests::TestApp;
use uuid::Uuid;

use super::commerce::trainee;

async fn held(app: &TestApp) -> Vec<DeadLetter> {
    dead_letters::list(&app.store, Some(sagas::SUBSCRIBER)).await.expect("the dead letters read")
}

/// Polls (bounded) until `done` holds for the sagas' dead letters.
async fn until(app: &TestApp, what: &str, done: impl Fn(&[DeadLetter]) -> bool) -> Vec<DeadLetter> {
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

    let letters = until(&app, "the stream is parked", |letters| letters.first().is_some_and(|l| l.waiting == 1)).await;
    assert_eq!(letters.len(), 1, "one parked head: {letters:?}");
    assert_eq!((letters[0].state.as_str(), letters[0].event_type.as_str()), ("parked", "OrderTeleported"));
    assert!(letters[0].error.as_deref().unwrap_or_default().contains("OrderTeleported"), "{letters:?}");
    assert_eq!(letters[0].attempts, 1);
    let credits = format!("SELECT count(*) FROM events WHERE stream_id = 'wallet-{trainee_id}'");
    assert_eq!(app.database.count(&credits).await, 0, "the refund waits behind the poison");

    let id = letters[0].id;
    let retried = dead_letters::retry(&app.store, sagas::SUBSCRIBER, id).await.expect("retried");
    assert_eq!(retried, Resolution::Retrying(2));
    let letters = until(&app, "the retry fails again", |letters| {
        letters.iter().all(|letter| letter.state == "parked" && letter.attempts == 2)
    })
    .await;
    assert_eq!((letters.len(), letters[0].id, letters[0].waiting), (1, id, 1));
    assert_eq!(app.database.count(&credits).await, 0);

    let skipped = dead_letters::skip(&app.store, sagas::SUBSCRIBER, id, "test", "written by a newer release").await;
    assert_eq!(skipped.expect("skipped"), Resolution::Skipped { retrying: 1 });
    let again = dead_letters::skip(&app.store, sagas::SUBSCRIBER, id, "test", "twice").await;
    assert!(again.is_err(), "a dead letter is skipped once");
    until(&app, "the waiting refund went through", <[DeadLetter]>::is_empty).await;
    let recorded = app
        .database
        .count(&format!(
            "SELECT count(*) FROM dead_letters WHERE id = {id} AND state = 'skipped' AND resolved_by = 'test' \
             AND skip_reason = 'written by a newer release'"
        ))
        .await;
    assert_eq!(recorded, 1, "who skipped it and why are kept");
    assert_eq!(app.database.count(&credits).await, 1, "the refund was paid into the wallet once");
}
