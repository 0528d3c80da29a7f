use time::macros::{date, datetime};

use super::*;
use crate::discount::{Discount, Window};
use crate::given::{given_commands, when};

const TRAINEE: Uuid = Uuid::from_u128(1);
const ORDER: Uuid = Uuid::from_u128(2);
const INSTRUCTOR: Uuid = Uuid::from_u128(3);

fn trainee() -> Actor {
    Actor { user_id: TRAINEE, role: Role::IndividualTrainee }
}

fn course(id: u128, price_cents: i64) -> Course {
    Course {
        id: Uuid::from_u128(id),
        owner: INSTRUCTOR,
        status: CourseStatus::Published,
        title: format!("Course {id}"),
        price_cents,
        ..Course::default()
    }
}

fn place(method: PaymentMethod, courses: Vec<Course>) -> OrderCommand {
    place_by(trainee(), method, courses)
}

fn place_by(placer: Actor, method: PaymentMethod, courses: Vec<Course>) -> OrderCommand {
    OrderCommand::Place {
        placer,
        order_id: ORDER,
        method,
        courses,
        today: date!(2026 - 11 - 30),
        currency: "EUR".into(),
        rate_ppm: 920_000,
    }
}

fn card_order() -> Vec<OrderCommand> {
    vec![
        place(PaymentMethod::Card, vec![course(10, 1999), course(11, 1001)]),
        OrderCommand::AttachCheckoutSession {
            session_id: "cs_1".into(),
            url: "http://pay/cs_1".into(),
            expires_at: datetime!(2026-11-30 13:00 UTC),
        },
    ]
}

fn confirm(session_id: &str, amount_cents: i64) -> OrderCommand {
    OrderCommand::ConfirmCardPayment {
        session_id: session_id.into(),
        amount_cents,
        currency: "USD".into(),
        payment_reference: Some("pi_1".into()),
    }
}

#[test]
fn an_order_is_priced_from_the_courses_with_the_day_s_discount_and_totals_its_lines() {
    let mut discounted_course = course(10, 1999);
    let window = Window { starts_on: date!(2026 - 11 - 01), ends_on: date!(2026 - 11 - 30) };
    discounted_course.discounts = vec![Discount { id: Uuid::from_u128(7), percent: 10, window }];
    let events =
        when(decide(&Order::default(), place(PaymentMethod::Wallet, vec![discounted_course, course(11, 1001)])))
            .expect("placed");
    let Event::OrderPlaced(placed) = &events[0] else { panic!("another event") };
    assert_eq!(placed.lines[0].list_price_cents, 1999);
    assert_eq!(placed.lines[0].discount_percent, 10);
    assert_eq!(placed.lines[0].price_cents, 1799);
    assert_eq!(placed.lines[1].price_cents, 1001);
    assert_eq!(placed.total_cents, 2800);
    assert_eq!((placed.currency.as_str(), placed.rate_ppm, placed.trainee_id), ("EUR", 920_000, TRAINEE));
}

#[test]
fn an_order_with_nothing_to_pay_is_paid_as_it_is_placed_by_either_method() {
    for method in [PaymentMethod::Card, PaymentMethod::Wallet] {
        let events =
            when(decide(&Order::default(), place(method, vec![course(10, 0), course(11, 0)]))).expect("placed");
        assert!(matches!(&events[..], [Event::OrderPlaced(_), Event::OrderPaid(paid)]
            if paid.amount_cents == 0 && paid.method == method && paid.payment_reference.is_none()));
        let order = events.iter().fold(Order::default(), Order::evolve);
        assert_eq!(order.status, OrderStatus::Paid);
        let checkout = OrderCommand::AttachCheckoutSession {
            session_id: "cs_1".into(),
            url: "http://pay/cs_1".into(),
            expires_at: datetime!(2026-11-30 13:00 UTC),
        };
        assert!(when(decide(&order, checkout)).is_err(), "no checkout for an order with nothing to pay");
    }
    let priced = when(decide(&Order::default(), place(PaymentMethod::Card, vec![course(10, 1)])));
    assert_eq!(priced.expect("placed").len(), 1, "a cent is paid as usual");
}

#[test]
fn an_empty_cart_a_course_not_for_sale_or_another_role_places_nothing() {
    let refused = when(decide(&Order::default(), place(PaymentMethod::Card, Vec::new())));
    assert_eq!(refused, Err(OrderRejection::EmptyCart));
    let mut retired = course(10, 1999);
    retired.status = CourseStatus::Retired;
    let refused = when(decide(&Order::default(), place(PaymentMethod::Card, vec![retired])));
    assert_eq!(refused, Err(OrderRejection::CourseNotForSale(Uuid::from_u128(10))));
    let corporate = Actor { role: Role::CorporateTrainee, ..trainee() };
    let refused = when(decide(&Order::default(), place_by(corporate, PaymentMethod::Card, vec![course(10, 1)])));
    assert_eq!(refused, Err(OrderRejection::NotAnIndividualTrainee));
}

