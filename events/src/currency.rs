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

/// `usd_cents` in `code`'s own minor unit at `rate_ppm` (millionths of `code` per US dollar), rounded half up:
/// the one conversion every price shown and every order's statement use.
pub fn to_minor(usd_cents: i64, rate_ppm: i64, code: &str) -> i64 {
    let scale = 10_i128.pow(exponent(code));
    let whole = 100_i128 * 1_000_000;
    // Half up for negative amounts too (a wallet's net): floor((x + ½) / 1), not a cut toward zero.
    let converted = (i128::from(usd_cents) * i128::from(rate_ppm) * scale + whole / 2).div_euclid(whole);
    i64::try_from(converted).unwrap_or(i64::MAX)
}

/// `amount` of `code`'s minor unit as people read it: `EUR 18.39`, `JPY 2999`, `KWD 6.137`.
pub fn format(amount: i64, code: &str) -> String {
    let digits = exponent(code);
    if digits == 0 {
        return format!("{code} {amount}");
    }
    let scale = 10_i64.pow(digits);
    let sign = if amount < 0 { "-" } else { "" };
    let amount = amount.unsigned_abs();
    let scale = scale.unsigned_abs();
    format!("{code} {sign}{}.{:0width$}", amount / scale, amount % scale, width = digits as usize)
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
    fn amounts_convert_and_read_in_each_currency_s_own_minor_unit() {
        assert_eq!(to_minor(1999, 920_000, "EUR"), 1839);
        assert_eq!(to_minor(1999, 150_000_000, "JPY"), 2999, "2998.5 yen rounds up");
        assert_eq!(to_minor(1999, 307_000, "KWD"), 6137);
        assert_eq!(
            (format(1839, "EUR"), format(2999, "JPY"), format(6137, "KWD")),
            ("EUR 18.39".to_owned(), "JPY 2999".to_owned(), "KWD 6.137".to_owned())
        );
        assert_eq!(format(-5, "USD"), "USD -0.05");
        assert_eq!(to_minor(-1999, 920_000, "EUR"), -1839, "-18.3908 rounds to -18.39");
        assert_eq!(to_minor(-1, 1_500_000, "USD"), -1, "-1.5 rounds half up to -1");
        assert_eq!(to_minor(-1, 1_200_000, "USD"), -1, "-1.2 rounds to -1");
    }

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
