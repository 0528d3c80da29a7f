//! Exchange rates (D8): `PUT /api/v1/admin/fx-rates/{currency}`, an admin's rate against the US dollar, which
//! overrides the provider's; `DELETE` of the same, which clears the override; and [`FxFeed`], through which the
//! reference rates provider's daily rates arrive.

use api_contract::{Authenticated, JsonCommand, Problem};
use axum::extract::{Path, State};
use events::stream::fx_stream;
use http::StatusCode;
use serde::Deserialize;

use super::CommandApiState;
use super::execute::{Accepted, CommandRun, execute};
use super::headers::CommandHeaders;
use crate::domain::fx::{FxCommand, FxRate, decide};

/// What a change of a rate answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct RateChanged {
    currency: String,
    /// The rate set; none when an override is cleared.
    rate: Option<f64>,
    version: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateBody {
    /// Units of the currency one US dollar buys.
    #[schema(minimum = 0.000001, maximum = 1000000)]
    rate: f64,
}

/// A currency code as a stream id may carry it; anything else is `400`.
fn code(currency: &str) -> Result<(), Problem> {
    match currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()) {
        true => Ok(()),
        false => Err(Problem::malformed(format!("{currency:?} is not a currency code like EUR."))),
    }
}

/// `DELETE /api/v1/admin/fx-rates/{currency}`: the admin's override goes; the provider's next rate applies.
pub(crate) async fn clear_override(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    Path(currency): Path<String>,
    headers: CommandHeaders,
    command: api_contract::EmptyCommand,
) -> Result<Accepted, Problem> {
    code(&currency)?;
    let run = CommandRun::new(fx_stream(&currency), actor.into(), headers, command.digest)
        .answering(StatusCode::OK, serde_json::json!({ "currency": currency }));
    let actor = actor.actor();
    let command = FxCommand::ClearOverride { actor: &actor, currency: &currency };
    execute(&state, run, |current: &FxRate| decide(current, command)).await
}

/// The handle through which the reference rates provider's rates are recorded, on the one pipeline.
#[derive(Debug, Clone)]
pub struct FxFeed {
    state: CommandApiState,
}

impl FxFeed {
    pub fn new(state: CommandApiState) -> Self {
        FxFeed { state }
    }

    /// Records the provider's rate of `currency` (millionths of a unit per US dollar), unless an admin overrides
    /// it or it is the rate already.
    pub async fn provider_rate(&self, currency: &str, rate_ppm: i64) -> Result<(), super::StepError> {
        let headers = CommandHeaders {
            idempotency_key: None,
            if_match: None,
            correlation_id: uuid::Uuid::now_v7(),
            causation_id: None,
        };
        let run =
            CommandRun::new(fx_stream(currency), super::execute::Caller::Saga("fx-rates"), headers, String::new());
        let command = FxCommand::ProviderRate { currency, rate_ppm };
        super::execute::on_aggregate(&self.state, &run, |current: &FxRate| decide(current, command)).await?;
        Ok(())
    }
}

pub(crate) async fn set_rate(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    Path(currency): Path<String>,
    headers: CommandHeaders,
    command: JsonCommand<RateBody>,
) -> Result<Accepted, Problem> {
    // Checked before the code becomes part of a stream id.
    code(&currency)?;
    let rate = command.body.rate;
    let run = CommandRun::new(fx_stream(&currency), actor.into(), headers, command.digest)
        .answering(StatusCode::OK, serde_json::json!({ "currency": currency, "rate": rate }));
    let actor = actor.actor();
    let command = FxCommand::SetRate { actor: &actor, currency: &currency, rate };
    execute(&state, run, |current: &FxRate| decide(current, command)).await
}
