//! Events of the Commerce context: exchange rates (`fx-{currency}`, D8), carts (`cart-{trainee}`), wishlists
//! (`wishlist-{trainee}`), orders (`order-{uuid}`) and wallets (`wallet-{trainee}`). Money is USD cents.
//!
//! There is no ledger stream per instructor: a sale's earning is recorded on its order
//! ([`InstructorEarningRecorded`]), where the rule "once per order line" can be kept without making a
//! bestselling instructor's sales queue up on one stream; the balance is a projection.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// An admin set how many units of `currency` one US dollar buys, in millionths (`rate_ppm` 920000 = 0.92).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRateSet {
    pub currency: String,
    pub rate_ppm: i64,
    /// Version 2: who set it. An admin's rate is an override the provider's daily rates leave alone until the
    /// admin clears it; version 1 rates were all an admin's.
    #[serde(default)]
    pub source: RateSource,
}

/// Who set an exchange rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RateSource {
    #[default]
    Admin,
    /// The reference rates provider (the European Central Bank's daily rates, or the sandbox's).
    Provider,
}

/// An admin cleared their override of a currency's rate: the provider's rates apply to it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRateOverrideCleared {
    pub currency: String,
}

/// A trainee put a course into their cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseAddedToCart {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
}

/// A course left a trainee's cart: taken out, bought, or no longer for sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseRemovedFromCart {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
}

/// A trainee put a course into their wishlist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseAddedToWishlist {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
}

/// A course left a trainee's wishlist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseRemovedFromWishlist {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
}

/// How an order is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Card,
    Wallet,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Card => "card",
            PaymentMethod::Wallet => "wallet",
        }
    }
}

/// One course of an order, priced when the order was placed; never changed afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLine {
    pub course_id: Uuid,
    pub instructor_id: Uuid,
    pub title: String,
    pub list_price_cents: i64,
    pub discount_percent: u8,
    /// What the trainee pays for this line: the list price after the discount, rounded half up (R11).
    pub price_cents: i64,
}

/// A trainee placed an order from their cart. `total_cents` is the sum of the lines' prices; the currency
/// and rate are the ones the trainee was shown (D8), kept for the receipt: the order is charged in USD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderPlaced {
    pub order_id: Uuid,
    pub trainee_id: Uuid,
    pub method: PaymentMethod,
    pub lines: Vec<OrderLine>,
    pub total_cents: i64,
    pub currency: String,
    pub rate_ppm: i64,
}

/// The payment provider opened a checkout session for a card order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutSessionCreated {
    pub order_id: Uuid,
    pub session_id: String,
    pub url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The order was paid in full, once: from the wallet, or by card as the provider's signed webhook said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderPaid {
    pub order_id: Uuid,
    pub trainee_id: Uuid,
    pub method: PaymentMethod,
    pub amount_cents: i64,
    /// The ISO 4217 code of `amount_cents`'s currency: what was charged (version 2; every amount of version 1
    /// was in US dollars).
    pub currency: String,
    /// The provider's payment id, for card payments.
    pub payment_reference: Option<String>,
}

/// The order could not be paid (a wallet balance below the total); nothing was charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderPaymentFailed {
    pub order_id: Uuid,
    pub reason: String,
}

/// The card checkout session expired unpaid; the cart is left as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderExpired {
    pub order_id: Uuid,
}

/// An instructor earned their share of one sold line (R1: floor(0.80 x price)), once per order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstructorEarningRecorded {
    pub order_id: Uuid,
    pub course_id: Uuid,
    pub instructor_id: Uuid,
    pub price_cents: i64,
    pub amount_cents: i64,
}

/// A paid line could not be fulfilled (the trainee already owned the course) and its whole price goes back
/// to the trainee's wallet; the instructor is not credited for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLineRefunded {
    pub order_id: Uuid,
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub amount_cents: i64,
}

/// Every line of a paid order is enrolled or refunded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderFulfilled {
    pub order_id: Uuid,
}

/// Why money entered a wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreditReason {
    /// An admin credited the wallet, with a note.
    AdminCredit,
    /// A paid order line could not be fulfilled.
    OrderLineRefund,
    /// An approved refund of an enrolment.
    Refund,
}

impl CreditReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CreditReason::AdminCredit => "admin_credit",
            CreditReason::OrderLineRefund => "order_line_refund",
            CreditReason::Refund => "refund",
        }
    }
}

/// Money entered a wallet, once per operation id. `balance_cents` is the balance after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletCredited {
    pub trainee_id: Uuid,
    pub operation_id: String,
    pub amount_cents: i64,
    pub reason: CreditReason,
    pub note: Option<String>,
    pub balance_cents: i64,
}

/// An order was paid from a wallet, once per operation id. `balance_cents` is the balance after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletDebited {
    pub trainee_id: Uuid,
    pub operation_id: String,
    pub order_id: Uuid,
    pub amount_cents: i64,
    pub balance_cents: i64,
}

/// A debit was refused because the balance was below the amount. Kept so that the operation id has one
/// answer for good: a retry of the same operation is refused again, even after a later credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletDebitRefused {
    pub trainee_id: Uuid,
    pub operation_id: String,
    pub order_id: Uuid,
    pub amount_cents: i64,
    pub balance_cents: i64,
}

/// A refunded line's earning is taken back from its instructor, on the order that recorded it: all but
/// floor(0.24 x price) of what they were credited (D3), once per line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstructorEarningReversed {
    pub order_id: Uuid,
    pub course_id: Uuid,
    pub instructor_id: Uuid,
    pub refund_id: Uuid,
    pub amount_cents: i64,
}
