//! Verifying the provider's webhooks before anything is decided on them. Stripe's scheme: the header
//! `Stripe-Signature: t=<timestamp>,v1=<hex>[,v1=<hex>...][,v0=...]`, where each v1 is the HMAC-SHA256 under the
//! endpoint's signing secret of `<timestamp>.<payload>`. An event is accepted when any v1 matches, compared in
//! constant time, and its timestamp is within the tolerance of now, which bounds replays. Only then is the
//! payload read, into the few events the checkout acts on; their ids let the caller ignore redeliveries.

use std::collections::HashMap;

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a webhook was not accepted. The messages say nothing secret and may be shown to the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the Stripe-Signature header is missing")]
    MissingSignature,
    #[error("the Stripe-Signature header has no valid timestamp or no v1 signature")]
    MalformedSignature,
    #[error("the signature's timestamp is too far from the current time")]
    Expired,
    #[error("no signature matches the payload")]
    BadSignature,
    #[error("the event cannot be read: {0}")]
    MalformedPayload(String),
}

/// A verified event the checkout knows, or any other, by its id and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEvent {
    /// `checkout.session.completed`.
    CheckoutCompleted {
        event_id: String,
        session_id: String,
        /// From the session's `metadata.order_id`.
        order_id: Option<uuid::Uuid>,
        /// In minor units.
        amount_total: i64,
        /// Uppercase ISO 4217, e.g. `USD`.
        currency: String,
        payment_intent: Option<String>,
        /// `paid` once the money is there; other values for payment methods that settle later.
        payment_status: String,
    },
    /// `checkout.session.expired`.
    CheckoutExpired {
        event_id: String,
        session_id: String,
        order_id: Option<uuid::Uuid>,
    },
    Other {
        event_id: String,
        event_type: String,
    },
}

impl WebhookEvent {
    /// The provider's id of the event, the same on every redelivery.
    pub fn event_id(&self) -> &str {
        match self {
            WebhookEvent::CheckoutCompleted { event_id, .. }
            | WebhookEvent::CheckoutExpired { event_id, .. }
            | WebhookEvent::Other { event_id, .. } => event_id,
        }
    }
}

/// Checks webhooks signed with one endpoint's secret.
pub struct WebhookVerifier {
    secret: SecretString,
    tolerance: time::Duration,
}

impl std::fmt::Debug for WebhookVerifier {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("WebhookVerifier").field("tolerance", &self.tolerance).finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    data: Option<EnvelopeData>,
}

#[derive(Debug, Deserialize)]
struct EnvelopeData {
    object: serde_json::Value,
}

/// The fields of a Checkout Session the events are read from.
#[derive(Debug, Deserialize)]
struct SessionObject {
    id: String,
    metadata: Option<HashMap<String, String>>,
    amount_total: Option<i64>,
    currency: Option<String>,
    payment_intent: Option<String>,
    payment_status: Option<String>,
}

impl WebhookVerifier {
    /// Stripe's own libraries' default tolerance.
    pub const DEFAULT_TOLERANCE: time::Duration = time::Duration::minutes(5);

    pub fn new(secret: SecretString, tolerance: time::Duration) -> WebhookVerifier {
        WebhookVerifier { secret, tolerance }
    }

    /// Verifies `payload` against its `Stripe-Signature` header at `now`, then reads it.
    pub fn verify(
        &self,
        signature_header: Option<&str>,
        payload: &[u8],
        now: time::OffsetDateTime,
    ) -> Result<WebhookEvent, WebhookError> {
        let header = signature_header.ok_or(WebhookError::MissingSignature)?;
        let (timestamp, signatures) = parse_header(header)?;
        let mut mac = HmacSha256::new_from_slice(self.secret.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key"));
        // The timestamp is signed as it was sent, not as it parses.
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(payload);
        let matches = signatures
            .iter()
            .filter_map(|signature| decode_hex(signature))
            .any(|signature| mac.clone().verify_slice(&signature).is_ok());
        if !matches {
            return Err(WebhookError::BadSignature);
        }
        let signed_at: i64 = timestamp.parse().map_err(|_| WebhookError::MalformedSignature)?;
        if now.unix_timestamp().abs_diff(signed_at) > self.tolerance.whole_seconds().unsigned_abs() {
            return Err(WebhookError::Expired);
        }
        read_event(payload)
    }
}

/// The timestamp as sent and every v1 signature; other schemes (v0) and unreadable parts are skipped, as
/// Stripe's libraries do.
fn parse_header(header: &str) -> Result<(&str, Vec<&str>), WebhookError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = Some(value),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.filter(|value| value.parse::<i64>().is_ok()).ok_or(WebhookError::MalformedSignature)?;
    if signatures.is_empty() {
        return Err(WebhookError::MalformedSignature);
    }
    Ok((timestamp, signatures))
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|start| u8::from_str_radix(text.get(start..start + 2)?, 16).ok()).collect()
}

