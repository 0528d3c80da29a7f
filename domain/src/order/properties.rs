//! The Order decider under random command sequences: whatever the webhooks, sagas and retries send, in whatever
//! order, an order is priced once, paid at most once and for its total, fulfilled only once paid and settled,
//! each line settled and reversed at most once, and never pays out more than it took.

use std::collections::HashMap;

use proptest::prelude::*;
use time::macros::{date, datetime};

use super::*;
use crate::discount::{Discount, Window};
use crate::given::then;

const TRAINEE: Uuid = Uuid::from_u128(1);
const ORDER: Uuid = Uuid::from_u128(2);
const INSTRUCTOR: Uuid = Uuid::from_u128(3);
const TODAY: Date = date!(2026 - 11 - 30);
/// The cart's courses, by id.
const COURSES: [u128; 4] = [10, 11, 12, 13];

/// Enough cases to find a slip, few enough for the fast tier; no regression files are written.
fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
}

/// A course of the cart: on sale mostly, at a small price (free included), with that day's discount.
fn course(id: u128) -> impl Strategy<Value = Course> {
    let status = prop_oneof![15 => Just(CourseStatus::Published), 1 => Just(CourseStatus::Draft)];
    (status, prop_oneof![Just(0_i64), 1..5_000_i64], prop_oneof![Just(0_u8), 1..=100_u8]).prop_map(
        move |(status, price_cents, percent)| {
            let window = Window { starts_on: date!(2026 - 11 - 01), ends_on: TODAY };
            Course {
                id: Uuid::from_u128(id),
                owner: INSTRUCTOR,
                status,
                title: format!("Course {id}"),
                price_cents,
                discounts: vec![Discount { id: Uuid::from_u128(100 + id), percent, window }],
                ..Course::default()
            }
        },
    )
}

fn course_id() -> impl Strategy<Value = Uuid> {
    prop::sample::select(COURSES.to_vec()).prop_map(Uuid::from_u128)
}

fn session() -> impl Strategy<Value = String> {
    prop_oneof![Just("cs_1"), Just("cs_2")].prop_map(str::to_owned)
}

/// What a command is made from, where it depends on the order as the sender sees it: a webhook's amount (`None`:
/// the order's total), and the fulfilment saga's outcome for each of the order's lines (enrolled or refunded).
#[derive(Debug, Clone)]
enum Step {
    Command(OrderCommand),
    Confirm { session_id: String, amount_cents: Option<i64>, currency: String },
    SettleEveryLine { enrolled: [bool; COURSES.len()] },
}

fn step() -> impl Strategy<Value = Step> {
    let placer = prop_oneof![
        10 => Just(Role::IndividualTrainee),
        1 => Just(Role::CorporateTrainee),
        1 => Just(Role::Instructor)
    ];
    let method = prop_oneof![Just(PaymentMethod::Card), Just(PaymentMethod::Wallet)];
    let courses = prop::sample::subsequence(COURSES.to_vec(), 0..=COURSES.len())
        .prop_flat_map(|ids| ids.into_iter().map(course).collect::<Vec<_>>());
    let place = (placer, method, courses).prop_map(|(role, method, courses)| OrderCommand::Place {
        placer: Actor { user_id: TRAINEE, role },
        order_id: ORDER,
        method,
        courses,
        today: TODAY,
        currency: "EUR".to_owned(),
        rate_ppm: 920_000,
    });
    let attach = session().prop_map(|session_id| OrderCommand::AttachCheckoutSession {
        url: format!("http://pay/{session_id}"),
        session_id,
        expires_at: datetime!(2026-11-30 13:00 UTC),
    });
    let lines = prop::collection::vec((course_id(), any::<bool>()), 0..5);
    let command = prop_oneof![
        2 => place,
        2 => attach,
        1 => session().prop_map(|session_id| OrderCommand::ExpireCheckout { session_id }),
        2 => Just(OrderCommand::MarkPaidFromWallet),
        1 => Just(OrderCommand::FailPayment { reason: WALLET_TOO_LOW.to_owned() }),
        3 => course_id().prop_map(|course_id| OrderCommand::RecordSale { course_id }),
        2 => (course_id(), (0..2_u128).prop_map(Uuid::from_u128))
            .prop_map(|(course_id, refund_id)| OrderCommand::ReverseEarning { course_id, refund_id }),
        2 => course_id().prop_map(|course_id| OrderCommand::RefundLine { course_id }),
        2 => Just(OrderCommand::MarkFulfilled),
        1 => lines.prop_map(|lines| OrderCommand::SettleAndFulfil { lines }),
    ];
    let amount = prop_oneof![4 => Just(None), 1 => (0..5_000_i64).prop_map(Some)];
    let currency = prop_oneof![Just("USD"), Just("usd"), Just("EUR")].prop_map(str::to_owned);
    prop_oneof![
        6 => command.prop_map(Step::Command),
        2 => (session(), amount, currency)
            .prop_map(|(session_id, amount_cents, currency)| Step::Confirm { session_id, amount_cents, currency }),
        1 => any::<[bool; COURSES.len()]>().prop_map(|enrolled| Step::SettleEveryLine { enrolled }),
    ]
}

