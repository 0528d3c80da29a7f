//! The parameters of a new Checkout Session, read from a form-encoded body in Stripe's bracket notation
//! (`metadata[order_id]=...`, `line_items[0][price_data][unit_amount]=1999`) and validated as Stripe validates
//! them, with the offending parameter named in the error's `param`. Amounts stay integers in minor units.

use std::collections::BTreeMap;

use crate::api::ApiError;
use crate::session::{LineItem, Session, Status, fill_session_id, random_id};

/// How long a session stays open at most, and by default, as on Stripe.
const LONGEST_OPEN: i64 = 24 * 60 * 60;

/// The parameters as sent, before validation. An empty value counts as absent, as on Stripe.
#[derive(Debug, Default)]
struct Sent {
    mode: Option<String>,
    success_url: Option<String>,
    cancel_url: Option<String>,
    client_reference_id: Option<String>,
    customer_email: Option<String>,
    expires_at: Option<String>,
    metadata: BTreeMap<String, String>,
    line_items: BTreeMap<usize, SentLineItem>,
    submit_message: Option<String>,
}

#[derive(Debug, Default)]
struct SentLineItem {
    quantity: Option<String>,
    currency: Option<String>,
    unit_amount: Option<String>,
    name: Option<String>,
}

/// The session a form-encoded body received at `now` (Unix seconds) asks for, open and not yet stored.
pub(crate) fn new_session(body: &[u8], now: i64) -> Result<Session, ApiError> {
    read(body)?.validate(now)
}

fn read(body: &[u8]) -> Result<Sent, ApiError> {
    let mut sent = Sent::default();
    for (key, value) in form_urlencoded::parse(body) {
        let unknown = || ApiError::invalid(format!("Received unknown parameter: {key}"), key.as_ref());
        let (base, segments) = split_key(&key).ok_or_else(unknown)?;
        let value = Some(value.into_owned()).filter(|value| !value.is_empty());
        let slot = match (base, segments.as_slice()) {
            ("mode", []) => &mut sent.mode,
            ("success_url", []) => &mut sent.success_url,
            ("cancel_url", []) => &mut sent.cancel_url,
            ("client_reference_id", []) => &mut sent.client_reference_id,
            ("customer_email", []) => &mut sent.customer_email,
            ("expires_at", []) => &mut sent.expires_at,
            ("custom_text", ["submit", "message"]) => &mut sent.submit_message,
            ("metadata", [name]) => {
                match value {
                    Some(value) => sent.metadata.insert((*name).to_owned(), value),
                    None => sent.metadata.remove(*name),
                };
                continue;
            }
            ("line_items", [index, field @ ..]) => {
                let index: usize = index
                    .parse()
                    .map_err(|_| ApiError::invalid(format!("Invalid array index in {key}"), key.as_ref()))?;
                let item = sent.line_items.entry(index).or_default();
                match field {
                    ["quantity"] => &mut item.quantity,
                    ["price_data", "currency"] => &mut item.currency,
                    ["price_data", "unit_amount"] => &mut item.unit_amount,
                    ["price_data", "product_data", "name"] => &mut item.name,
                    _ => return Err(unknown()),
                }
            }
            _ => return Err(unknown()),
        };
        *slot = value;
    }
    Ok(sent)
}

/// Splits `line_items[0][price_data][currency]` into `line_items` and `["0", "price_data", "currency"]`.
fn split_key(key: &str) -> Option<(&str, Vec<&str>)> {
    let (base, mut rest) = key.split_at(key.find('[').unwrap_or(key.len()));
    if base.is_empty() {
        return None;
    }
    let mut segments = Vec::new();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let end = inner.find(']')?;
        segments.push(&inner[..end]);
        rest = &inner[end + 1..];
    }
    Some((base, segments))
}

