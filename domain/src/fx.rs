//! Exchange rates (D8): an admin sets how many units of a currency one US dollar buys. Display prices are
//! converted with the current rate at read time; the stored prices stay in USD cents.

use crate::effects::Decided;
use events::commerce::{ExchangeRateOverrideCleared, ExchangeRateSet, RateSource};
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

/// The stream of one currency's rate: its latest value, and whether an admin set it (an override the
/// provider's rates leave alone).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FxRate {
    pub rate_ppm: Option<i64>,
    pub overridden: bool,
}

impl super::Aggregate for FxRate {
    fn evolve(self, event: &Event) -> Self {
        let Some(event) = FxEvent::of(event) else { return self };
        match event {
            FxEvent::ExchangeRateSet(set) => {
                FxRate { rate_ppm: Some(set.rate_ppm), overridden: set.source == RateSource::Admin }
            }
            FxEvent::ExchangeRateOverrideCleared(_) => FxRate { overridden: false, ..self },
        }
    }
}

/// What happens to a currency's rate (units of it per US dollar).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FxCommand<'a> {
    /// An admin sets the rate: an override the provider leaves alone.
    SetRate { actor: &'a Actor, currency: &'a str, rate: f64 },
    /// An admin clears their override: the provider's next rate applies.
    ClearOverride { actor: &'a Actor, currency: &'a str },
    /// The reference rates provider's rate of the day.
    ProviderRate { currency: &'a str, rate_ppm: i64 },
}

/// Decides a rate change: a rate is replaced whole; the provider's never replaces an admin's override, and the
/// same rate again changes nothing.
pub fn decide(rate: &FxRate, command: FxCommand<'_>) -> Result<Decided, FxRejection> {
    match command {
        FxCommand::SetRate { actor, currency, rate } => set_rate(actor, currency, rate),
        FxCommand::ClearOverride { actor, currency } => {
            if actor.role != Role::Admin {
                return Err(FxRejection::NotAnAdmin);
            }
            Ok(match rate.overridden {
                true => vec![Event::ExchangeRateOverrideCleared(ExchangeRateOverrideCleared {
                    currency: currency.to_owned(),
                })],
                false => Vec::new(),
            })
        }
        FxCommand::ProviderRate { currency, rate_ppm } => {
            let mut found = Vec::new();
            check_currency(&mut found, currency);
            if !(1..=MAX_RATE_PPM).contains(&rate_ppm) {
                found.push(Violation::new("rate", "must be a positive number of units per US dollar, at most 1000000"));
            }
            if !found.is_empty() {
                return Err(FxRejection::Invalid(found));
            }
            if rate.overridden || rate.rate_ppm == Some(rate_ppm) {
                return Ok(Decided::default());
            }
            let source = RateSource::Provider;
            Ok(vec![Event::ExchangeRateSet(ExchangeRateSet { currency: currency.to_owned(), rate_ppm, source })])
        }
    }
    .map(Decided::from)
}

fn check_currency(found: &mut Vec<Violation>, currency: &str) {
    if currency == "USD" {
        found.push(Violation::of_rule("base_currency", "currency", "USD is the base currency; its rate is always 1"));
    } else if !events::currency::is_circulating(currency) {
        let message = "must be a circulating ISO 4217 currency code like EUR";
        found.push(Violation::of_rule("unknown_currency", "currency", message));
    }
}

/// An admin sets a currency's rate: units of it per US dollar.
fn set_rate(actor: &Actor, currency: &str, rate: f64) -> Result<Vec<Event>, FxRejection> {
    if actor.role != Role::Admin {
        return Err(FxRejection::NotAnAdmin);
    }
    let mut found = Vec::new();
    check_currency(&mut found, currency);
    let rate_ppm = (rate * 1_000_000.0).round();
    if !rate.is_finite() || rate_ppm < 1.0 || rate_ppm > MAX_RATE_PPM as f64 {
        found.push(Violation::new("rate", "must be a positive number of units per US dollar, at most 1000000"));
    }
    if !found.is_empty() {
        return Err(FxRejection::Invalid(found));
    }
    let source = RateSource::Admin;
    Ok(vec![Event::ExchangeRateSet(ExchangeRateSet {
        currency: currency.to_owned(),
        rate_ppm: rate_ppm as i64,
        source,
    })])
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use crate::Aggregate;

    use super::*;
    use crate::given::when;

    fn admin() -> Actor {
        Actor { user_id: Uuid::from_u128(1), role: Role::Admin }
    }

    #[test]
    fn an_admin_sets_a_rate_kept_in_millionths() {
        let events =
            when(decide(&FxRate::default(), FxCommand::SetRate { actor: &admin(), currency: "EUR", rate: 0.92 }))
                .expect("valid");
        let set = ExchangeRateSet { currency: "EUR".into(), rate_ppm: 920_000, source: RateSource::Admin };
        assert_eq!(events, [Event::ExchangeRateSet(set)]);
    }

    #[test]
    fn only_admins_set_rates_of_real_currencies_other_than_the_dollar() {
        let instructor = Actor { role: Role::Instructor, ..admin() };
        assert_eq!(
            when(decide(&FxRate::default(), FxCommand::SetRate { actor: &instructor, currency: "EUR", rate: 0.92 })),
            Err(FxRejection::NotAnAdmin)
        );
        for (currency, rate) in
            [("USD", 1.0), ("XXX", 1.0), ("eur", 0.9), ("EUR", 0.0), ("EUR", -1.0), ("EUR", f64::NAN)]
        {
            assert!(
                matches!(
                    when(decide(&FxRate::default(), FxCommand::SetRate { actor: &admin(), currency, rate })),
                    Err(FxRejection::Invalid(_))
                ),
                "{currency} {rate}"
            );
        }
    }

    #[test]
    fn the_provider_sets_rates_but_never_over_an_admin_s_until_it_is_cleared() {
        let provided =
            |rate: &FxRate, rate_ppm| when(decide(rate, FxCommand::ProviderRate { currency: "EUR", rate_ppm }));
        let first = provided(&FxRate::default(), 910_000).expect("set");
        let set = ExchangeRateSet { currency: "EUR".into(), rate_ppm: 910_000, source: RateSource::Provider };
        assert_eq!(first, [Event::ExchangeRateSet(set)]);
        let current = FxRate::from_events(&first);
        assert_eq!(provided(&current, 910_000), Ok(Vec::new()), "the same rate again changes nothing");
        let by_admin =
            when(decide(&current, FxCommand::SetRate { actor: &admin(), currency: "EUR", rate: 0.95 })).expect("set");
        let overridden = by_admin.iter().fold(current, FxRate::evolve);
        assert!(overridden.overridden);
        assert_eq!(provided(&overridden, 920_000), Ok(Vec::new()), "an admin's rate stays");
        let cleared =
            when(decide(&overridden, FxCommand::ClearOverride { actor: &admin(), currency: "EUR" })).expect("cleared");
        let released = cleared.iter().fold(overridden, FxRate::evolve);
        assert_eq!(released.rate_ppm, Some(950_000), "kept until the provider's next rate");
        assert_eq!(provided(&released, 920_000).expect("set").len(), 1);
        assert_eq!(
            when(decide(&released, FxCommand::ClearOverride { actor: &admin(), currency: "EUR" })),
            Ok(Vec::new())
        );
        assert!(matches!(provided(&FxRate::default(), 0), Err(FxRejection::Invalid(_))));
        assert!(matches!(
            when(decide(&FxRate::default(), FxCommand::ProviderRate { currency: "USD", rate_ppm: 1 })),
            Err(FxRejection::Invalid(_))
        ));
    }
}
