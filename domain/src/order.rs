//! The Order aggregate (stream `order-{uuid}`): a trainee's purchase of the courses in their cart, priced
//! from the Course aggregates when placed (with that day's discount) and never repriced. It is paid at most
//! once, by the wallet or by card (the provider's signed webhook), then fulfilled line by line: each line is
//! either credited to its instructor (R1, once per order line, kept here so that one instructor's sales
//! never queue on one stream) or refunded in full when the trainee already owned the course.

use crate::effects::Decided;
use std::collections::HashSet;

use events::commerce::{
    CheckoutSessionCreated, InstructorEarningRecorded, InstructorEarningReversed, OrderExpired, OrderFulfilled,
    OrderLine, OrderLineRefunded, OrderPaid, OrderPaymentFailed, OrderPlaced, PaymentMethod,
};
use events::{Actor, Event, Role};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::Aggregate;
use super::course::{Course, CourseStatus};
use super::discount::{discounted, percent_on};
use crate::families::OrderEvent;

/// The instructor's share of a sold line, in percent (R1).
pub const INSTRUCTOR_SHARE_PERCENT: i64 = 80;
/// D3: what an instructor keeps of a refunded sale (30 % of their 80 %).
pub const INSTRUCTOR_KEEPS_ON_REFUND_PERCENT: i64 = 24;
pub const WALLET_TOO_LOW: &str = "Wallet balance is not enough";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderStatus {
    #[default]
    Missing,
    Placed,
    AwaitingPayment,
    Paid,
    Fulfilled,
    Failed,
    Expired,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Order {
    pub id: Uuid,
    pub trainee_id: Uuid,
    pub status: OrderStatus,
    pub method: Option<PaymentMethod>,
    pub lines: Vec<OrderLine>,
    pub total_cents: i64,
    /// The currency the trainee was shown the order in, and its rate that day (millionths per US dollar).
    pub shown: Option<(String, i64)>,
    pub session_id: Option<String>,
    /// The provider's page where the order is paid, while it waits for payment.
    pub checkout_url: Option<String>,
    /// Lines credited to their instructor or refunded: each is settled once.
    pub settled: HashSet<Uuid>,
    /// Lines credited to their instructor (R1).
    pub earned: HashSet<Uuid>,
    /// Lines whose instructor earning was reversed by a refund: each once.
    pub reversed: HashSet<Uuid>,
}

impl Aggregate for Order {
    fn evolve(mut self, event: &Event) -> Self {
        let Some(event) = OrderEvent::of(event) else { return self };
        match event {
            OrderEvent::OrderPlaced(placed) => {
                self.id = placed.order_id;
                self.trainee_id = placed.trainee_id;
                self.status = OrderStatus::Placed;
                self.method = Some(placed.method);
                self.lines.clone_from(&placed.lines);
                self.total_cents = placed.total_cents;
                self.shown = Some((placed.currency.clone(), placed.rate_ppm));
            }
            OrderEvent::CheckoutSessionCreated(created) => {
                self.status = OrderStatus::AwaitingPayment;
                self.session_id = Some(created.session_id.clone());
                self.checkout_url = Some(created.url.clone());
            }
            OrderEvent::OrderPaid(_) => self.status = OrderStatus::Paid,
            OrderEvent::OrderPaymentFailed(_) => self.status = OrderStatus::Failed,
            OrderEvent::OrderExpired(_) => self.status = OrderStatus::Expired,
            OrderEvent::InstructorEarningRecorded(InstructorEarningRecorded { course_id, .. }) => {
                self.settled.insert(*course_id);
                self.earned.insert(*course_id);
            }
            OrderEvent::OrderLineRefunded(OrderLineRefunded { course_id, .. }) => {
                self.settled.insert(*course_id);
            }
            OrderEvent::OrderFulfilled(_) => self.status = OrderStatus::Fulfilled,
            OrderEvent::InstructorEarningReversed(reversed) => {
                self.reversed.insert(reversed.course_id);
            }
        }
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderCommand {
    /// `courses` are the cart's courses, in cart order, as the write side knows them; `placer` places it.
    Place {
        placer: Actor,
        order_id: Uuid,
        method: PaymentMethod,
        courses: Vec<Course>,
        today: Date,
        currency: String,
        rate_ppm: i64,
    },
    AttachCheckoutSession {
        session_id: String,
        url: String,
        expires_at: OffsetDateTime,
    },
    ConfirmCardPayment {
        session_id: String,
        amount_cents: i64,
        currency: String,
        payment_reference: Option<String>,
    },
    ExpireCheckout {
        session_id: String,
    },
    MarkPaidFromWallet,
    FailPayment {
        reason: String,
    },
    RecordSale {
        course_id: Uuid,
    },
    /// A refund (D3) takes the line's earning back from its instructor.
    ReverseEarning {
        course_id: Uuid,
        refund_id: Uuid,
    },
    RefundLine {
        course_id: Uuid,
    },
    MarkFulfilled,
    /// Settles every line at once (true: enrolled, so credited; false: refunded) and marks the order
    /// fulfilled: one append for the whole order instead of one per line.
    SettleAndFulfil {
        lines: Vec<(Uuid, bool)>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRejection {
    NotAnIndividualTrainee,
    NotFound,
    EmptyCart,
    /// A course of the cart is no longer for sale (a draft, retired or deleted course).
    CourseNotForSale(Uuid),
    /// The order is not in a state where this can happen (a card payment of a wallet order, a session of an
    /// order already paid).
    WrongState(OrderStatus),
    /// A webhook names another session than the order's.
    SessionMismatch,
    /// A webhook's amount or currency differs from the order's total.
    AmountMismatch {
        expected_cents: i64,
        paid_cents: i64,
    },
    LineNotFound(Uuid),
    /// Fulfilment before every line is credited or refunded.
    Unsettled,
    /// A refund of a line whose sale is not recorded yet: it waits for the fulfilment.
    LineNotSettledYet(Uuid),
}

/// Prices `courses` on `today`: each at its list price less that day's discount (R11).
pub fn price_lines(courses: &[Course], today: Date) -> Result<Vec<OrderLine>, OrderRejection> {
    courses
        .iter()
        .map(|course| {
            if course.status != CourseStatus::Published {
                return Err(OrderRejection::CourseNotForSale(course.id));
            }
            let discount_percent = percent_on(&course.discounts, today);
            Ok(OrderLine {
                course_id: course.id,
                instructor_id: course.owner,
                title: course.title.clone(),
                list_price_cents: course.price_cents,
                discount_percent,
                price_cents: discounted(course.price_cents, discount_percent),
            })
        })
        .collect()
}

/// The instructor's earning of a line at `price_cents`: floor(0.80 x price) (R1).
pub fn instructor_share(price_cents: i64) -> i64 {
    price_cents * INSTRUCTOR_SHARE_PERCENT / 100
}

/// D3: on a refund the instructor gives back exactly what they were credited but floor(0.24 x price).
pub fn instructor_clawback(price_cents: i64) -> i64 {
    instructor_share(price_cents) - price_cents * INSTRUCTOR_KEEPS_ON_REFUND_PERCENT / 100
}

impl Order {
    /// The total in the currency the trainee was shown, at that day's rate, in its own minor unit (`None` for an
    /// order placed without a rate).
    pub fn shown_total(&self) -> Option<(i64, &str)> {
        let (currency, rate_ppm) = self.shown.as_ref().filter(|(_, rate)| *rate > 0)?;
        Some((events::currency::to_minor(self.total_cents, *rate_ppm, currency), currency.as_str()))
    }

    /// What the order says of its charge beside the amount: it is charged in US dollars, and this is that total
    /// in the currency the trainee was shown (`None` when that was US dollars).
    pub fn conversion(&self) -> Option<String> {
        let (shown, currency) = self.shown_total().filter(|(_, currency)| *currency != events::currency::BASE)?;
        let rate_ppm = self.shown.as_ref().map_or(0, |(_, rate)| *rate);
        Some(format!(
            "Charged in US dollars: {}, which is {} at the rate of the order's day ({} {currency} per USD).",
            events::currency::format(self.total_cents, events::currency::BASE),
            events::currency::format(shown, currency),
            rate_ppm as f64 / 1_000_000.0,
        ))
    }
}

/// Decides `command` on `order`.
pub fn decide(order: &Order, command: OrderCommand) -> Result<Decided, OrderRejection> {
    use OrderStatus as S;
    let order_id = order.id;
    let unchanged = Ok(Vec::new());
    match command {
        OrderCommand::Place { placer: actor, order_id, method, courses, today, currency, rate_ppm } => {
            if actor.role != Role::IndividualTrainee {
                return Err(OrderRejection::NotAnIndividualTrainee);
            }
            if order.status != S::Missing {
                return Err(OrderRejection::WrongState(order.status));
            }
            if courses.is_empty() {
                return Err(OrderRejection::EmptyCart);
            }
            let lines = price_lines(&courses, today)?;
            let total_cents = lines.iter().map(|line| line.price_cents).sum();
            let placed =
                OrderPlaced { order_id, trainee_id: actor.user_id, method, lines, total_cents, currency, rate_ppm };
            if total_cents > 0 {
                return Ok(vec![Event::OrderPlaced(placed)].into());
            }
            // Nothing to pay (free courses, full discounts): paid as placed, with no wallet debit or card
            // checkout (a provider refuses a zero charge); the checkout saga enrols as for any paid order.
            let paid = OrderPaid {
                order_id,
                trainee_id: actor.user_id,
                method,
                amount_cents: 0,
                currency: events::currency::BASE.to_owned(),
                payment_reference: None,
            };
            Ok(vec![Event::OrderPlaced(placed), Event::OrderPaid(paid)])
        }
        OrderCommand::AttachCheckoutSession { session_id, url, expires_at } => match order.status {
            S::Placed if order.method == Some(PaymentMethod::Card) => {
                Ok(vec![Event::CheckoutSessionCreated(CheckoutSessionCreated {
                    order_id,
                    session_id,
                    url,
                    expires_at,
                })])
            }
            S::AwaitingPayment if order.session_id.as_deref() == Some(session_id.as_str()) => unchanged,
            S::Missing => Err(OrderRejection::NotFound),
            other => Err(OrderRejection::WrongState(other)),
        },
        OrderCommand::ConfirmCardPayment { session_id, amount_cents, currency, payment_reference } => {
            if order.status == S::Missing {
                return Err(OrderRejection::NotFound);
            }
            if order.session_id.as_deref() != Some(session_id.as_str()) {
                return Err(OrderRejection::SessionMismatch);
            }
            match order.status {
                S::AwaitingPayment => {}
                S::Paid | S::Fulfilled => return Ok(Decided::default()),
                other => return Err(OrderRejection::WrongState(other)),
            }
            if amount_cents != order.total_cents || !currency.eq_ignore_ascii_case("USD") {
                return Err(OrderRejection::AmountMismatch {
                    expected_cents: order.total_cents,
                    paid_cents: amount_cents,
                });
            }
            Ok(vec![paid(order, PaymentMethod::Card, payment_reference)])
        }
        OrderCommand::ExpireCheckout { session_id } => match order.status {
            S::Missing => Err(OrderRejection::NotFound),
            _ if order.session_id.as_deref() != Some(session_id.as_str()) => Err(OrderRejection::SessionMismatch),
            S::AwaitingPayment => Ok(vec![Event::OrderExpired(OrderExpired { order_id })]),
            // Paid just before the session ran out, or told twice: nothing to do.
            _ => unchanged,
        },
        OrderCommand::MarkPaidFromWallet => match order.status {
            S::Placed if order.method == Some(PaymentMethod::Wallet) => {
                Ok(vec![paid(order, PaymentMethod::Wallet, None)])
            }
            S::Paid | S::Fulfilled if order.method == Some(PaymentMethod::Wallet) => unchanged,
            S::Missing => Err(OrderRejection::NotFound),
            other => Err(OrderRejection::WrongState(other)),
        },
        OrderCommand::FailPayment { reason } => match order.status {
            S::Placed => Ok(vec![Event::OrderPaymentFailed(OrderPaymentFailed { order_id, reason })]),
            S::Failed => unchanged,
            S::Missing => Err(OrderRejection::NotFound),
            other => Err(OrderRejection::WrongState(other)),
        },
        OrderCommand::RecordSale { course_id } => {
            let Some(line) = settle(order, course_id)? else { return Ok(Decided::default()) };
            Ok(vec![Event::InstructorEarningRecorded(InstructorEarningRecorded {
                order_id,
                course_id,
                instructor_id: line.instructor_id,
                price_cents: line.price_cents,
                amount_cents: instructor_share(line.price_cents),
            })])
        }
        OrderCommand::ReverseEarning { course_id, refund_id } => {
            // The sale is recorded first (a refund approved while the order was still being fulfilled waits for
            // it); a line refunded in full at fulfilment earned nothing, and a reversed one is reversed once.
            if !order.settled.contains(&course_id) {
                return Err(OrderRejection::LineNotSettledYet(course_id));
            }
            let earned = order.earned.contains(&course_id) && !order.reversed.contains(&course_id);
            let line = order.lines.iter().find(|line| line.course_id == course_id);
            let Some(line) = line.filter(|_| earned) else { return Ok(Decided::default()) };
            Ok(vec![Event::InstructorEarningReversed(InstructorEarningReversed {
                order_id,
                course_id,
                instructor_id: line.instructor_id,
                refund_id,
                amount_cents: instructor_clawback(line.price_cents),
            })])
        }
        OrderCommand::RefundLine { course_id } => {
            let Some(line) = settle(order, course_id)? else { return Ok(Decided::default()) };
            Ok(vec![Event::OrderLineRefunded(OrderLineRefunded {
                order_id,
                trainee_id: order.trainee_id,
                course_id,
                amount_cents: line.price_cents,
            })])
        }
        OrderCommand::SettleAndFulfil { .. } if order.status == S::Fulfilled => unchanged,
        OrderCommand::SettleAndFulfil { lines } => {
            let mut events = Vec::new();
            let mut state = order.clone();
            let steps = lines.into_iter().map(|(course_id, enrolled)| match enrolled {
                true => OrderCommand::RecordSale { course_id },
                false => OrderCommand::RefundLine { course_id },
            });
            for step in steps.chain([OrderCommand::MarkFulfilled]) {
                let decided = decide(&state, step)?.events;
                state = decided.iter().fold(state, Order::evolve);
                events.extend(decided);
            }
            Ok(events)
        }
        OrderCommand::MarkFulfilled => match order.status {
            S::Paid if order.lines.iter().all(|line| order.settled.contains(&line.course_id)) => {
                Ok(vec![Event::OrderFulfilled(OrderFulfilled { order_id })])
            }
            S::Paid => Err(OrderRejection::Unsettled),
            S::Fulfilled => unchanged,
            S::Missing => Err(OrderRejection::NotFound),
            other => Err(OrderRejection::WrongState(other)),
        },
    }
    .map(Decided::from)
}

fn paid(order: &Order, method: PaymentMethod, payment_reference: Option<String>) -> Event {
    Event::OrderPaid(OrderPaid {
        order_id: order.id,
        trainee_id: order.trainee_id,
        method,
        amount_cents: order.total_cents,
        currency: events::currency::BASE.to_owned(),
        payment_reference,
    })
}

/// The paid order's line for `course_id`, or `None` when it is settled already.
fn settle(order: &Order, course_id: Uuid) -> Result<Option<&OrderLine>, OrderRejection> {
    match order.status {
        OrderStatus::Paid => {}
        OrderStatus::Missing => return Err(OrderRejection::NotFound),
        other => return Err(OrderRejection::WrongState(other)),
    }
    let line =
        order.lines.iter().find(|line| line.course_id == course_id).ok_or(OrderRejection::LineNotFound(course_id))?;
    Ok((!order.settled.contains(&course_id)).then_some(line))
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