impl Sent {
    fn validate(self, now: i64) -> Result<Session, ApiError> {
        match self.mode.as_deref() {
            Some("payment") => {}
            Some(mode) => {
                return Err(ApiError::invalid(format!("The sandbox supports only mode=payment, not {mode}."), "mode"));
            }
            None => return Err(missing("mode")),
        }
        let success_url = self.success_url.ok_or_else(|| missing("success_url"))?;
        check_url(&success_url, "success_url")?;
        if let Some(cancel_url) = &self.cancel_url {
            check_url(cancel_url, "cancel_url")?;
        }
        // Stripe wants at least 30 minutes ahead; any time ahead is accepted here, so that tests can watch a
        // session expire. The 24-hour limit is Stripe's.
        let expires_at = match self.expires_at {
            None => now + LONGEST_OPEN,
            sent => at_least(sent, "expires_at", now)?,
        };
        if expires_at > now + LONGEST_OPEN {
            let message = "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.";
            return Err(ApiError::invalid(message, "expires_at"));
        }
        if self.line_items.is_empty() {
            return Err(missing("line_items"));
        }
        let mut currency: Option<String> = None;
        let mut amount_total: i64 = 0;
        let mut line_items = Vec::with_capacity(self.line_items.len());
        for (index, sent) in self.line_items {
            let price = |field: &str| format!("line_items[{index}][price_data][{field}]");
            let quantity = at_least(sent.quantity, &format!("line_items[{index}][quantity]"), 1)?;
            let unit_amount = at_least(sent.unit_amount, &price("unit_amount"), 0)?;
            let item_currency = sent.currency.ok_or_else(|| missing(&price("currency")))?.to_ascii_lowercase();
            if item_currency.len() != 3 || !item_currency.bytes().all(|byte| byte.is_ascii_lowercase()) {
                return Err(ApiError::invalid(format!("Invalid currency: {item_currency}"), price("currency")));
            }
            if currency.as_ref().is_some_and(|first| *first != item_currency) {
                return Err(ApiError::invalid("All line items must use the same currency.", price("currency")));
            }
            currency = Some(item_currency);
            let name =
                sent.name.ok_or_else(|| missing(&format!("line_items[{index}][price_data][product_data][name]")))?;
            amount_total = quantity
                .checked_mul(unit_amount)
                .and_then(|amount| amount_total.checked_add(amount))
                .ok_or_else(|| ApiError::invalid("The total amount is too large.", "line_items"))?;
            line_items.push(LineItem { name, quantity, unit_amount });
        }
        Ok(Session {
            id: random_id("cs_test_"),
            created_at: now,
            status: Status::Open,
            payment_intent: None,
            success_url,
            cancel_url: self.cancel_url,
            client_reference_id: self.client_reference_id,
            customer_email: self.customer_email,
            expires_at,
            metadata: self.metadata,
            submit_message: self.submit_message,
            currency: currency.unwrap_or_default(),
            line_items,
            amount_total,
        })
    }
}

fn missing(param: &str) -> ApiError {
    ApiError::invalid(format!("Missing required param: {param}."), param)
}

/// The required integer `param`, which must be at least `least`.
fn at_least(sent: Option<String>, param: &str, least: i64) -> Result<i64, ApiError> {
    let text = sent.ok_or_else(|| missing(param))?;
    let number: i64 = text.parse().map_err(|_| ApiError::invalid(format!("Invalid integer: {text}"), param))?;
    if number < least {
        return Err(ApiError::invalid(format!("This value must be greater than or equal to {least}."), param));
    }
    Ok(number)
}

