//! `POST /api/v1/orders`: an individual trainee orders the courses in their cart, priced from the Course
//! aggregates with the day's discount, shown in the currency of `country` at the rate of the moment (D8). A
//! wallet order is paid at once or fails with `422 insufficient_wallet_balance`; a card order answers with
//! the provider's checkout page, and only the provider's signed webhook marks it paid (D10).
//!
//! Also the admin's money and access commands: crediting a wallet with a reason, and granting an enrolment.

use api_contract::{Authenticated, JsonCommand, Problem};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use events::Role;
use events::commerce::{CreditReason, PaymentMethod};
use events::learning::{EnrollmentSource, RevocationReason};
use events::stream::{
    cart_stream, course_stream, enrollment_stream, fx_stream, order_stream, user_stream, wallet_stream,
};
use http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use super::CommandApiState;
use super::checkout::{WalletPayment, settle_wallet_order};
use super::execute::{
    Accepted, CommandRun, Decision, Trust, complete_answer, execute, execute_loading, load_aggregate, problem,
};
use super::headers::CommandHeaders;
use super::payments::open_checkout;
use super::rejections::Refusal;
use crate::domain::account::Account;
use crate::domain::cart::CourseList;
use crate::domain::course::Course;
use crate::domain::effects::Decided;
use crate::domain::enrollment::{self, Enrollment, EnrollmentRejection, EnrolmentCommand, LearningCommand};
use crate::domain::fx::FxRate;
use crate::domain::order::{self, Order, OrderCommand, OrderStatus};
use crate::domain::wallet::{self, Wallet, WalletCommand};
use write_side::Folded;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrderBody {
    #[schema(value_type = String, pattern = "^(card|wallet)$")]
    method: PaymentMethod,
    /// ISO 3166 alpha-2: the currency the order's prices are shown in (USD when unknown).
    #[serde(default)]
    country: Option<String>,
}

/// The display currency and its rate from the write side's `fx-{currency}` stream; USD without a rate.
async fn display(state: &CommandApiState, country: Option<&str>) -> Result<(String, i64), Problem> {
    let Some(currency) = country.and_then(events::currency::of_country).filter(|c| *c != "USD") else {
        return Ok(("USD".to_owned(), 1_000_000));
    };
    let rate = load_aggregate::<FxRate>(state, &fx_stream(currency)).await?.state.rate_ppm;
    Ok(rate.map_or_else(|| ("USD".to_owned(), 1_000_000), |rate| (currency.to_owned(), rate)))
}

/// The cart and its courses as the write side knows them now.
async fn cart_with_courses(
    state: &CommandApiState,
    trainee_id: Uuid,
) -> Result<(Folded<CourseList>, Vec<Course>), Problem> {
    let cart = load_aggregate::<CourseList>(state, &cart_stream(trainee_id)).await?;
    let mut courses = Vec::with_capacity(cart.state.courses.len());
    for course_id in &cart.state.courses {
        courses.push(load_aggregate::<Course>(state, &course_stream(*course_id)).await?.state);
    }
    Ok((cart, courses))
}

