//! `PUT /api/v1/admin/fx-rates/{currency}`: an admin sets a currency's rate against the US dollar (D8).

use api_contract::{Authenticated, JsonCommand, Problem};
use axum::extract::{Path, State};
use events::stream::fx_stream;
use http::StatusCode;
use serde::Deserialize;

use super::CommandApiState;
use super::execute::{Accepted, CommandRun, execute};
use super::headers::CommandHeaders;
use crate::domain::fx::{FxCommand, FxRate, decide};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateBody {
    /// Units of the currency one US dollar buys.
    #[schema(minimum = 0.000001, maximum = 1000000)]
    rate: f64,
}

pub(crate) async fn set_rate(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    Path(currency): Path<String>,
    headers: CommandHeaders,
    command: JsonCommand<RateBody>,
) -> Result<Accepted, Problem> {
    // Checked before the code becomes part of a stream id.
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Problem::malformed(format!("{currency:?} is not a currency code like EUR.")));
    }
    let rate = command.body.rate;
    let run = CommandRun::new(fx_stream(&currency), actor.into(), headers, command.digest)
        .answering(StatusCode::OK, serde_json::json!({ "currency": currency, "rate": rate }));
    let actor = actor.actor();
    let command = FxCommand::SetRate { actor: &actor, currency: &currency, rate };
    execute(&state, run, |current: &FxRate| decide(current, command)).await
}