/// A redirect URL must be an absolute http(s) URL once Stripe's `{CHECKOUT_SESSION_ID}` is filled in.
fn check_url(url: &str, param: &str) -> Result<(), ApiError> {
    match reqwest::Url::parse(&fill_session_id(url, "cs_test_example")) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => Ok(()),
        _ => Err(ApiError::invalid("Not a valid URL", param)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
        form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish().into_bytes()
    }

    fn valid() -> Vec<(&'static str, &'static str)> {
        vec![
            ("mode", "payment"),
            ("success_url", "https://shop.test/done?session={CHECKOUT_SESSION_ID}"),
            ("cancel_url", "https://shop.test/cart"),
            ("client_reference_id", "order-1"),
            ("metadata[order_id]", "0190c6a8-0000-7000-8000-000000000001"),
            ("metadata[channel]", "web"),
            ("line_items[0][quantity]", "1"),
            ("line_items[0][price_data][currency]", "USD"),
            ("line_items[0][price_data][unit_amount]", "1999"),
            ("line_items[0][price_data][product_data][name]", "Rust <for> everyone"),
            ("line_items[1][quantity]", "2"),
            ("line_items[1][price_data][currency]", "usd"),
            ("line_items[1][price_data][unit_amount]", "500"),
            ("line_items[1][price_data][product_data][name]", "SQL"),
        ]
    }

    /// The `param` named by the error for `pairs`.
    fn refused(pairs: &[(&str, &str)]) -> String {
        let error = new_session(&form(pairs), 1_000).expect_err("the parameters are refused");
        error.param().unwrap_or_default().to_owned()
    }

    /// The `param` named by the error for the valid form with `key` set to `value`.
    fn refused_with(key: &str, value: &'static str) -> String {
        let pairs: Vec<_> =
            valid().into_iter().map(|(old_key, old)| (old_key, if old_key == key { value } else { old })).collect();
        refused(&pairs)
    }

    #[test]
    fn keys_in_bracket_notation_split_into_their_segments() {
        assert_eq!(split_key("mode"), Some(("mode", vec![])));
        assert_eq!(split_key("metadata[order_id]"), Some(("metadata", vec!["order_id"])));
        assert_eq!(
            split_key("line_items[0][price_data][product_data][name]"),
            Some(("line_items", vec!["0", "price_data", "product_data", "name"]))
        );
        assert_eq!(split_key("line_items[0"), None);
        assert_eq!(split_key("line_items[0]x"), None);
        assert_eq!(split_key("[0]"), None);
    }

    #[test]
    fn a_complete_form_becomes_a_session_with_every_line_metadata_and_the_total() {
        let session = new_session(&form(&valid()), 1_000).expect("valid parameters");
        assert!(session.id.starts_with("cs_test_"));
        assert_eq!(session.amount_total, 1999 + 2 * 500);
        assert_eq!(session.currency, "usd");
        assert_eq!(session.expires_at, 1_000 + LONGEST_OPEN);
        assert_eq!(
            session.line_items[0],
            LineItem { name: "Rust <for> everyone".to_owned(), quantity: 1, unit_amount: 1999 }
        );
        assert_eq!(session.line_items[1].quantity, 2);
        assert_eq!(session.metadata.len(), 2);
        assert_eq!(session.metadata["channel"], "web");
        assert_eq!(session.client_reference_id.as_deref(), Some("order-1"));
        assert_eq!(session.customer_email, None);
    }

    #[test]
    fn an_expiry_ahead_is_kept_and_one_in_the_past_is_refused() {
        let mut pairs = valid();
        pairs.push(("expires_at", "1001"));
        assert_eq!(new_session(&form(&pairs), 1_000).map(|session| session.expires_at).ok(), Some(1001));
        pairs.pop();
        pairs.push(("expires_at", "999"));
        assert_eq!(refused(&pairs), "expires_at");
    }

    #[test]
    fn invalid_parameters_are_refused_naming_the_parameter() {
        let invalid = [
            ("mode", "subscription"),
            ("success_url", ""),
            ("success_url", "not a url"),
            ("line_items[0][quantity]", "0"),
            ("line_items[0][price_data][unit_amount]", "-1"),
            ("line_items[0][price_data][unit_amount]", "19.99"),
            ("line_items[1][price_data][currency]", "eur"),
        ];
        for (key, value) in invalid {
            assert_eq!(refused_with(key, value), key, "{key}={value}");
        }
        assert_eq!(refused(&[("mode", "payment"), ("success_url", "https://shop.test/")]), "line_items");
        assert_eq!(refused(&[("success_url", "https://shop.test/")]), "mode");
        assert_eq!(refused(&[("payment_method_types[0]", "card")]), "payment_method_types[0]");
        assert_eq!(refused(&[("line_items[x][quantity]", "1")]), "line_items[x][quantity]");
    }
}
