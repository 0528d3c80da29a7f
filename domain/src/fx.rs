//! Exchange rates (D8): an admin sets how many units of a currency one US dollar buys. Display prices are
//! converted with the current rate at read time; the stored prices stay in USD cents.

use events::commerce::ExchangeRateSet;
use events::{Actor, Event, Role};

use super::Violation;
use crate::families::FxEvent;

/// Rates are kept in millionths; no real currency is worth less than a millionth of a dollar per unit or
/// more than a million units per dollar.
pub const MAX_RATE_PPM: i64 = 1_000_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FxRejection {
    NotAnAdmin,
    Invalid(Vec<Violation>),
}

/// The stream of one currency's rate: only its latest value matters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FxRate {
    pub rate_ppm: Option<i64>,
}

impl super::Aggregate for FxRate {
    fn evolve(self, event: &Event) -> Self {
        let Some(event) = FxEvent::of(event) else { return self };
        match event {
            FxEvent::ExchangeRateSet(set) => FxRate { rate_ppm: Some(set.rate_ppm) },
        }
    }
}

/// An admin sets a currency's rate: units of it per US dollar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FxCommand<'a> {
    SetRate { actor: &'a Actor, currency: &'a str, rate: f64 },
}

/// Decides a rate change; the rate before it does not matter (a rate is replaced whole).
pub fn decide(_rate: &FxRate, command: FxCommand<'_>) -> Result<Vec<Event>, FxRejection> {
    let FxCommand::SetRate { actor, currency, rate } = command;
    if actor.role != Role::Admin {
        return Err(FxRejection::NotAnAdmin);
    }
    let mut found = Vec::new();
    if currency == "USD" {
        found.push(Violation::of_rule("base_currency", "currency", "USD is the base currency; its rate is always 1"));
    } else if !events::currency::is_circulating(currency) {
        let message = "must be a circulating ISO 4217 currency code like EUR";
        found.push(Violation::of_rule("unknown_currency", "currency", message));
    }
    let rate_ppm = (rate * 1_000_000.0).round();
    if !rate.is_finite() || rate_ppm < 1.0 || rate_ppm > MAX_RATE_PPM as f64 {
        found.push(Violation::new("rate", "must be a positive number of units per US dollar, at most 1000000"));
    }
    if !found.is_empty() {
        return Err(FxRejection::Invalid(found));
    }
    Ok(vec![Event::ExchangeRateSet(ExchangeRateSet { currency: currency.to_owned(), rate_ppm: rate_ppm as i64 })])
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn admin() -> Actor {
        Actor { user_id: Uuid::from_u128(1), role: Role::Admin }
    }

    #[test]
    fn an_admin_sets_a_rate_kept_in_millionths() {
        let events = decide(&FxRate::default(), FxCommand::SetRate { actor: &admin(), currency: "EUR", rate: 0.92 })
            .expect("valid");
        assert_eq!(events, [Event::ExchangeRateSet(ExchangeRateSet { currency: "EUR".into(), rate_ppm: 920_000 })]);
    }

    #[test]
    fn only_admins_set_rates_of_real_currencies_other_than_the_dollar() {
        let instructor = Actor { role: Role::Instructor, ..admin() };
        assert_eq!(
            decide(&FxRate::default(), FxCommand::SetRate { actor: &instructor, currency: "EUR", rate: 0.92 }),
            Err(FxRejection::NotAnAdmin)
        );
        for (currency, rate) in
            [("USD", 1.0), ("XXX", 1.0), ("eur", 0.9), ("EUR", 0.0), ("EUR", -1.0), ("EUR", f64::NAN)]
        {
            assert!(
                matches!(
                    decide(&FxRate::default(), FxCommand::SetRate { actor: &admin(), currency, rate }),
                    Err(FxRejection::Invalid(_))
                ),
                "{currency} {rate}"
            );
        }
    }
}
