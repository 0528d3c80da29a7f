//! The checkout steps (DOMAIN.md sagas 1 and 2), each one command through the pipeline: settling a wallet
//! order, enrolling a bought course, crediting the instructor or refunding the line, taking the course out
//! of the cart, and fulfilling the order. The order route runs the wallet settlement at once, so that a
//! trainee learns whether they paid; the checkout saga runs every step from the events (and the settlement
//! again for an order whose request crashed half-way). Every step is idempotent twice over: its decider
//! changes nothing when the step already happened, and a saga's command carries an Idempotency-Key derived
//! from the event that caused it.

use super::rejections::Refusal;
use events::commerce::CreditReason;
use events::learning::EnrollmentSource;
use events::stream::{
    access_stream, cart_stream, course_stream, enrollment_stream, order_stream, wallet_stream, wishlist_stream,
};
use uuid::Uuid;
use write_side::Folded;

use super::CommandApiState;
use super::execute::{Accepted, Caller, CommandRun, Decision, StepError, Trust, nothing, on_aggregate, step};
use super::headers::CommandHeaders;
use crate::domain::cart::{self, CourseList, ListCommand, ListKind, ListOf};
use crate::domain::course::Course;
use crate::domain::effects::Decided;
use crate::domain::enrollment::{self, Enrollment, EnrolmentCommand};
use crate::domain::order::{self, Order, OrderCommand, OrderRejection, WALLET_TOO_LOW};
use crate::domain::support::{self, AccessCommand, AccessRequest};
use crate::domain::wallet::{self, DebitOutcome, Wallet, WalletCommand};
use api_contract::Problem;
use write_side::CommandError;

/// The event that causes a saga's command: the command's Idempotency-Key and causation id come from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cause {
    pub event_id: Uuid,
    pub correlation_id: Option<Uuid>,
}

impl Cause {
    pub(crate) fn headers(&self, step: &str) -> CommandHeaders {
        CommandHeaders {
            idempotency_key: Some(format!("{}/{step}", self.event_id)),
            if_match: None,
            correlation_id: self.correlation_id.unwrap_or(self.event_id),
            causation_id: Some(self.event_id),
        }
    }
}

/// How enrolling a bought course ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrolment {
    Enrolled,
    /// The trainee already owned the course (another order, a grant), or it was deleted: the line is refunded.
    NotFulfillable,
}

/// How a wallet order's payment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalletPayment {
    Paid,
    Refused { balance_cents: i64 },
}

/// A command on one stream, answered `200 {id}`.
fn run(stream_id: String, caller: Caller, headers: CommandHeaders, id: Uuid) -> CommandRun {
    CommandRun::new(stream_id, caller, headers, String::new()).with_id(id)
}

/// Pays `order_id` from its trainee's wallet (operation `order-{id}`) and records the outcome on the order.
/// Run again, it finds both done and answers the same.
pub(crate) async fn settle_wallet_order(
    state: &CommandApiState,
    caller: Caller,
    headers: &CommandHeaders,
    order: &Order,
) -> Result<(WalletPayment, Accepted), StepError> {
    let operation_id = format!("order-{}", order.id);
    let debit = WalletCommand::Debit {
        trainee_id: order.trainee_id,
        operation_id: operation_id.clone(),
        order_id: order.id,
        amount_cents: order.total_cents,
    };
    let plain = CommandHeaders { idempotency_key: None, ..headers.clone() };
    let wallet_run = run(wallet_stream(order.trainee_id), caller, plain.clone(), order.trainee_id);
    let (_, outcome) =
        step(state, &wallet_run, nothing, |wallet: &Wallet, (): &()| wallet::decide(wallet, debit.clone())).await?;
    let payment = match outcome {
        Some(DebitOutcome::Paid) => WalletPayment::Paid,
        Some(DebitOutcome::Refused { balance_cents }) => WalletPayment::Refused { balance_cents },
        None => unreachable!("a command without an Idempotency-Key is never a replay"),
    };
    let command = match payment {
        WalletPayment::Paid => OrderCommand::MarkPaidFromWallet,
        WalletPayment::Refused { .. } => OrderCommand::FailPayment { reason: WALLET_TOO_LOW.to_owned() },
    };
    let order_run = run(order_stream(order.id), caller, plain, order.id);
    let accepted = on_aggregate(state, &order_run, |current: &Order| order::decide(current, command.clone())).await?;
    Ok((payment, accepted))
}

/// The checkout saga's handle on the command pipeline.
#[derive(Debug, Clone)]
pub struct Checkout {
    state: CommandApiState,
}

impl Checkout {
    const SAGA: Caller = Caller::Saga("checkout");

    pub fn new(state: CommandApiState) -> Self {
        Checkout { state }
    }

    /// The pictures no longer shown, deleted from the same storage.
    pub fn pictures(&self) -> super::pictures::PictureCleanup {
        super::pictures::PictureCleanup::new(self.state.clone())
    }