#[test]
fn a_card_order_is_paid_once_by_its_own_session_for_its_exact_total() {
    let awaiting = given_commands(card_order(), decide);
    assert_eq!(awaiting.status, OrderStatus::AwaitingPayment);
    assert_eq!(when(decide(&awaiting, confirm("cs_other", 3000))), Err(OrderRejection::SessionMismatch));
    assert_eq!(
        when(decide(&awaiting, confirm("cs_1", 2999))),
        Err(OrderRejection::AmountMismatch { expected_cents: 3000, paid_cents: 2999 })
    );
    let events = when(decide(&awaiting, confirm("cs_1", 3000))).expect("paid");
    assert!(
        matches!(&events[..], [Event::OrderPaid(paid)] if paid.amount_cents == 3000 && paid.method == PaymentMethod::Card)
    );
    let paid = events.iter().fold(awaiting, Order::evolve);
    assert_eq!(when(decide(&paid, confirm("cs_1", 3000))), Ok(Vec::new()), "a duplicate webhook changes nothing");
    assert_eq!(when(decide(&paid, OrderCommand::ExpireCheckout { session_id: "cs_1".into() })), Ok(Vec::new()));
}

#[test]
fn an_unpaid_session_expires_and_a_late_payment_is_refused() {
    let mut commands = card_order();
    commands.push(OrderCommand::ExpireCheckout { session_id: "cs_1".into() });
    let expired = given_commands(commands, decide);
    assert_eq!(expired.status, OrderStatus::Expired);
    assert_eq!(when(decide(&expired, confirm("cs_1", 3000))), Err(OrderRejection::WrongState(OrderStatus::Expired)));
}

#[test]
fn a_wallet_order_is_paid_or_failed_once() {
    let placed = given_commands(vec![place(PaymentMethod::Wallet, vec![course(10, 1999)])], decide);
    let paid = given_commands(
        vec![place(PaymentMethod::Wallet, vec![course(10, 1999)]), OrderCommand::MarkPaidFromWallet],
        decide,
    );
    assert_eq!(paid.status, OrderStatus::Paid);
    assert_eq!(when(decide(&paid, OrderCommand::MarkPaidFromWallet)), Ok(Vec::new()));
    let fail = || OrderCommand::FailPayment { reason: WALLET_TOO_LOW.into() };
    assert_eq!(when(decide(&paid, fail())), Err(OrderRejection::WrongState(OrderStatus::Paid)));
    let failed = when(decide(&placed, fail())).expect("failed").iter().fold(placed, Order::evolve);
    assert_eq!(when(decide(&failed, fail())), Ok(Vec::new()));
    assert_eq!(
        when(decide(&failed, OrderCommand::MarkPaidFromWallet)),
        Err(OrderRejection::WrongState(OrderStatus::Failed))
    );
    let card = given_commands(card_order(), decide);
    assert!(matches!(when(decide(&card, OrderCommand::MarkPaidFromWallet)), Err(OrderRejection::WrongState(_))));
}

#[test]
fn each_paid_line_is_credited_or_refunded_once_and_then_the_order_is_fulfilled() {
    let mut commands = card_order();
    commands.push(confirm("cs_1", 3000));
    let paid = given_commands(commands, decide);
    assert_eq!(when(decide(&paid, OrderCommand::MarkFulfilled)), Err(OrderRejection::Unsettled));
    let sale = when(decide(&paid, OrderCommand::RecordSale { course_id: Uuid::from_u128(10) })).expect("credited");
    assert!(
        matches!(&sale[..], [Event::InstructorEarningRecorded(e)] if e.amount_cents == 1599 && e.instructor_id == INSTRUCTOR)
    );
    let order = sale.iter().fold(paid, Order::evolve);
    assert_eq!(when(decide(&order, OrderCommand::RecordSale { course_id: Uuid::from_u128(10) })), Ok(Vec::new()));
    assert_eq!(when(decide(&order, OrderCommand::RefundLine { course_id: Uuid::from_u128(10) })), Ok(Vec::new()));
    let refund = when(decide(&order, OrderCommand::RefundLine { course_id: Uuid::from_u128(11) })).expect("refunded");
    assert!(matches!(&refund[..], [Event::OrderLineRefunded(e)] if e.amount_cents == 1001 && e.trainee_id == TRAINEE));
    let order = refund.iter().fold(order, Order::evolve);
    let unknown = OrderCommand::RecordSale { course_id: Uuid::from_u128(99) };
    assert_eq!(when(decide(&order, unknown)), Err(OrderRejection::LineNotFound(Uuid::from_u128(99))));
    let fulfilled = when(decide(&order, OrderCommand::MarkFulfilled)).expect("fulfilled");
    let order = fulfilled.iter().fold(order, Order::evolve);
    assert_eq!(order.status, OrderStatus::Fulfilled);
    assert_eq!(when(decide(&order, OrderCommand::MarkFulfilled)), Ok(Vec::new()));
}

