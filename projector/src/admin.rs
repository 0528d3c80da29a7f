//! The dead-letter routes for admins: `GET /api/v1/admin/dead-letters`, `POST …/{dead_letter_id}/retry` and
//! `POST …/{dead_letter_id}/skip {reason}`, each for one subscriber (`?subscriber=projector|sagas|relay`, the
//! projector by default), as `learnlog dead-letters` does. The projector's dead letters are resolved here, in
//! its table; those of the sagas and the relay are handed to the running subscriber
//! (`subscriptions::dead_letters`). A process serves them with its query API.

use std::sync::Arc;

use api_contract::query::{OneOf, Words};
use api_contract::{ApiRoutes, Authenticated, JsonCommand, Params, Problem, TokenKeys, Who};
use axum::Json;
use axum::Router;
use axum::extract::{FromRef, Path, State};
use axum::response::{IntoResponse, Response};
use database::Database;
use event_store::keys::KeyRing;
use http::Method;
use serde::{Deserialize, Serialize};
use subscriptions::dead_letters as held;

use crate::dead_letters::{self, DeadLetterError};

/// The projector's name as a subscriber.
pub const PROJECTOR: &str = "projector";

/// Every subscriber that parks dead letters (`?subscriber=`).
const SUBSCRIBER_NAMES: [&str; 3] = [PROJECTOR, held::SUBSCRIBERS[0], held::SUBSCRIBERS[1]];

/// What the dead-letter routes need: both databases and the token keys.
#[derive(Debug, Clone)]
pub struct DeadLetterAdmin {
    pub read: Database,
    /// Where the sagas' and the relay's dead letters are.
    pub store: Database,
    pub keys: Arc<TokenKeys>,
    /// People's keys, to open the personal data of the events a retry applies.
    pub keyring: KeyRing,
}

impl FromRef<DeadLetterAdmin> for Arc<TokenKeys> {
    fn from_ref(state: &DeadLetterAdmin) -> Self {
        Arc::clone(&state.keys)
    }
}

pub fn routes() -> ApiRoutes<DeadLetterAdmin> {
    ApiRoutes::default()
        .route(Method::GET, "/api/v1/admin/dead-letters", list, Who::Admin, "Every stream a subscriber parked")
        .query_params::<Whose>()
        .answers_data_list::<dead_letters::DeadLetter>()
        .route(
            Method::POST,
            "/api/v1/admin/dead-letters/{dead_letter_id}/retry",
            retry,
            Who::Admin,
            "Handle a dead letter again, then the events waiting behind it",
        )
        .query_params::<Whose>()
        .answers_data::<Resolved>()
        .route(
            Method::POST,
            "/api/v1/admin/dead-letters/{dead_letter_id}/skip",
            skip,
            Who::Admin,
            "Never handle a dead letter (with a reason), then handle the events waiting behind it",
        )
        .query_params::<Whose>()
        .body::<SkipBody>()
        .answers_data::<Resolved>()
}

pub fn router(state: DeadLetterAdmin) -> Router {
    routes().into_router(&state.keys).with_state(state)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SkipBody {
    reason: String,
}

/// What a retry or a skip did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Resolved {
    /// Events of the stream the projector applied now, in order (0 for the sagas and the relay).
    pub applied: usize,
    /// The projector's dead letter that parks the stream again, if an event still failed.
    pub parked_again: Option<i64>,
    /// Events the running sagas or relay handle again, within a second (0 for the projector).
    pub retrying: u64,
}

/// The subscribers that park events.
struct Subscribers;

impl Words for Subscribers {
    const WORDS: &'static [&'static str] = &SUBSCRIBER_NAMES;
}

type Subscriber = OneOf<Subscribers>;

/// Whose dead letters a request is about.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Whose {
    /// The subscriber that parked them: the projector unless said.
    #[param(inline)]
    subscriber: Option<Subscriber>,
}

