//! Currencies (D8): which ISO 4217 codes are circulating money, and which one a country pays in. Pure, so
//! the write side (an order's shown currency, an admin's exchange rate) and the read side (display prices)
//! answer the same.

use std::str::FromStr;

/// The currency every amount is kept and charged in (D8): prices, orders, wallets and earnings are its cents.
pub const BASE: &str = "USD";

use iso_currency::{Country, Currency};

fn circulating(currency: &Currency) -> bool {
    !currency.is_fund() && !currency.is_special() && currency.is_superseded().is_none()
}

/// Whether `code` is a circulating ISO 4217 currency (not a fund, a special unit or a superseded code).
pub fn is_circulating(code: &str) -> bool {
    Currency::from_code(code).is_some_and(|currency| circulating(&currency))
}

/// The digits of `code`'s minor unit (ISO 4217): 2 for EUR and USD, 0 for JPY, 3 for KWD; 2 for a code
/// ISO 4217 gives none.
pub fn exponent(code: &str) -> u32 {
    Currency::from_code(code).and_then(|currency| currency.exponent()).map_or(2, u32::from)
}

/// `code` as the crate's own `'static` string, when ISO 4217 knows it.
pub fn static_code(code: &str) -> Option<&'static str> {
    Currency::from_code(code).map(|currency| currency.code())
}

/// The circulating currency of an ISO 3166 alpha-2 country code (case-insensitive).
pub fn of_country(country: &str) -> Option<&'static str> {
    let country = Country::from_str(&country.trim().to_ascii_uppercase()).ok()?;
    Currency::from_country(country).into_iter().find(circulating).map(|currency| currency.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_currency_has_the_minor_unit_iso_4217_gives_it() {
        assert_eq!((exponent("EUR"), exponent("USD"), exponent("JPY"), exponent("KWD")), (2, 2, 0, 3));
        assert_eq!(exponent("XXX"), 2, "no minor unit given: hundredths");
    }

    #[test]
    fn countries_map_to_their_circulating_currency() {
        assert_eq!(of_country("DE"), Some("EUR"));
        assert_eq!(of_country("eg"), Some("EGP"));
        assert_eq!(of_country("US"), Some("USD"));
        assert_eq!(of_country("ZZ"), None);
        assert_eq!(of_country("USA"), None);
    }

    #[test]
    fn only_circulating_codes_are_currencies() {
        assert!(is_circulating("EUR"));
        assert!(!is_circulating("XXX"));
        assert!(!is_circulating("eur"));
    }
}