#[test]
fn the_instructor_share_is_eighty_percent_rounded_down() {
    assert_eq!(instructor_share(1999), 1599);
    assert_eq!(instructor_share(1), 0);
    assert_eq!(instructor_share(5), 4);
    assert_eq!(instructor_share(0), 0);
}

#[test]
fn an_order_settles_every_line_and_is_fulfilled_in_one_decision_once() {
    let mut commands = card_order();
    commands.push(confirm("cs_1", 3000));
    let paid = given_commands(commands, decide);
    let settle =
        OrderCommand::SettleAndFulfil { lines: vec![(Uuid::from_u128(10), true), (Uuid::from_u128(11), false)] };
    let events = when(decide(&paid, settle.clone())).expect("settled");
    assert!(matches!(
        &events[..],
        [Event::InstructorEarningRecorded(e), Event::OrderLineRefunded(r), Event::OrderFulfilled(_)]
            if e.amount_cents == 1599 && r.amount_cents == 1001
    ));
    let order = events.iter().fold(paid.clone(), Order::evolve);
    assert_eq!(when(decide(&order, settle)), Ok(Vec::new()), "settled twice changes nothing");
    let partial = OrderCommand::SettleAndFulfil { lines: vec![(Uuid::from_u128(10), true)] };
    assert_eq!(when(decide(&paid, partial)), Err(OrderRejection::Unsettled), "a line left out keeps it unfulfilled");
}

#[test]
fn a_refund_reverses_a_credited_line_once_and_never_a_line_refunded_in_full() {
    let mut commands = card_order();
    commands.push(confirm("cs_1", 3000));
    commands.push(OrderCommand::RecordSale { course_id: Uuid::from_u128(10) });
    commands.push(OrderCommand::RefundLine { course_id: Uuid::from_u128(11) });
    let order = given_commands(commands, decide);
    let refund_id = Uuid::from_u128(77);
    let reverse = |course: u128| OrderCommand::ReverseEarning { course_id: Uuid::from_u128(course), refund_id };
    let reversed = when(decide(&order, reverse(10))).expect("reversed");
    // Credited floor(0.80 x 1999) = 1599; keeps floor(0.24 x 1999) = 479; gives back 1120.
    assert!(
        matches!(&reversed[..], [Event::InstructorEarningReversed(e)] if e.amount_cents == 1120 && e.instructor_id == INSTRUCTOR)
    );
    let order = reversed.iter().fold(order, Order::evolve);
    assert_eq!(when(decide(&order, reverse(10))), Ok(Vec::new()), "once");
    assert_eq!(when(decide(&order, reverse(11))), Ok(Vec::new()), "the line refunded in full earned nothing");
}

#[test]
fn every_cent_of_a_refunded_sale_reconciles_at_every_price() {
    // D1 to D5 over prices with odd cents: the trainee gets floor(0.70 P) back, the instructor keeps exactly
    // floor(0.24 P) after the clawback, and the platform the rest; nothing is lost or made up.
    for price in (0..=100_000_i64).chain([999_999, 1_000_001, 9_999_999]) {
        let credited = instructor_share(price);
        let clawback = instructor_clawback(price);
        let refunded = crate::enrollment::refund_of(price);
        let instructor_keeps = credited - clawback;
        assert_eq!(instructor_keeps, price * 24 / 100, "price {price}");
        let platform_keeps = price - refunded - instructor_keeps;
        assert!(clawback >= 0 && platform_keeps >= 0, "price {price}: clawback {clawback}, platform {platform_keeps}");
        assert_eq!(refunded + instructor_keeps + platform_keeps, price, "price {price}");
        // Before the refund the platform kept P - credited; the refund moves money only between the three.
        assert_eq!((price - credited) - refunded + clawback, platform_keeps, "price {price}");
    }
}

#[test]
fn a_refund_approved_before_the_sale_was_recorded_waits_for_it() {
    let mut commands = card_order();
    commands.push(confirm("cs_1", 3000));
    let paid = given_commands(commands, decide);
    let early = OrderCommand::ReverseEarning { course_id: Uuid::from_u128(10), refund_id: Uuid::from_u128(77) };
    assert_eq!(when(decide(&paid, early)), Err(OrderRejection::LineNotSettledYet(Uuid::from_u128(10))));
}
