//! The pipeline's paths on the store in memory: appends and the cache, a stale cache, races lost on fresh
//! state, guards, If-Match, replays and refusals, and sealing. Each test is a few milliseconds.

use std::cell::RefCell;

use domain::wallet::{self, DebitOutcome, Wallet, WalletCommand, WalletRejection};
use event_store::{AppendRequest, ExpectedVersion, MemoryEventStore};
use events::commerce::{CreditReason, WalletCredited};
use events::identity::IndividualTraineeRegistered;
use events::{Event, Metadata, NewEvent, Personal};
use serde_json::json;
use uuid::Uuid;

use crate::{Caller, Command, CommandError, Context, Decision, Trust, WriteSide};

const TRAINEE: Uuid = Uuid::from_u128(7);

fn stream() -> String {
    events::stream::wallet_stream(TRAINEE)
}

fn credit(operation: &str, amount_cents: i64) -> WalletCommand {
    WalletCommand::Credit {
        trainee_id: TRAINEE,
        operation_id: operation.to_owned(),
        amount_cents,
        reason: CreditReason::Refund,
        note: None,
    }
}

fn debit(operation: &str, amount_cents: i64) -> WalletCommand {
    WalletCommand::Debit {
        trainee_id: TRAINEE,
        operation_id: operation.to_owned(),
        order_id: Uuid::nil(),
        amount_cents,
    }
}

fn command() -> Command {
    Command::on(stream(), Caller::Saga("test")).answering(200, json!({ "id": TRAINEE }))
}

fn keyed(key: &str, digest: &str) -> Command {
    let context = Context { idempotency_key: Some(key.to_owned()), ..Context::new() };
    Command::on(stream(), Caller::Operator).with_context(context).with_digest(digest)
}

async fn run(
    write: &WriteSide<MemoryEventStore>,
    command: &Command,
    wallet_command: WalletCommand,
) -> Result<crate::Executed<DebitOutcome>, CommandError<WalletRejection>> {
    let nothing = |_: Trust| std::future::ready(Ok(()));
    write.execute(command, nothing, |wallet: &Wallet, (): &()| wallet::decide(wallet, wallet_command.clone())).await
}

/// Another process's credit of the same wallet, appended straight to the store.
fn foreign_credit(operation: &str, amount_cents: i64, balance_cents: i64) -> AppendRequest {
    foreign_append(&stream(), operation, amount_cents, balance_cents)
}

fn foreign_append(stream_id: &str, operation: &str, amount_cents: i64, balance_cents: i64) -> AppendRequest {
    let credited = Event::WalletCredited(WalletCredited {
        trainee_id: TRAINEE,
        operation_id: operation.to_owned(),
        amount_cents,
        reason: CreditReason::Refund,
        note: None,
        balance_cents,
    });
    AppendRequest {
        stream_id: stream_id.to_owned(),
        expected: ExpectedVersion::Any,
        events: vec![NewEvent::new(&credited, Metadata::default(), time::OffsetDateTime::now_utc())],
        idempotency: None,
        side_writes: Vec::new(),
        guards: Vec::new(),
    }
}

fn balance(store: &MemoryEventStore) -> Option<i64> {
    let last = store.read_stream_after(&stream(), 0).pop()?;
    match last.decode().ok()? {
        Event::WalletCredited(e) => Some(e.balance_cents),
        Event::WalletDebited(e) => Some(e.balance_cents),
        _ => None,
    }
}

#[tokio::test]
async fn a_command_appends_and_the_next_one_decides_on_the_cache_without_reading() {
    let store = MemoryEventStore::new();
    let write = WriteSide::new(store.clone());
    let first = run(&write, &command(), credit("a", 100)).await.expect("credited");
    assert_eq!(first.receipt.data, json!({ "id": TRAINEE, "version": 1 }));
    assert_eq!((first.receipt.stream_version, first.receipt.position), (1, 1));
    let reads = store.reads();
    let sent = command();
    let second = run(&write, &sent, debit("b", 30)).await.expect("debited");
    assert_eq!(second.outcome, Some(DebitOutcome::Paid));
    assert_eq!(store.reads(), reads, "the second command decided on the cached state");
    assert_eq!(balance(&store), Some(70));
    let metadata = &store.feed()[1].metadata;
    assert_eq!(metadata.correlation_id, Some(sent.context.correlation_id));
    assert_eq!(metadata.actor, None, "a saga is no user");
}

#[tokio::test]
async fn a_stale_cache_costs_no_attempt_and_the_command_is_decided_again_on_fresh_state() {
    let store = MemoryEventStore::new();
    let (ours, theirs) = (WriteSide::new(store.clone()), WriteSide::new(store.clone()));
    run(&ours, &command(), credit("a", 100)).await.expect("credited here");
    run(&theirs, &command(), credit("b", 100)).await.expect("credited by another process");
    // On our cache the balance is 100 and a debit of 150 is refused; a refusal is given on fresh state only.
    let paid = run(&ours, &command(), debit("c", 150)).await.expect("decided again");
    assert_eq!(paid.outcome, Some(DebitOutcome::Paid));
    assert_eq!(balance(&store), Some(50));
    // On our cache the stream is at version 1; the append's version check sends the command round again.
    run(&theirs, &command(), credit("d", 10)).await.expect("credited by another process");
    let credited = run(&ours, &command(), credit("e", 5)).await.expect("decided again");
    assert_eq!(credited.receipt.stream_version, 5);
    assert_eq!(balance(&store), Some(65));
}