    /// The learning commands on the same pipeline (Saga 8).
    pub fn learning(&self) -> super::learning::Learning {
        super::learning::Learning::new(self.state.clone())
    }

    pub fn newsletter(&self) -> super::newsletter::Newsletter {
        super::newsletter::Newsletter::new(self.state.clone())
    }

    /// The verification codes printed on certificates (made with this server's token secret).
    pub fn certificate_codes(&self) -> api_contract::CertificateCodes {
        self.state.keys.certificates().clone()
    }

    /// The order as the write side knows it now.
    pub async fn order(&self, order_id: Uuid) -> Result<Order, StepError> {
        Ok(self.state.write.load::<Order>(&order_stream(order_id)).await?.state)
    }

    /// Settles a wallet order that is still placed (its request stopped before it could).
    pub async fn pay_from_wallet(&self, cause: &Cause, order: &Order) -> Result<WalletPayment, StepError> {
        let (payment, _) = settle_wallet_order(&self.state, Self::SAGA, &cause.headers("pay"), order).await?;
        Ok(payment)
    }

    /// Opens the checkout session of a card order that has none (its request stopped before it could).
    pub async fn open_card_checkout(&self, cause: &Cause, order: &Order) -> Result<(), StepError> {
        super::payments::open_checkout(&self.state, Self::SAGA, &cause.headers("checkout"), order).await?;
        Ok(())
    }

    /// Enrols the order's trainee in one bought course. An enrolment from another source, or a course deleted
    /// since, cannot be fulfilled: the caller refunds the line.
    pub async fn enroll(&self, cause: &Cause, order: &Order, course_id: Uuid) -> Result<Enrolment, StepError> {
        let Some(line) = order.lines.iter().find(|line| line.course_id == course_id) else {
            return Err(CommandError::Refused(OrderRejection::LineNotFound(course_id).problem()));
        };
        let source = EnrollmentSource::Purchase { order_id: order.id, price_cents: line.price_cents };
        let trainee_id = order.trainee_id;
        let course_run = run(
            enrollment_stream(trainee_id, course_id),
            Self::SAGA,
            cause.headers(&format!("enroll/{course_id}")),
            course_id,
        );
        let state = &self.state;
        let stream = course_stream(course_id);
        let course = |_: Trust| state.write.load::<Course>(&stream);
        let (_, enrolment) = step(state, &course_run, course, |enrollment: &Enrollment, course: &Folded<Course>| {
            // A refusal (owned from another source, the course deleted) is an outcome here, not an error:
            // the line is then refunded.
            let enroll = EnrolmentCommand::Enroll { course: &course.state, trainee_id, source: source.clone() };
            let Ok(decided) = enrollment::decide(enrollment, enroll) else {
                return Ok::<_, Problem>(Decision::with_outcome(Vec::new(), Enrolment::NotFulfillable));
            };
            // D4: a deletion of the course appended since this was decided makes the append decide again.
            let guards =
                vec![event_store::Guard::StreamAt { stream_id: course_stream(course_id), version: course.version }];
            Ok(Decision { guards, ..Decision::with_outcome(decided.events, Enrolment::Enrolled) })
        })
        .await?;
        // No outcome: the append met this step's stored answer, which only an enrolment leaves.
        Ok(enrolment.unwrap_or(Enrolment::Enrolled))
    }

    /// Settles every line of a paid order (credits the instructor of each enrolled line, R1; refunds in full
    /// each line that could not be fulfilled) and marks the order fulfilled, in one append.
    pub async fn settle(&self, cause: &Cause, order: &Order, lines: &[(Uuid, Enrolment)]) -> Result<(), StepError> {
        let lines: Vec<(Uuid, bool)> =
            lines.iter().map(|(course_id, enrolment)| (*course_id, *enrolment == Enrolment::Enrolled)).collect();
        let command = OrderCommand::SettleAndFulfil { lines };
        let order_run = run(order_stream(order.id), Self::SAGA, cause.headers("settle"), order.id);
        on_aggregate(&self.state, &order_run, |current: &Order| order::decide(current, command.clone())).await?;
        Ok(())
    }

    /// D3: takes a refunded line's earning back from its instructor, once per line.
    pub async fn reverse_earning(
        &self,
        cause: &Cause,
        order_id: Uuid,
        course_id: Uuid,
        refund_id: Uuid,
    ) -> Result<(), StepError> {
        let command = OrderCommand::ReverseEarning { course_id, refund_id };
        let order_run = run(order_stream(order_id), Self::SAGA, cause.headers("reverse"), order_id);
        on_aggregate(&self.state, &order_run, |current: &Order| order::decide(current, command.clone())).await?;
        Ok(())
    }

