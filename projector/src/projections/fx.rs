//! `fx_rates`: each currency's latest rate against the US dollar, in millionths (D8).

use super::Writes;
use events::{Event, RecordedEvent};

pub(super) async fn apply(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    let Event::ExchangeRateSet(set) = event else { return Ok(()) };
    writes
        .execute(
            "INSERT INTO fx_rates (currency, rate_ppm, version, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (currency) DO UPDATE SET rate_ppm = $2, version = $3, updated_at = $4 \
             WHERE fx_rates.version < $3",
            &[&set.currency, &set.rate_ppm, &recorded.stream_version, &recorded.occurred_at],
        )
        .await
}