#[tokio::test]
async fn a_race_lost_on_fresh_state_is_decided_again_until_the_attempts_run_out() {
    let store = MemoryEventStore::new();
    let write = WriteSide::new(store.clone());
    store.race_next_append(foreign_credit("raced", 40, 40));
    let credited = run(&write, &command(), credit("a", 10)).await.expect("won on the second try");
    assert_eq!((credited.receipt.stream_version, balance(&store)), (2, Some(50)));
    // The cached attempt, then every fresh attempt, loses.
    for round in 0..=crate::MAX_ATTEMPTS {
        store.race_next_append(foreign_credit(&format!("race-{round}"), 1, 51 + round as i64));
    }
    let appends = store.appends();
    let lost = run(&write, &command(), credit("b", 10)).await.expect_err("contended");
    assert_eq!(lost, CommandError::Contended { attempts: crate::MAX_ATTEMPTS });
    assert!(lost.is_transient(), "a saga retries it");
    assert_eq!(store.appends() - appends, crate::MAX_ATTEMPTS + 1);
}

#[tokio::test]
async fn if_match_pins_the_version_and_a_lost_race_is_not_retried() {
    let store = MemoryEventStore::new();
    let write = WriteSide::new(store.clone());
    run(&write, &command(), credit("a", 10)).await.expect("credited");
    let pinned = |version| {
        let context = Context { if_match: Some(version), ..Context::new() };
        command().with_context(context)
    };
    let moved = run(&write, &pinned(3), credit("b", 10)).await.expect_err("pinned to another version");
    assert_eq!(moved, CommandError::VersionMismatch { expected: 3, actual: 1 });
    store.race_next_append(foreign_credit("raced", 1, 11));
    let lost = run(&write, &pinned(1), credit("c", 10)).await.expect_err("lost its race");
    assert_eq!(lost, CommandError::Conflict { stream_id: stream() });
    assert!(!lost.is_transient(), "the client read a version that is gone");
    assert_eq!(balance(&store), Some(11));
}

#[tokio::test]
async fn a_replayed_key_gets_its_first_answer_and_a_key_reused_with_another_body_is_refused() {
    let store = MemoryEventStore::new();
    let write = WriteSide::new(store.clone());
    let first = run(&write, &keyed("k", "body-1"), credit("a", 10)).await.expect("credited");
    let again = run(&write, &keyed("k", "body-1"), credit("a", 10)).await.expect("replayed");
    assert_eq!(again.receipt, first.receipt);
    assert_eq!(again.outcome, None, "a replay does not decide again");
    assert_eq!(store.feed().len(), 1);
    let reused = run(&write, &keyed("k", "body-2"), credit("b", 10)).await.expect_err("another body");
    assert_eq!(reused, CommandError::IdempotencyKeyReused);
    assert!(!reused.is_transient());
    let replayed = write.replayed::<()>(&Caller::Operator, &keyed("k", "body-1").context, "body-1").await;
    assert_eq!(replayed, Ok(Some(first.receipt)), "looked up before costly work");
}

#[tokio::test]
async fn a_refusal_is_typed_and_never_transient() {
    let write = WriteSide::new(MemoryEventStore::new());
    run(&write, &command(), credit("a", 10)).await.expect("credited");
    let refused = run(&write, &command(), credit("a", 99)).await.expect_err("the operation was another credit");
    assert_eq!(refused, CommandError::Refused(WalletRejection::OperationReused));
    assert!(!refused.is_transient());
}

#[tokio::test]
async fn a_guard_on_another_stream_that_moves_makes_the_decision_again_on_fresh_facts() {
    let store = MemoryEventStore::new();
    let write = WriteSide::new(store.clone());
    let other = events::stream::wallet_stream(Uuid::from_u128(8));
    store.append(foreign_append(&other, "x", 1, 1)).expect("the other stream exists");
    write.load::<Wallet>(&other).await.expect("cached");
    store.race_next_append(foreign_append(&other, "y", 1, 2));
    let trusts = RefCell::new(Vec::new());
    let load = |trust: Trust| {
        trusts.borrow_mut().push(trust);
        let write = &write;
        let other = &other;
        async move { write.load_guarded::<Wallet>(other, trust).await.map_err(CommandError::from) }
    };
    let executed = write
        .execute(&command(), load, |wallet: &Wallet, guarded| {
            let decided = wallet::decide(wallet, credit("a", guarded.folded.state.balance_cents))?.without_outcome();
            Ok::<_, WalletRejection>(Decision { guards: vec![guarded.guard.clone()], ..decided.into() })
        })
        .await
        .expect("decided again");
    assert_eq!(*trusts.borrow(), vec![Trust::Cached, Trust::Fresh]);
    assert_eq!(executed.receipt.stream_version, 1);
    assert_eq!(balance(&store), Some(2), "decided on the other stream as it is now");
}

#[tokio::test]
async fn personal_data_is_sealed_before_it_is_stored() {
    let store = MemoryEventStore::new();
    let write = WriteSide::new(store.clone());
    let user_id = Uuid::now_v7();
    let registered = Event::IndividualTraineeRegistered(IndividualTraineeRegistered {
        user_id,
        email: Personal::Clear("ada@example.com".to_owned()),
        username: Personal::Clear("ada".to_owned()),
        name: Personal::Clear("Ada Lovelace".to_owned()),
        country: None,
    });
    let nothing = |_: Trust| std::future::ready(Ok::<(), CommandError<()>>(()));
    let command = Command::on(events::stream::user_stream(user_id), Caller::Guest([127, 0, 0, 1].into()));
    let decide = |_: &Wallet, (): &()| Ok::<_, ()>(Decision::from(vec![registered.clone()]));
    write.execute::<_, _, _, _, _, ()>(&command, nothing, decide).await.expect("registered");
    let stored = &store.feed()[0].payload;
    assert!(!stored.contains("ada@example.com") && !stored.contains("Lovelace"), "stored in clear: {stored}");
}
