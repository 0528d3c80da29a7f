//! The payment-provider port (DOMAIN.md D10): the one way the write side asks for a card payment, and the one
//! way it learns that a payment happened. A checkout is a hosted Checkout Session created per order; the
//! outcome arrives only as a signed webhook, verified here before anything is decided on it, so a client can
//! never mark an order paid. The contract is Stripe's; [`StripeClient`] speaks it to Stripe and to the built-in
//! sandbox alike, and [`WebhookVerifier`] checks Stripe's signature scheme.

mod stripe;
mod webhook;

use std::future::Future;
use std::pin::Pin;

pub use stripe::{StripeClient, StripeConfig};
pub use webhook::{WebhookError, WebhookEvent, WebhookVerifier};

/// What an order asks the provider to charge. Amounts are integers in the currency's minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    pub order_id: uuid::Uuid,
    pub lines: Vec<CheckoutLine>,
    /// ISO 4217, e.g. `USD`.
    pub currency: String,
    /// Where the browser goes after paying; Stripe fills in `{CHECKOUT_SESSION_ID}` if the URL has it.
    pub success_url: String,
    pub cancel_url: String,
    /// When the session stops taking payments. Part of the idempotent request: a retry must send the same
    /// value, so it is decided once per order and kept, not computed again.
    pub expires_at: time::OffsetDateTime,
    pub customer_email: Option<String>,
    /// A sentence shown on the provider's page by the pay button (Stripe: `custom_text[submit][message]`): the
    /// order's total in the currency the trainee was shown.
    pub note: Option<String>,
}

/// One line of the order, charged once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutLine {
    pub name: String,
    pub amount_minor: i64,
}

/// The provider's hosted checkout for one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSession {
    pub id: String,
    /// The hosted page the buyer is sent to.
    pub url: String,
    pub expires_at: time::OffsetDateTime,
}

/// Why no checkout session was created. No message carries the provider's key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The provider could not be reached, failed, or asked to slow down: the same request may be tried again.
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request; trying it again will not help.
    #[error("the payment provider refused the request: {0}")]
    Refused(String),
    /// The provider answered something this client cannot read.
    #[error("the payment provider's answer cannot be read: {0}")]
    Malformed(String),
}

/// A payment provider that hosts checkouts.
pub trait PaymentProvider: Send + Sync + std::fmt::Debug {
    /// Creates the checkout session of `request`'s order.
    ///
    /// Idempotent per order: the order id is sent as the Idempotency-Key, so a retry after a crash gets the same
    /// session.
    fn create_checkout_session<'a>(
        &'a self,
        request: &'a CheckoutRequest,
    ) -> Pin<Box<dyn Future<Output = Result<CheckoutSession, PaymentError>> + Send + 'a>>;
}