fn read_event(payload: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let malformed = |error: serde_json::Error| WebhookError::MalformedPayload(error.to_string());
    let envelope: Envelope = serde_json::from_slice(payload).map_err(malformed)?;
    let session = || -> Result<SessionObject, WebhookError> {
        let data = envelope.data.as_ref().ok_or_else(|| WebhookError::MalformedPayload("no data.object".into()))?;
        SessionObject::deserialize(&data.object).map_err(malformed)
    };
    let missing = |field: &str| WebhookError::MalformedPayload(format!("the session has no {field}"));
    match envelope.event_type.as_str() {
        "checkout.session.completed" => {
            let session = session()?;
            Ok(WebhookEvent::CheckoutCompleted {
                order_id: order_id(&session),
                amount_total: session.amount_total.ok_or_else(|| missing("amount_total"))?,
                currency: session.currency.ok_or_else(|| missing("currency"))?.to_ascii_uppercase(),
                payment_status: session.payment_status.ok_or_else(|| missing("payment_status"))?,
                payment_intent: session.payment_intent,
                session_id: session.id,
                event_id: envelope.id,
            })
        }
        "checkout.session.expired" => {
            let session = session()?;
            Ok(WebhookEvent::CheckoutExpired {
                order_id: order_id(&session),
                session_id: session.id,
                event_id: envelope.id,
            })
        }
        _ => Ok(WebhookEvent::Other { event_id: envelope.id, event_type: envelope.event_type }),
    }
}