/// How far along an order is; it never goes back.
fn rank(status: OrderStatus) -> u8 {
    match status {
        OrderStatus::Missing => 0,
        OrderStatus::Placed => 1,
        OrderStatus::AwaitingPayment => 2,
        OrderStatus::Paid | OrderStatus::Failed | OrderStatus::Expired => 3,
        OrderStatus::Fulfilled => 4,
    }
}

/// What the whole history has recorded, for the rules that span it.
#[derive(Debug, Default)]
struct Ledger {
    paid_cents: Option<i64>,
    /// Per line, by course: what its instructor was credited, what a refund took back of it, and what went back
    /// to the trainee in full.
    earned: HashMap<Uuid, i64>,
    reversed: HashMap<Uuid, i64>,
    refunded: HashMap<Uuid, i64>,
}

/// Checks one event against the order just before it.
fn recorded(order: &Order, event: &Event, ledger: &mut Ledger) -> Result<(), TestCaseError> {
    let line = |course_id: &Uuid| order.lines.iter().find(|line| line.course_id == *course_id).cloned();
    match event {
        Event::OrderPlaced(placed) => {
            prop_assert_eq!(order.status, OrderStatus::Missing, "placed twice");
            prop_assert!(!placed.lines.is_empty());
            prop_assert_eq!(placed.total_cents, placed.lines.iter().map(|line| line.price_cents).sum::<i64>());
            for line in &placed.lines {
                prop_assert!((0..=line.list_price_cents).contains(&line.price_cents), "{:?}", line);
                prop_assert_eq!(line.price_cents, discounted(line.list_price_cents, line.discount_percent));
            }
        }
        Event::CheckoutSessionCreated(_) => {
            prop_assert!(order.status == OrderStatus::Placed && order.method == Some(PaymentMethod::Card));
        }
        Event::OrderPaid(paid) => {
            prop_assert!(ledger.paid_cents.is_none(), "paid twice");
            prop_assert_eq!(paid.amount_cents, order.total_cents);
            prop_assert_eq!(paid.currency.as_str(), "USD");
            let from = match (order.method, order.status) {
                (Some(PaymentMethod::Card), OrderStatus::AwaitingPayment) => true,
                (Some(PaymentMethod::Wallet), OrderStatus::Placed) => true,
                (_, OrderStatus::Placed) => order.total_cents == 0,
                _ => false,
            };
            prop_assert!(from, "paid from {:?} by {:?}", order.status, order.method);
            ledger.paid_cents = Some(paid.amount_cents);
        }
        Event::OrderPaymentFailed(_) => prop_assert_eq!(order.status, OrderStatus::Placed),
        Event::OrderExpired(_) => prop_assert_eq!(order.status, OrderStatus::AwaitingPayment),
        Event::InstructorEarningRecorded(e) => {
            let line = line(&e.course_id).ok_or_else(|| TestCaseError::fail("a sale of no line"))?;
            prop_assert_eq!(order.status, OrderStatus::Paid);
            prop_assert!(!order.settled.contains(&e.course_id), "{} settled twice", e.course_id);
            prop_assert_eq!(e.amount_cents, line.price_cents * 80 / 100, "R1");
            ledger.earned.insert(e.course_id, e.amount_cents);
        }
        Event::OrderLineRefunded(e) => {
            let line = line(&e.course_id).ok_or_else(|| TestCaseError::fail("a refund of no line"))?;
            prop_assert_eq!(order.status, OrderStatus::Paid);
            prop_assert!(!order.settled.contains(&e.course_id), "{} settled twice", e.course_id);
            prop_assert_eq!(e.amount_cents, line.price_cents);
            ledger.refunded.insert(e.course_id, e.amount_cents);
        }
        Event::InstructorEarningReversed(e) => {
            let line = line(&e.course_id).ok_or_else(|| TestCaseError::fail("a reversal of no line"))?;
            let earned = ledger.earned.get(&e.course_id).copied();
            prop_assert!(earned.is_some(), "{} reversed but never credited", e.course_id);
            prop_assert!(
                ledger.reversed.insert(e.course_id, e.amount_cents).is_none(),
                "{} reversed twice",
                e.course_id
            );
            // D3: the instructor keeps floor(0.24 x price) of what they were credited.
            prop_assert_eq!(earned.unwrap_or_default() - e.amount_cents, line.price_cents * 24 / 100);
            prop_assert!(e.amount_cents >= 0);
        }
        Event::OrderFulfilled(_) => {
            prop_assert_eq!(order.status, OrderStatus::Paid, "fulfilled before paid, or twice");
            prop_assert!(order.lines.iter().all(|line| order.settled.contains(&line.course_id)), "a line unsettled");
        }
        other => prop_assert!(false, "an order records {}", other.event_type()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn an_order_is_paid_once_for_its_total_and_never_pays_out_more_than_it_took(
        steps in prop::collection::vec(step(), 0..40),
    ) {
        let mut order = Order::default();
        let mut ledger = Ledger::default();
        let mut placed: Option<(Vec<OrderLine>, i64)> = None;
        for step in steps {
            let command = match step {
                Step::Command(command) => command,
                Step::Confirm { session_id, amount_cents, currency } => OrderCommand::ConfirmCardPayment {
                    session_id,
                    amount_cents: amount_cents.unwrap_or(order.total_cents),
                    currency,
                    payment_reference: Some("pi_1".to_owned()),
                },
                Step::SettleEveryLine { enrolled } => {
                    let lines = order.lines.iter().zip(enrolled).map(|(line, enrolled)| (line.course_id, enrolled));
                    OrderCommand::SettleAndFulfil { lines: lines.collect() }
                }
            };
            // A refused command records nothing: the order stays the fold of what was accepted.
            let Ok(decided) = decide(&order, command) else { continue };
            for event in &decided.events {
                let before = order.status;
                recorded(&order, event, &mut ledger)?;
                order = then(order, std::slice::from_ref(event));
                prop_assert!(rank(order.status) >= rank(before), "{:?} went back to {:?}", before, order.status);
            }
            // The price snapshot is immutable after placement.
            match &placed {
                None if order.status != OrderStatus::Missing => placed = Some((order.lines.clone(), order.total_cents)),
                Some((lines, total)) => prop_assert!(order.lines == *lines && order.total_cents == *total),
                None => {}
            }
            let out: i64 = ledger.earned.values().sum::<i64>() - ledger.reversed.values().sum::<i64>()
                + ledger.refunded.values().sum::<i64>();
            prop_assert!(out <= ledger.paid_cents.unwrap_or(0), "paid out {} of {:?}", out, ledger.paid_cents);
        }
    }
}
