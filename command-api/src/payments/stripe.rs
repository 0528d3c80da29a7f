//! The one Stripe client: creates Checkout Sessions through Stripe's HTTP API, against Stripe itself or against
//! the built-in sandbox, which speaks the same API. Requests are form-encoded in Stripe's bracket notation and
//! carry the order's Idempotency-Key, so a retried request gets the session the first one created. The secret
//! key goes only into the Authorization header: neither Debug, nor a log line, nor an error shows it.

use std::error::Error as _;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{CheckoutRequest, CheckoutSession, PaymentError, PaymentProvider};

/// How long a call to the provider may take before it counts as unavailable.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The API version the answers are read as; pinning it keeps their shape from changing under us.
const API_VERSION: &str = "2024-06-20";

/// Where the provider is and the key it is called with.
#[derive(Debug, Clone)]
pub struct StripeConfig {
    /// The API's base URL without a trailing slash, e.g. `https://api.stripe.com` or `http://127.0.0.1:PORT`.
    pub api_base: String,
    pub secret_key: SecretString,
}

pub struct StripeClient {
    http: reqwest::Client,
    sessions_url: String,
    secret_key: SecretString,
}

impl std::fmt::Debug for StripeClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("StripeClient").field("sessions_url", &self.sessions_url).finish_non_exhaustive()
    }
}

/// The fields of Stripe's Checkout Session object this client reads.
#[derive(Debug, Deserialize)]
struct SessionAnswer {
    id: String,
    url: Option<String>,
    expires_at: i64,
}

/// Stripe's error body: `{"error": {"type", "message", "param"}}`.
#[derive(Debug, Deserialize)]
struct ErrorAnswer {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    message: Option<String>,
    param: Option<String>,
}

impl StripeClient {
    pub fn new(config: StripeConfig) -> StripeClient {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .unwrap_or_else(|error| panic!("the HTTP client for the payment provider cannot be built: {error}"));
        let sessions_url = format!("{}/v1/checkout/sessions", config.api_base.trim_end_matches('/'));
        StripeClient { http, sessions_url, secret_key: config.secret_key }
    }

    #[tracing::instrument(skip_all, fields(order_id = %request.order_id), err(Display))]
    async fn create(&self, request: &CheckoutRequest) -> Result<CheckoutSession, PaymentError> {
        let response = self
            .http
            .post(&self.sessions_url)
            .bearer_auth(self.secret_key.expose_secret())
            .header("Idempotency-Key", format!("checkout-{}", request.order_id))
            .header("Stripe-Version", API_VERSION)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(request))
            .send()
            .await
            .map_err(|error| PaymentError::Unavailable(describe(&error)))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|error| PaymentError::Unavailable(describe(&error)))?;
        if status.is_success() {
            let answer: SessionAnswer = serde_json::from_slice(&body)
                .map_err(|error| PaymentError::Malformed(format!("the checkout session: {error}")))?;
            let url = answer.url.ok_or_else(|| PaymentError::Malformed("the checkout session has no url".into()))?;
            let expires_at = time::OffsetDateTime::from_unix_timestamp(answer.expires_at)
                .map_err(|error| PaymentError::Malformed(format!("the session's expires_at: {error}")))?;
            tracing::info!(session_id = %answer.id, "checkout session created");
            return Ok(CheckoutSession { id: answer.id, url, expires_at });
        }
        let message = self.redact(&error_message(status, &body));
        Err(match status.as_u16() {
            // Stripe answers 409 while another request with the same key is running: trying again resolves it.
            409 | 429 | 500..=599 => PaymentError::Unavailable(message),
            // Stripe's 401 message quotes part of the key, so it is replaced.
            401 => PaymentError::Refused(format!("{status}: the provider did not accept the secret key")),
            400..=499 => PaymentError::Refused(message),
            _ => PaymentError::Malformed(message),
        })
    }

    /// `message` with the secret key blanked out, should the provider ever quote it.
    fn redact(&self, message: &str) -> String {
        let key = self.secret_key.expose_secret();
        if key.is_empty() { message.to_owned() } else { message.replace(key, "[redacted]") }
    }
}

impl PaymentProvider for StripeClient {
    fn create_checkout_session<'a>(
        &'a self,
        request: &'a CheckoutRequest,
    ) -> Pin<Box<dyn Future<Output = Result<CheckoutSession, PaymentError>> + Send + 'a>> {
        Box::pin(self.create(request))
    }
}

