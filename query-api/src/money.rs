//! Display prices (D8): stored amounts are USD cents; a read converts them into the currency of the caller's
//! `country` with the current `fx_rates`, in that currency's own minor unit (ISO 4217: cents of a euro, whole
//! yen, fils of a Kuwaiti dinar). An unknown country or a missing rate shows USD, labelled USD.

use deadpool_postgres::Client;
use serde::Serialize;

const PPM: i128 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(crate) struct Money {
    /// In the currency's own minor unit (ISO 4217): cents of USD or EUR, whole yen, fils of KWD.
    pub amount_cents: i64,
    pub currency: &'static str,
}

/// The currency a read shows its prices in, how many millionths of it one US dollar is worth, and the digits
/// of its minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Display {
    pub currency: &'static str,
    pub rate_ppm: i64,
    pub exponent: u32,
}

impl Display {
    pub const USD: Display = Display { currency: "USD", rate_ppm: 1_000_000, exponent: 2 };

    /// The display an order recorded (its currency and the rate of that day); an unknown code shows USD.
    pub fn kept(currency: &str, rate_ppm: i64) -> Display {
        match iso_code(currency) {
            Some(code) if code != "USD" && rate_ppm > 0 => Display::of(code, rate_ppm),
            _ => Display::USD,
        }
    }

    fn of(currency: &'static str, rate_ppm: i64) -> Display {
        Display { currency, rate_ppm, exponent: events::currency::exponent(currency) }
    }

    /// Loads the rate of `country`'s currency; USD when the country or its rate is unknown.
    pub async fn for_country(client: &Client, country: Option<&str>) -> Result<Display, tokio_postgres::Error> {
        let Some(currency) = country.and_then(events::currency::of_country).filter(|c| *c != "USD") else {
            return Ok(Display::USD);
        };
        let statement = client.prepare_cached("SELECT rate_ppm FROM fx_rates WHERE currency = $1").await?;
        Ok(match client.query_opt(&statement, &[&currency]).await? {
            Some(row) => Display::of(currency, row.try_get(0)?),
            None => Display::USD,
        })
    }

    /// The display in `code` (a circulating currency's code) at its current rate; `None` without a rate.
    pub async fn for_currency(client: &Client, code: &str) -> Result<Option<Display>, tokio_postgres::Error> {
        let Some(currency) = iso_code(code) else { return Ok(None) };
        if currency == "USD" {
            return Ok(Some(Display::USD));
        }
        let statement = client.prepare_cached("SELECT rate_ppm FROM fx_rates WHERE currency = $1").await?;
        let row = client.query_opt(&statement, &[&currency]).await?;
        row.map(|row| Ok(Display::of(currency, row.try_get(0)?))).transpose()
    }

    /// USD cents in this currency's own minor unit, rounded half up.
    pub fn show(self, usd_cents: i64) -> Money {
        Money {
            amount_cents: events::currency::to_minor(usd_cents, self.rate_ppm, self.currency),
            currency: self.currency,
        }
    }

    /// An amount in hundredths of this currency's unit (a filter's `19.99`) as USD cents, rounded down.
    pub fn to_usd_cents(self, local_hundredths: i64) -> i64 {
        let usd = i128::from(local_hundredths) * PPM / i128::from(self.rate_ppm.max(1));
        i64::try_from(usd).unwrap_or(i64::MAX)
    }
}

/// `code` as the static code of a circulating currency.
fn iso_code(code: &str) -> Option<&'static str> {
    events::currency::is_circulating(code).then(|| events::currency::static_code(code)).flatten()
}

/// The price after `percent` off, rounded half up to the cent (R11).
pub(crate) fn discounted(base_cents: i64, percent: Option<i16>) -> i64 {
    let percent = i64::from(percent.unwrap_or(0).clamp(0, 100));
    (base_cents * (100 - percent) + 50) / 100
}

/// `country`: where the caller is, so that prices are shown in its currency too.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct InCountry {
    /// The caller's country (ISO 3166 alpha-2); prices are shown in its currency as well as in USD.
    pub country: Option<String>,
}

impl InCountry {
    pub fn country(&self) -> Option<&str> {
        self.country.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_rounds_half_up_and_filters_convert_back_down() {
        let euro = Display::of("EUR", 920_000);
        assert_eq!(euro.show(1999), Money { amount_cents: 1839, currency: "EUR" }, "18.3908 rounds to 18.39");
        assert_eq!(euro.show(1250), Money { amount_cents: 1150, currency: "EUR" });
        assert_eq!(Display::of("EGP", 48_500_000).show(1999).amount_cents, 96_952);
        assert_eq!(euro.to_usd_cents(1840), 2000);
        assert_eq!(Display::USD.show(1999).amount_cents, 1999);
    }

    #[test]
    fn each_currency_is_shown_in_its_own_minor_unit() {
        let yen = Display::of("JPY", 150_000_000);
        assert_eq!(yen.show(1999), Money { amount_cents: 2999, currency: "JPY" }, "¥2,998.50 rounds to ¥2,999");
        assert_eq!(yen.to_usd_cents(299_900), 1999, "a filter's 2999 yen is USD 19.99");
        let dinar = Display::of("KWD", 307_000);
        assert_eq!(dinar.show(1999).amount_cents, 6137, "KWD 6.13693 is 6137 fils");
    }

    #[test]
    fn discounts_round_half_up_to_the_cent() {
        assert_eq!(discounted(1999, Some(25)), 1499, "14.9925 rounds to 14.99");
        assert_eq!(discounted(1998, Some(25)), 1499, "14.985 rounds up to 14.99");
        assert_eq!(discounted(1999, None), 1999);
        assert_eq!(discounted(1999, Some(100)), 0);
    }
}