/// `POST /api/v1/orders {method, country}`.
pub(crate) async fn place(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<OrderBody>,
) -> Result<Response, Problem> {
    let OrderBody { method, country } = command.body;
    let (currency, rate_ppm) = display(&state, country.as_deref()).await?;
    let trainee_id = actor.user_id;
    let order_id = Uuid::now_v7();
    let digest = command.digest;
    let run = CommandRun::new(order_stream(order_id), actor.into(), headers.clone(), digest.clone())
        .created()
        .with_id(order_id);
    let today = time::OffsetDateTime::now_utc().date();
    let facts = |_: Trust| cart_with_courses(&state, trainee_id);
    let placer = actor.actor();
    let placed = execute_loading(&state, run, facts, |order: &Order, (cart, courses)| {
        let command = OrderCommand::Place {
            placer,
            order_id,
            method,
            courses: courses.clone(),
            today,
            currency: currency.clone(),
            rate_ppm,
        };
        let decided = order::decide(order, command).map_err(Refusal::problem)?;
        // Placed on the cart the trainee saw: a change of the cart meanwhile makes the order decide again.
        let guards = vec![event_store::Guard::StreamAt { stream_id: cart_stream(trainee_id), version: cart.version }];
        Ok::<_, Problem>(Decision { guards, ..decided.into() })
    })
    .await?;
    // A retried request (same Idempotency-Key) answers what its first attempt answered once it had run every
    // step; if that attempt stopped half-way, the retry carries on with the order it placed. Only the whole
    // answer has a `status`.
    if placed.data.get("status").is_some() {
        return Ok(placed.into_response());
    }
    let first = placed.token.clone();
    let order_id = placed.data.get("id").and_then(|id| id.as_str()).and_then(|id| id.parse().ok()).unwrap_or(order_id);
    let order = load_aggregate::<Order>(&state, &order_stream(order_id)).await?.state;
    let whole = match method {
        // Nothing to pay: paid as placed, no debit and no checkout.
        _ if order.status == OrderStatus::Paid => answer(placed, &order, "paid", None),
        PaymentMethod::Wallet => {
            let (payment, accepted) =
                settle_wallet_order(&state, actor.into(), &headers, &order).await.map_err(problem)?;
            match payment {
                WalletPayment::Paid => answer(accepted, &order, "paid", None),
                WalletPayment::Refused { balance_cents } => {
                    return Err(Problem::rule(
                        "insufficient_wallet_balance",
                        format!(
                            "Your wallet holds {balance_cents} cents, less than the order's {} cents; nothing was \
                             charged.",
                            order.total_cents
                        ),
                    ));
                }
            }
        }
        PaymentMethod::Card => {
            let (accepted, session_id, url) = match (&order.session_id, &order.checkout_url) {
                // A retried request finds the session its first attempt opened.
                (Some(session_id), Some(url)) => (placed, session_id.clone(), url.clone()),
                _ => open_checkout(&state, actor.into(), &headers, &order).await.map_err(problem)?,
            };
            // The checkout page the browser is sent to (API.md: `{session_id, url}`).
            let checkout = serde_json::json!({ "session_id": session_id, "url": url });
            answer(accepted, &order, "awaiting_payment", Some(checkout))
        }
    };
    let whole = complete_answer(&state, actor.into(), &headers, &digest, &first, whole).await?;
    Ok(whole.into_response())
}

