//! A Checkout Session as the sandbox keeps it, and its JSON in the shape of Stripe's Checkout Session object,
//! which the API answers and every webhook event carries. Amounts are integers in the currency's minor units,
//! as in Stripe's API; only the hosted page turns them into text.

use std::collections::BTreeMap;

use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

/// The placeholder in a success URL that Stripe replaces with the session's id.
const SESSION_ID_PLACEHOLDER: &str = "{CHECKOUT_SESSION_ID}";

/// One line of the cart, priced inline (`price_data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LineItem {
    pub(crate) name: String,
    pub(crate) quantity: i64,
    pub(crate) unit_amount: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Open,
    Complete,
    Expired,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Complete => "complete",
            Status::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    /// Lowercase, as Stripe spells currencies.
    pub(crate) currency: String,
    pub(crate) line_items: Vec<LineItem>,
    /// The sum of the lines, checked for overflow when the session was created.
    pub(crate) amount_total: i64,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) client_reference_id: Option<String>,
    pub(crate) customer_email: Option<String>,
    pub(crate) success_url: String,
    pub(crate) cancel_url: Option<String>,
    pub(crate) status: Status,
    pub(crate) payment_intent: Option<String>,
    /// Shown by the pay button (`custom_text[submit][message]`).
    pub(crate) submit_message: Option<String>,
}

impl Session {
    /// The hosted checkout page of this session.
    pub(crate) fn payment_url(&self, public_url: &str) -> String {
        format!("{public_url}/pay/{}", self.id)
    }

    /// Whether the session is still open although its `expires_at` has come.
    pub(crate) fn is_due_to_expire(&self, now: i64) -> bool {
        self.status == Status::Open && now >= self.expires_at
    }

    /// Where the browser goes after paying: the success URL with Stripe's placeholder filled in.
    pub(crate) fn success_redirect(&self) -> String {
        fill_session_id(&self.success_url, &self.id)
    }

    /// The session as Stripe's API shows it. Like Stripe, `url` is given only while the session is open.
    pub(crate) fn to_json(&self, public_url: &str) -> Value {
        let paid = self.status == Status::Complete;
        json!({
            "id": self.id,
            "object": "checkout.session",
            "url": (self.status == Status::Open).then(|| self.payment_url(public_url)),
            "created": self.created_at,
            "expires_at": self.expires_at,
            "amount_subtotal": self.amount_total,
            "amount_total": self.amount_total,
            "currency": self.currency,
            "metadata": self.metadata,
            "client_reference_id": self.client_reference_id,
            "customer_email": self.customer_email,
            "custom_text": { "submit": self.submit_message.as_ref().map(|message| serde_json::json!({ "message": message })) },
            "status": self.status.as_str(),
            "payment_status": if paid { "paid" } else { "unpaid" },
            "payment_intent": self.payment_intent,
            "mode": "payment",
            "success_url": self.success_url,
            "cancel_url": self.cancel_url,
            "livemode": false,
        })
    }
}

/// `url` with Stripe's `{CHECKOUT_SESSION_ID}` placeholder replaced by `id`.
pub(crate) fn fill_session_id(url: &str, id: &str) -> String {
    url.replace(SESSION_ID_PLACEHOLDER, id)
}

/// A Stripe-style object id: the prefix, then random letters and digits.
pub(crate) fn random_id(prefix: &str) -> String {
    let random: String = rand::rng().sample_iter(Alphanumeric).take(24).map(char::from).collect();
    format!("{prefix}{random}")
}

/// The current time in Unix seconds, the unit of every timestamp in Stripe's API.
pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// An amount in minor units as people read it, e.g. `USD 19.99` or `JPY 500`.
pub(crate) fn format_amount(currency: &str, minor: i64) -> String {
    let code = currency.to_ascii_uppercase();
    let digits = minor_digits(currency);
    if digits == 0 {
        return format!("{code} {minor}");
    }
    let scale = 10_i64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    let (major, fraction) = (minor.unsigned_abs() / scale as u64, minor.unsigned_abs() % scale as u64);
    format!("{code} {sign}{major}.{fraction:0width$}", width = digits as usize)
}

/// How many minor-unit digits a currency has, by Stripe's lists of zero- and three-decimal currencies; every
/// other currency has two.
fn minor_digits(currency: &str) -> u32 {
    const ZERO_DECIMAL: [&str; 16] = [
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
    ];
    const THREE_DECIMAL: [&str; 5] = ["bhd", "jod", "kwd", "omr", "tnd"];
    let currency = currency.to_ascii_lowercase();
    if ZERO_DECIMAL.contains(&currency.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&currency.as_str()) {
        3
    } else {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_shown_in_major_units_with_the_currency_code() {
        assert_eq!(format_amount("usd", 1999), "USD 19.99");
        assert_eq!(format_amount("usd", 5), "USD 0.05");
        assert_eq!(format_amount("eur", 100_000), "EUR 1000.00");
        assert_eq!(format_amount("jpy", 500), "JPY 500");
        assert_eq!(format_amount("kwd", 1234), "KWD 1.234");
    }

    #[test]
    fn the_success_url_gets_the_session_id_in_place_of_the_placeholder() {
        assert_eq!(
            fill_session_id("https://shop.test/done?session={CHECKOUT_SESSION_ID}", "cs_test_1"),
            "https://shop.test/done?session=cs_test_1"
        );
        assert_eq!(fill_session_id("https://shop.test/done", "cs_test_1"), "https://shop.test/done");
    }

    #[test]
    fn ids_carry_their_prefix_and_differ() {
        let first = random_id("cs_test_");
        assert!(first.starts_with("cs_test_"));
        assert_eq!(first.len(), "cs_test_".len() + 24);
        assert_ne!(first, random_id("cs_test_"));
    }
}