impl Whose {
    fn subscriber(&self) -> &'static str {
        self.subscriber.map_or(PROJECTOR, |subscriber| subscriber.as_str())
    }
}

/// Who resolved a dead letter, as recorded (the routes are for admins only, by their declaration).
fn resolver(actor: Authenticated) -> String {
    format!("admin:{}", actor.user_id)
}

fn dead_letter_id(raw: &str) -> Result<i64, Problem> {
    raw.parse().map_err(|_| Problem::malformed(format!("{raw:?} is not a dead letter id.")))
}

async fn list(State(state): State<DeadLetterAdmin>, Params(whose): Params<Whose>) -> Response {
    let answer = async {
        let failed = |error: &dyn std::fmt::Display| {
            Problem::unavailable().because(format!("listing dead letters failed: {error}"))
        };
        let letters: Vec<dead_letters::DeadLetter> = match whose.subscriber() {
            PROJECTOR => dead_letters::list(&state.read).await.map_err(|error| failed(&error.summary()))?,
            other => held::list(&state.store, Some(other))
                .await
                .map_err(|error| failed(&error))?
                .into_iter()
                .map(dead_letters::DeadLetter::from)
                .collect(),
        };
        Ok::<_, Problem>(Json(serde_json::json!({ "data": letters })).into_response())
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

async fn retry(
    actor: Authenticated,
    State(state): State<DeadLetterAdmin>,
    Path(id): Path<String>,
    Params(whose): Params<Whose>,
) -> Response {
    let answer = async {
        let by = resolver(actor);
        let subscriber = whose.subscriber();
        let id = dead_letter_id(&id)?;
        match subscriber {
            PROJECTOR => resolved(dead_letters::retry(&state.read, &state.keyring, id, &by).await),
            other => handed_over(held::retry(&state.store, other, id).await),
        }
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

async fn skip(
    actor: Authenticated,
    State(state): State<DeadLetterAdmin>,
    Path(id): Path<String>,
    Params(whose): Params<Whose>,
    body: Result<JsonCommand<SkipBody>, Problem>,
) -> Response {
    let answer = async {
        let by = resolver(actor);
        let subscriber = whose.subscriber();
        let id = dead_letter_id(&id)?;
        let reason = body?.body.reason;
        if reason.trim().is_empty() {
            return Err(Problem::rule("reason_required", "Say why the event is skipped."));
        }
        match subscriber {
            PROJECTOR => resolved(dead_letters::skip(&state.read, &state.keyring, id, &by, reason.trim()).await),
            other => handed_over(held::skip(&state.store, other, id, &by, reason.trim()).await),
        }
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

fn answer(resolved: &Resolved) -> Response {
    Json(serde_json::json!({ "data": resolved })).into_response()
}

fn resolved(outcome: Result<dead_letters::Resolution, DeadLetterError>) -> Result<Response, Problem> {
    match outcome {
        Ok(resolution) => {
            Ok(answer(&Resolved { applied: resolution.applied, parked_again: resolution.parked_again, retrying: 0 }))
        }
        Err(DeadLetterError::NotParked(id)) => Err(Problem::not_found(format!("No dead letter {id} is parked."))),
        Err(DeadLetterError::Projector(error)) => {
            Err(Problem::unavailable().because(format!("resolving a dead letter failed: {}", error.summary())))
        }
    }
}

fn handed_over(outcome: Result<held::Resolution, held::DeadLetterError>) -> Result<Response, Problem> {
    let retrying = match outcome {
        Ok(held::Resolution::Retrying(events) | held::Resolution::Skipped { retrying: events }) => events,
        Err(held::DeadLetterError::NotParked { id, .. }) => {
            return Err(Problem::not_found(format!("No dead letter {id} is parked.")));
        }
        Err(held::DeadLetterError::Store(error)) => {
            return Err(Problem::unavailable().because(format!("resolving a dead letter failed: {error}")));
        }
    };
    Ok(answer(&Resolved { applied: 0, parked_again: None, retrying }))
}