    /// Credits a trainee's wallet once for `operation_id`.
    pub async fn credit_wallet(
        &self,
        cause: &Cause,
        trainee_id: Uuid,
        operation_id: String,
        amount_cents: i64,
        reason: CreditReason,
    ) -> Result<(), StepError> {
        let wallet_run = run(wallet_stream(trainee_id), Self::SAGA, cause.headers("credit"), trainee_id);
        let credit = WalletCommand::Credit { trainee_id, operation_id, amount_cents, reason, note: None };
        on_aggregate(&self.state, &wallet_run, |wallet: &Wallet| {
            wallet::decide(wallet, credit.clone()).map(Decided::without_outcome)
        })
        .await?;
        Ok(())
    }

    /// Saga 4: enrols a corporate trainee whose access request was resolved (source CorporateGrant). A
    /// trainee enrolled meanwhile, or a course deleted since, is left as it is.
    pub async fn grant_access(
        &self,
        cause: &Cause,
        trainee_id: Uuid,
        course_id: Uuid,
        request_id: Uuid,
    ) -> Result<(), StepError> {
        let source = EnrollmentSource::CorporateGrant { request_id };
        let grant_run = run(enrollment_stream(trainee_id, course_id), Self::SAGA, cause.headers("grant"), course_id);
        let state = &self.state;
        let stream = course_stream(course_id);
        let course = |_: Trust| state.write.load::<Course>(&stream);
        step(state, &grant_run, course, |enrollment: &Enrollment, course: &Folded<Course>| {
            let enroll = EnrolmentCommand::Enroll { course: &course.state, trainee_id, source: source.clone() };
            let decided = enrollment::decide(enrollment, enroll).unwrap_or_default();
            let guards =
                vec![event_store::Guard::StreamAt { stream_id: course_stream(course_id), version: course.version }];
            Ok::<_, Problem>(Decision { guards, ..decided.into() })
        })
        .await
        .map(|(_, _): (Accepted, Option<()>)| ())?;
        Ok(())
    }

    /// Saga 5: rejects a corporate access request for a course that was deleted, if it is still open.
    pub async fn close_access_request(
        &self,
        cause: &Cause,
        trainee_id: Uuid,
        course_id: Uuid,
    ) -> Result<(), StepError> {
        let headers = cause.headers(&format!("close-access/{trainee_id}"));
        let close_run = run(access_stream(trainee_id, course_id), Self::SAGA, headers, course_id);
        on_aggregate(&self.state, &close_run, |request: &AccessRequest| {
            support::decide_access(request, AccessCommand::Close { trainee_id, course_id })
        })
        .await?;
        Ok(())
    }

    /// R15: a lesson without minutes takes the length YouTube measured for `video_url` (its embed URL); a lesson
    /// that has minutes by then, or another video, or is gone, is left alone.
    pub async fn fill_lesson_duration(
        &self,
        cause: &Cause,
        (course_id, section_id, lesson_id): (Uuid, Uuid, Uuid),
        video_url: &str,
        seconds: u64,
    ) -> Result<(), StepError> {
        let headers = cause.headers(&format!("lesson-duration/{lesson_id}"));
        let course_run = run(course_stream(course_id), Self::SAGA, headers, lesson_id);
        on_aggregate(&self.state, &course_run, |course: &Course| {
            let command = crate::domain::course::CourseCommand::FillLessonDuration {
                section_id,
                lesson_id,
                video_url: video_url.to_owned(),
                seconds,
            };
            crate::domain::course::decide(course, command)
        })
        .await?;
        Ok(())
    }

    /// Takes a course out of a trainee's cart or wishlist, if it is there.
    pub async fn withdraw(
        &self,
        cause: &Cause,
        kind: ListKind,
        trainee_id: Uuid,
        course_id: Uuid,
    ) -> Result<(), StepError> {
        let stream = match kind {
            ListKind::Cart => cart_stream(trainee_id),
            ListKind::Wishlist => wishlist_stream(trainee_id),
        };
        // One causing event (a course retired) may withdraw the course from many lists: the key names the list.
        let step = format!("withdraw/{stream}/{course_id}");
        let list_run = run(stream, Self::SAGA, cause.headers(&step), course_id);
        on_aggregate(&self.state, &list_run, |list: &CourseList| {
            cart::decide(list, ListCommand::Withdraw { list: ListOf { kind, trainee_id }, course_id })
                .map_err(|_| Problem::internal().because("a withdrawal is never refused"))
        })
        .await?;
        Ok(())
    }

    /// Empties a trainee's cart and wishlist (their account is deleted or erased).
    pub async fn clear_lists(&self, cause: &Cause, trainee_id: Uuid) -> Result<(), StepError> {
        for (kind, stream) in
            [(ListKind::Cart, cart_stream(trainee_id)), (ListKind::Wishlist, wishlist_stream(trainee_id))]
        {
            let list_run = run(stream.clone(), Self::SAGA, cause.headers(&format!("clear/{stream}")), trainee_id);
            on_aggregate(&self.state, &list_run, |list: &CourseList| {
                cart::decide(list, ListCommand::Clear { list: ListOf { kind, trainee_id }, actor: None })
                    .map_err(|_| Problem::internal().because("clearing a list is never refused"))
            })
            .await?;
        }
        Ok(())
    }
}