/// The order the session was created for, from the metadata the checkout gave it.
fn order_id(session: &SessionObject) -> Option<uuid::Uuid> {
    session.metadata.as_ref()?.get("order_id")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const NOW: i64 = 1_700_000_000;
    const ORDER_ID: &str = "0190c6a8-0000-7000-8000-000000000001";

    /// The v1 signature, computed here rather than by the code under test.
    fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("any key");
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(payload);
        mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect()
    }

    fn header(secret: &str, timestamp: i64, payload: &[u8]) -> String {
        format!("t={timestamp},v1={}", sign(secret, timestamp, payload))
    }

    /// Verifies at `NOW` with Stripe's default tolerance.
    fn verify(header: Option<&str>, payload: &[u8]) -> Result<WebhookEvent, WebhookError> {
        let now = time::OffsetDateTime::from_unix_timestamp(NOW).expect("a time");
        WebhookVerifier::new(SECRET.into(), WebhookVerifier::DEFAULT_TOLERANCE).verify(header, payload, now)
    }

    /// An event about a session, shaped as the sandbox sends it.
    fn session_event(event_type: &str, status: &str, payment_status: &str, payment_intent: Option<&str>) -> Vec<u8> {
        let session = serde_json::json!({
            "id": "cs_test_1", "object": "checkout.session", "url": null, "created": NOW - 60,
            "expires_at": NOW + 86_400, "amount_subtotal": 2499, "amount_total": 2499, "currency": "usd",
            "metadata": { "order_id": ORDER_ID }, "client_reference_id": ORDER_ID, "customer_email": null,
            "status": status, "payment_status": payment_status, "payment_intent": payment_intent,
            "mode": "payment", "success_url": "http://127.0.0.1:3000/orders",
            "cancel_url": "http://127.0.0.1:3000/cart", "livemode": false
        });
        let event = serde_json::json!({
            "id": "evt_test_1", "object": "event", "api_version": "2024-06-20", "created": NOW,
            "livemode": false, "pending_webhooks": 1, "type": event_type, "data": { "object": session }
        });
        event.to_string().into_bytes()
    }

    fn completed() -> Vec<u8> {
        session_event("checkout.session.completed", "complete", "paid", Some("pi_test_1"))
    }

    #[test]
    fn a_valid_signature_verifies_and_the_completed_event_is_read() {
        let payload = completed();
        let event = verify(Some(&header(SECRET, NOW - 10, &payload)), &payload).expect("a valid event");
        assert_eq!(event.event_id(), "evt_test_1");
        let expected = WebhookEvent::CheckoutCompleted {
            event_id: "evt_test_1".to_owned(),
            session_id: "cs_test_1".to_owned(),
            order_id: Some(ORDER_ID.parse().expect("a uuid")),
            amount_total: 2499,
            currency: "USD".to_owned(),
            payment_intent: Some("pi_test_1".to_owned()),
            payment_status: "paid".to_owned(),
        };
        assert_eq!(event, expected);
    }

    #[test]
    fn the_expired_event_is_read_with_its_order() {
        let payload = session_event("checkout.session.expired", "expired", "unpaid", None);
        let event = verify(Some(&header(SECRET, NOW, &payload)), &payload);
        let order_id = Some(ORDER_ID.parse().expect("a uuid"));
        let (event_id, session_id) = ("evt_test_1".to_owned(), "cs_test_1".to_owned());
        assert_eq!(event, Ok(WebhookEvent::CheckoutExpired { event_id, session_id, order_id }));
    }

    #[test]
    fn a_wrong_secret_a_tampered_payload_or_an_old_timestamp_is_rejected() {
        let payload = completed();
        assert_eq!(verify(Some(&header("whsec_other", NOW, &payload)), &payload), Err(WebhookError::BadSignature));
        let tampered = String::from_utf8(payload.clone()).expect("UTF-8").replace("2499", "1");
        let signed = header(SECRET, NOW, &payload);
        assert_eq!(verify(Some(&signed), tampered.as_bytes()), Err(WebhookError::BadSignature));
        assert_eq!(verify(Some(&header(SECRET, NOW - 301, &payload)), &payload), Err(WebhookError::Expired));
        assert!(verify(Some(&header(SECRET, NOW - 300, &payload)), &payload).is_ok());
    }

    #[test]
    fn a_missing_or_incomplete_header_is_rejected() {
        let payload = completed();
        assert_eq!(verify(None, &payload), Err(WebhookError::MissingSignature));
        let v0_only = format!("t={NOW},v0={}", sign(SECRET, NOW, &payload));
        assert_eq!(verify(Some(&v0_only), &payload), Err(WebhookError::MalformedSignature));
        let no_timestamp = format!("v1={}", sign(SECRET, NOW, &payload));
        assert_eq!(verify(Some(&no_timestamp), &payload), Err(WebhookError::MalformedSignature));
    }

    #[test]
    fn any_matching_v1_among_several_verifies() {
        let payload = completed();
        let (other, right) = (sign("whsec_rolled_over", NOW, &payload), sign(SECRET, NOW, &payload));
        assert!(verify(Some(&format!("t={NOW},v1={other},v0=abcd,v1={right}")), &payload).is_ok());
    }

    #[test]
    fn other_events_are_passed_on_by_id_and_type_and_unreadable_ones_refused() {
        let payload = br#"{"id":"evt_test_3","type":"payment_intent.created","data":{"object":{}}}"#;
        let (event_id, event_type) = ("evt_test_3".to_owned(), "payment_intent.created".to_owned());
        assert_eq!(
            verify(Some(&header(SECRET, NOW, payload)), payload),
            Ok(WebhookEvent::Other { event_id, event_type })
        );
        let payload = br#"{"id":"evt_test_4","type":"checkout.session.completed","data":{"object":{"id":"cs_1"}}}"#;
        let event = verify(Some(&header(SECRET, NOW, payload)), payload);
        assert!(matches!(event, Err(WebhookError::MalformedPayload(_))));
    }

    #[test]
    fn the_secret_never_shows() {
        let verifier = WebhookVerifier::new(SECRET.into(), WebhookVerifier::DEFAULT_TOLERANCE);
        assert!(!format!("{verifier:?}").contains(SECRET));
    }
}
