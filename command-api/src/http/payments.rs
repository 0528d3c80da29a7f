//! Card payments (D10): the checkout session of a card order, and `POST /api/v1/payments/webhook`, where the
//! provider reports a paid or expired session. The webhook's signature and age are checked before anything
//! is read from it; the provider's event id is the command's Idempotency-Key, so a delivery seen before is
//! answered from the idempotency table; the order's decider checks session and amount and pays an order at
//! most once. No route lets a client mark an order paid.

use std::sync::Arc;

use api_contract::{Problem, request_digest};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use events::stream::order_stream;
use http::{HeaderMap, StatusCode};
use time::OffsetDateTime;

use super::CommandApiState;
use super::execute::{Accepted, Caller, CommandRun, StepError, execute, on_aggregate};
use super::headers::CommandHeaders;
use crate::domain::order::{self, Order, OrderCommand};
use crate::payments::{CheckoutLine, CheckoutRequest, PaymentError, PaymentProvider, WebhookEvent, WebhookVerifier};
use write_side::CommandError;

/// What the command API needs for card payments.
#[derive(Debug, Clone)]
pub struct CardPayments {
    pub provider: Arc<dyn PaymentProvider>,
    pub webhooks: Arc<WebhookVerifier>,
    /// Where the browser comes back to: `<return_url>/<order id>?checkout=success|cancelled`.
    pub return_url: String,
    /// How long a checkout session takes payments.
    pub checkout_ttl: time::Duration,
}

/// The provider as a caller: its deliveries' Idempotency-Keys are its event ids.
const PROVIDER: Caller = Caller::Saga("payment-provider");

/// A checkout session's expiry, decided once per order: the order id is a UUIDv7, so its time is fixed, and
/// a retried request for the same order asks the provider for exactly the same session.
fn expires_at(order: &Order, ttl: time::Duration) -> OffsetDateTime {
    let placed = order
        .id
        .get_timestamp()
        .map(|timestamp| {
            let (seconds, nanos) = timestamp.to_unix();
            OffsetDateTime::from_unix_timestamp(i64::try_from(seconds).unwrap_or(i64::MAX))
                .unwrap_or(OffsetDateTime::UNIX_EPOCH)
                + time::Duration::nanoseconds(i64::from(nanos))
        })
        .unwrap_or_else(OffsetDateTime::now_utc);
    (placed + ttl).replace_nanosecond(0).unwrap_or(placed + ttl)
}

/// Opens (or finds again) the provider's checkout session of a placed card order and records it on the
/// order. Answers the session's id and page.
pub(crate) async fn open_checkout(
    state: &CommandApiState,
    caller: Caller,
    headers: &CommandHeaders,
    order: &Order,
) -> Result<(Accepted, String, String), StepError> {
    let payments = state
        .card_payments
        .as_ref()
        .ok_or_else(|| CommandError::Unavailable("card payments are not configured".to_owned()))?;
    let return_to = format!("{}/{}", payments.return_url.trim_end_matches('/'), order.id);
    let request = CheckoutRequest {
        order_id: order.id,
        lines: order
            .lines
            .iter()
            .map(|line| CheckoutLine { name: line.title.clone(), amount_minor: line.price_cents })
            .collect(),
        currency: "USD".to_owned(),
        success_url: format!("{return_to}?checkout=success"),
        cancel_url: format!("{return_to}?checkout=cancelled"),
        expires_at: expires_at(order, payments.checkout_ttl),
        customer_email: None,
        note: order.conversion(),
    };
    let session = payments.provider.create_checkout_session(&request).await.map_err(|error| match error {
        PaymentError::Unavailable(_) => CommandError::Unavailable(error.to_string()),
        PaymentError::Refused(_) | PaymentError::Malformed(_) => {
            CommandError::Refused(Problem::internal().because(error))
        }
    })?;
    let command = OrderCommand::AttachCheckoutSession {
        session_id: session.id.clone(),
        url: session.url.clone(),
        expires_at: session.expires_at,
    };
    let plain = CommandHeaders { idempotency_key: None, ..headers.clone() };
    let run = CommandRun::new(order_stream(order.id), caller, plain, String::new()).with_id(order.id);
    let accepted = on_aggregate(state, &run, |current: &Order| order::decide(current, command.clone())).await?;
    Ok((accepted, session.id, session.url))
}

/// `POST /api/v1/payments/webhook`: `200 {received: true}` for an event taken (or one of no interest), `400`
/// for a forged, stale or malformed delivery, which changes nothing.
pub(crate) async fn webhook(
    State(state): State<CommandApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let payments = state
        .card_payments
        .as_ref()
        .ok_or_else(|| Problem::unavailable().because("card payments are not configured"))?;
    let signature = headers.get("stripe-signature").and_then(|value| value.to_str().ok());
    let event = payments
        .webhooks
        .verify(signature, &body, OffsetDateTime::now_utc())
        .map_err(|error| Problem::new(StatusCode::BAD_REQUEST, "invalid_webhook", error.to_string()))?;
    let (event_id, order_id, command) = match event {
        WebhookEvent::CheckoutCompleted {
            event_id,
            session_id,
            order_id,
            amount_total,
            currency,
            payment_intent,
            payment_status,
        } => {
            if payment_status != "paid" {
                return Ok(received());
            }
            let command = OrderCommand::ConfirmCardPayment {
                session_id,
                amount_cents: amount_total,
                currency,
                payment_reference: payment_intent,
            };
            (event_id, order_id, command)
        }
        WebhookEvent::CheckoutExpired { event_id, session_id, order_id } => {
            (event_id, order_id, OrderCommand::ExpireCheckout { session_id })
        }
        WebhookEvent::Other { .. } => return Ok(received()),
    };
    let order_id = order_id.ok_or_else(|| Problem::malformed("The session names no order of ours."))?;
    let headers = CommandHeaders {
        idempotency_key: Some(event_id),
        if_match: None,
        correlation_id: uuid::Uuid::now_v7(),
        causation_id: None,
    };
    let digest = request_digest("POST", "/api/v1/payments/webhook", &body);
    let run = CommandRun::new(order_stream(order_id), PROVIDER, headers, digest).with_id(order_id);
    execute(&state, run, |order: &Order| order::decide(order, command.clone())).await?;
    Ok(received())
}

/// What the provider is answered for a delivery taken.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Received {
    received: bool,
}

fn received() -> Response {
    (StatusCode::OK, Json(Received { received: true })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_expires_a_fixed_time_after_its_order_was_placed() {
        let order = Order { id: uuid::Uuid::now_v7(), ..Order::default() };
        let ttl = time::Duration::minutes(30);
        let first = expires_at(&order, ttl);
        assert_eq!(first, expires_at(&order, ttl), "the same order always asks for the same expiry");
        let from_now = first - OffsetDateTime::now_utc();
        assert!(from_now > time::Duration::minutes(29) && from_now <= ttl, "{from_now}");
    }
}