/// An order's answer, as documented.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct OrderAnswer {
    id: Uuid,
    /// `paid` (a wallet order) or `awaiting_payment` (a card order).
    status: String,
    /// USD cents.
    total: MoneyAnswer,
    /// Card orders: the provider's checkout page to send the browser to.
    checkout: Option<CheckoutAnswer>,
    /// The total in the currency the trainee was shown, at that day's rate.
    shown_total: MoneyAnswer,
    version: i64,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct MoneyAnswer {
    amount_cents: i64,
    currency: String,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct CheckoutAnswer {
    session_id: String,
    url: String,
}

/// `201 {id, status, total, checkout?}` with the token of the last step.
fn answer(mut accepted: Accepted, order: &Order, status: &str, checkout: Option<serde_json::Value>) -> Accepted {
    accepted.status = StatusCode::CREATED;
    accepted.data = serde_json::json!({
        "id": order.id,
        "status": status,
        "total": { "amount_cents": order.total_cents, "currency": "USD" },
        "version": accepted.token.stream_version,
    });
    // The total in the currency the trainee was shown, at that day's rate: the order is charged in US dollars.
    if let Some((amount, currency)) = order.shown_total() {
        accepted.data["shown_total"] = serde_json::json!({ "amount_cents": amount, "currency": currency });
    }
    if let Some(checkout) = checkout {
        accepted.data["checkout"] = checkout;
    }
    accepted
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreditBody {
    #[schema(minimum = 1, maximum = 100_000_000)]
    amount_cents: i64,
    /// Why the money is given, for the trainee's statement.
    #[schema(schema_with = super::fields::credit_reason)]
    reason: String,
}

/// The account of `user_id` on the write side, or 404 unless it is an individual trainee (`roles`).
async fn trainee_account(state: &CommandApiState, user_id: Uuid, roles: &[Role]) -> Result<(), Problem> {
    match load_aggregate::<Account>(state, &user_stream(user_id)).await?.state {
        Account::Registered(role) if roles.contains(&role) => Ok(()),
        _ => Err(Problem::not_found("There is no such trainee.")),
    }
}

/// `POST /api/v1/admin/wallets/{id}/credits {amount_cents, reason}`: the operation id is the request's
/// Idempotency-Key when there is one, so a retried credit is credited once.
pub(crate) async fn credit_wallet(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    api_contract::PathId(trainee_id): api_contract::PathId,
    headers: CommandHeaders,
    command: JsonCommand<CreditBody>,
) -> Result<Accepted, Problem> {
    trainee_account(&state, trainee_id, &[Role::IndividualTrainee]).await?;
    let CreditBody { amount_cents, reason } = command.body;
    let reason_text = reason.trim().to_owned();
    let operation_id = match &headers.idempotency_key {
        Some(key) => format!("admin-{}-{key}", actor.user_id),
        None => format!("admin-{}", Uuid::now_v7()),
    };
    let run = CommandRun::new(wallet_stream(trainee_id), actor.into(), headers, command.digest)
        .answering(StatusCode::CREATED, serde_json::json!({ "id": trainee_id, "operation_id": operation_id }));
    let reason = CreditReason::AdminCredit;
    let credit = WalletCommand::Credit { trainee_id, operation_id, amount_cents, reason, note: Some(reason_text) };
    super::execute::execute(&state, run, |wallet: &Wallet| {
        wallet::decide(wallet, credit.clone()).map(Decided::without_outcome)
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GrantBody {
    trainee_id: Uuid,
    course_id: Uuid,
}

/// `POST /api/v1/admin/enrollments/revocations {trainee_id, course_id}`: an admin takes a trainee's access
/// to a course away (their certificate stays valid).
pub(crate) async fn revoke(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<GrantBody>,
) -> Result<Accepted, Problem> {
    let GrantBody { trainee_id, course_id } = command.body;
    let reason = RevocationReason::AdminAction { admin_id: actor.user_id };
    let run = CommandRun::new(enrollment_stream(trainee_id, course_id), actor.into(), headers, command.digest)
        .answering(StatusCode::OK, serde_json::json!({ "id": course_id, "trainee_id": trainee_id }));
    execute(&state, run, |enrollment: &Enrollment| {
        enrollment::decide_learning(
            enrollment,
            LearningCommand::Revoke { trainee_id, course_id, reason: reason.clone() },
        )
    })
    .await
}

/// `POST /api/v1/admin/enrollments {trainee_id, course_id}`: an admin grants a trainee a course.
pub(crate) async fn grant(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<GrantBody>,
) -> Result<Accepted, Problem> {
    let GrantBody { trainee_id, course_id } = command.body;
    trainee_account(&state, trainee_id, &[Role::IndividualTrainee, Role::CorporateTrainee]).await?;
    let run = CommandRun::new(enrollment_stream(trainee_id, course_id), actor.into(), headers, command.digest)
        .answering(StatusCode::CREATED, serde_json::json!({ "id": course_id, "trainee_id": trainee_id }));
    let source = EnrollmentSource::AdminGrant { admin_id: actor.user_id };
    let stream = course_stream(course_id);
    let course = |_: Trust| state.write.load::<Course>(&stream);
    execute_loading(&state, run, course, |enrollment: &Enrollment, course| {
        let enroll = EnrolmentCommand::Enroll { course: &course.state, trainee_id, source: source.clone() };
        let decided = enrollment::decide(enrollment, enroll)?;
        let guards =
            vec![event_store::Guard::StreamAt { stream_id: course_stream(course_id), version: course.version }];
        Ok::<_, EnrollmentRejection>(Decision { guards, ..decided.into() })
    })
    .await
}
