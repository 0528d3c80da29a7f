//! The card form of the hosted page and what paying with it does, as in Stripe's test mode: 4242 4242 4242 4242
//! pays, 4000 0000 0000 0002 is declined, any other number is refused as not a test card. The expiry must be a
//! month not yet past and the CVC three or four digits, as Stripe's own form checks before charging. The card
//! number and CVC are never kept, logged or shown back: the form's Debug leaves them out.

use http::StatusCode;

/// The test card that always pays.
const PAYS: &str = "4242424242424242";
/// The test card that is always declined.
const DECLINED: &str = "4000000000000002";

/// The card form as submitted.
#[derive(Default)]
pub(crate) struct CardForm {
    number: String,
    pub(crate) expiry: String,
    cvc: String,
    pub(crate) cardholder: String,
}

impl std::fmt::Debug for CardForm {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CardForm")
            .field("expiry", &self.expiry)
            .field("cardholder", &self.cardholder)
            .finish_non_exhaustive()
    }
}

/// Why a payment did not go through, with the status the page is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) message: &'static str,
}

impl Refusal {
    const fn new(status: StatusCode, message: &'static str) -> Refusal {
        Refusal { status, message }
    }
}

impl CardForm {
    /// Reads the form body; a field that is absent is empty.
    pub(crate) fn parse(body: &[u8]) -> CardForm {
        let mut form = CardForm::default();
        for (name, value) in form_urlencoded::parse(body) {
            let field = match name.as_ref() {
                "card_number" => &mut form.number,
                "expiry" => &mut form.expiry,
                "cvc" => &mut form.cvc,
                "cardholder" => &mut form.cardholder,
                _ => continue,
            };
            *field = value.into_owned();
        }
        form
    }

    /// Charges the card on `today`: `Ok` when the payment goes through.
    pub(crate) fn charge(&self, today: time::Date) -> Result<(), Refusal> {
        let number: String = self.number.chars().filter(|character| !character.is_whitespace()).collect();
        if number.is_empty() {
            return Err(Refusal::new(StatusCode::BAD_REQUEST, "Your card number is incomplete."));
        }
        match expiry(&self.expiry) {
            None => return Err(Refusal::new(StatusCode::BAD_REQUEST, "Your card's expiration date is incomplete.")),
            // A card is valid until the end of its expiry month.
            Some(month) if month < (today.year(), u8::from(today.month())) => {
                return Err(Refusal::new(StatusCode::BAD_REQUEST, "Your card's expiration date is in the past."));
            }
            Some(_) => {}
        }
        let cvc = self.cvc.trim();
        if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(Refusal::new(StatusCode::BAD_REQUEST, "Your card's security code is incomplete."));
        }
        match number.as_str() {
            PAYS => Ok(()),
            DECLINED => Err(Refusal::new(StatusCode::PAYMENT_REQUIRED, "Your card was declined.")),
            _ => Err(Refusal::new(
                StatusCode::PAYMENT_REQUIRED,
                "Your card number is not a test card. Use 4242 4242 4242 4242.",
            )),
        }
    }
}

/// The (year, month) of an expiry written `MM / YY`, `MM/YY` or `MM/YYYY`.
fn expiry(text: &str) -> Option<(i32, u8)> {
    let compact: String = text.chars().filter(|character| !character.is_whitespace()).collect();
    let (month, year) = compact.split_once('/')?;
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    if !all_digits(month) || !all_digits(year) || month.len() > 2 {
        return None;
    }
    let month: u8 = month.parse().ok().filter(|month| (1..=12).contains(month))?;
    let year: i32 = match year.len() {
        2 => 2000 + year.parse::<i32>().ok()?,
        4 => year.parse().ok()?,
        _ => return None,
    };
    Some((year, month))
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const TODAY: time::Date = date!(2030 - 06 - 15);

    fn charge(number: &str, expiry: &str, cvc: &str) -> Result<(), Refusal> {
        let form = CardForm {
            number: number.to_owned(),
            expiry: expiry.to_owned(),
            cvc: cvc.to_owned(),
            cardholder: "Ada Lovelace".to_owned(),
        };
        form.charge(TODAY)
    }

    fn status(result: Result<(), Refusal>) -> Option<StatusCode> {
        result.err().map(|refusal| refusal.status)
    }

    #[test]
    fn the_test_cards_pay_or_are_declined_and_other_numbers_are_refused() {
        assert_eq!(charge("4242 4242 4242 4242", "12 / 34", "123"), Ok(()));
        assert_eq!(charge("4242424242424242", "06/2030", "1234"), Ok(()));
        let declined = charge("4000 0000 0000 0002", "12 / 34", "123").expect_err("declined");
        assert_eq!(declined, Refusal::new(StatusCode::PAYMENT_REQUIRED, "Your card was declined."));
        assert_eq!(status(charge("5555 5555 5555 4444", "12 / 34", "123")), Some(StatusCode::PAYMENT_REQUIRED));
    }

    #[test]
    fn an_incomplete_or_past_expiry_or_security_code_is_a_bad_request() {
        for (expiry, cvc) in [("", "123"), ("13 / 34", "123"), ("1234", "123"), ("05 / 30", "123"), ("12 / 34", "12")] {
            assert_eq!(
                status(charge("4242 4242 4242 4242", expiry, cvc)),
                Some(StatusCode::BAD_REQUEST),
                "{expiry:?} {cvc:?}"
            );
        }
        assert_eq!(status(charge("", "12 / 34", "123")), Some(StatusCode::BAD_REQUEST));
    }

    #[test]
    fn the_form_reads_every_field_and_its_debug_hides_the_card() {
        let form = CardForm::parse(b"card_number=4242+4242+4242+4242&expiry=12+%2F+34&cvc=123&cardholder=Ada");
        assert_eq!(form.number, "4242 4242 4242 4242");
        assert_eq!(form.expiry, "12 / 34");
        assert_eq!(form.cardholder, "Ada");
        let shown = format!("{form:?}");
        assert!(!shown.contains("4242") && !shown.contains("123"), "{shown}");
    }
}
