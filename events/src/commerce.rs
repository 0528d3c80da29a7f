//! Events of the Commerce context. So far: exchange rates (stream `fx-{currency}`, D8).

use serde::{Deserialize, Serialize};

/// An admin set how many units of `currency` one US dollar buys, in millionths (`rate_ppm` 920000 = 0.92).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRateSet {
    pub currency: String,
    pub rate_ppm: i64,
}