/// The request in Stripe's form encoding: one line item per order line, each charged once, and the order id
/// both as `client_reference_id` and in `metadata`, where the webhook reads it back.
fn form(request: &CheckoutRequest) -> String {
    let order_id = request.order_id.to_string();
    let currency = request.currency.to_ascii_lowercase();
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("mode", "payment")
        .append_pair("success_url", &request.success_url)
        .append_pair("cancel_url", &request.cancel_url)
        .append_pair("client_reference_id", &order_id)
        .append_pair("metadata[order_id]", &order_id)
        .append_pair("expires_at", &request.expires_at.unix_timestamp().to_string());
    if let Some(email) = &request.customer_email {
        form.append_pair("customer_email", email);
    }
    if let Some(note) = &request.note {
        form.append_pair("custom_text[submit][message]", note);
    }
    for (index, line) in request.lines.iter().enumerate() {
        form.append_pair(&format!("line_items[{index}][quantity]"), "1")
            .append_pair(&format!("line_items[{index}][price_data][currency]"), &currency)
            .append_pair(&format!("line_items[{index}][price_data][unit_amount]"), &line.amount_minor.to_string())
            .append_pair(&format!("line_items[{index}][price_data][product_data][name]"), &line.name);
    }
    form.finish()
}

/// The provider's own message when it sent one in Stripe's shape, else the status alone.
fn error_message(status: reqwest::StatusCode, body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorAnswer>(body) {
        Ok(ErrorAnswer { error: ErrorDetail { message: Some(message), param: Some(param) } }) => {
            format!("{status}: {message} (parameter {param})")
        }
        Ok(ErrorAnswer { error: ErrorDetail { message: Some(message), param: None } }) => {
            format!("{status}: {message}")
        }
        _ => status.to_string(),
    }
}

/// A transport error with its causes: reqwest's own message alone rarely says what went wrong.
fn describe(error: &reqwest::Error) -> String {
    let mut description = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        description.push_str(": ");
        description.push_str(&cause.to_string());
        source = cause.source();
    }
    description
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::CheckoutLine;

    #[test]
    fn the_form_has_every_parameter_in_bracket_notation() {
        let order_id = uuid::Uuid::from_u128(1);
        let request = CheckoutRequest {
            order_id,
            lines: vec![
                CheckoutLine { name: "Rust & SQL".to_owned(), amount_minor: 1999 },
                CheckoutLine { name: "Kafka".to_owned(), amount_minor: 500 },
            ],
            currency: "USD".to_owned(),
            success_url: "https://learnlog.test/orders?session={CHECKOUT_SESSION_ID}".to_owned(),
            cancel_url: "https://learnlog.test/cart".to_owned(),
            expires_at: time::OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("a time"),
            customer_email: Some("ada@learnlog.test".to_owned()),
            note: Some("Charged in US dollars: USD 24.99, which is EUR 22.99.".to_owned()),
        };
        let body = form(&request);
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        let value = |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
        assert_eq!(value("mode"), Some("payment"));
        assert_eq!(value("success_url"), Some("https://learnlog.test/orders?session={CHECKOUT_SESSION_ID}"));
        assert_eq!(value("client_reference_id"), Some(order_id.to_string().as_str()));
        assert_eq!(value("metadata[order_id]"), Some(order_id.to_string().as_str()));
        assert_eq!(value("expires_at"), Some("1700000000"));
        assert_eq!(value("customer_email"), Some("ada@learnlog.test"));
        assert_eq!(
            value("custom_text[submit][message]"),
            Some("Charged in US dollars: USD 24.99, which is EUR 22.99.")
        );
        assert_eq!(value("line_items[0][quantity]"), Some("1"));
        assert_eq!(value("line_items[0][price_data][currency]"), Some("usd"));
        assert_eq!(value("line_items[0][price_data][unit_amount]"), Some("1999"));
        assert_eq!(value("line_items[0][price_data][product_data][name]"), Some("Rust & SQL"));
        assert_eq!(value("line_items[1][price_data][unit_amount]"), Some("500"));
    }

    #[test]
    fn the_key_never_shows() {
        let client = StripeClient::new(StripeConfig {
            api_base: "http://127.0.0.1:1/".to_owned(),
            secret_key: "sk_test_hidden".into(),
        });
        assert!(!format!("{client:?}").contains("sk_test_hidden"));
        assert_eq!(client.sessions_url, "http://127.0.0.1:1/v1/checkout/sessions");
        assert_eq!(client.redact("Invalid API Key provided: sk_test_hidden"), "Invalid API Key provided: [redacted]");
    }

    #[test]
    fn the_provider_error_message_is_kept() {
        let body =
            br#"{"error":{"type":"invalid_request_error","message":"Missing required param: mode.","param":"mode"}}"#;
        assert_eq!(
            error_message(reqwest::StatusCode::BAD_REQUEST, body),
            "400 Bad Request: Missing required param: mode. (parameter mode)"
        );
        assert_eq!(error_message(reqwest::StatusCode::BAD_GATEWAY, b"<html>"), "502 Bad Gateway");
    }
}
