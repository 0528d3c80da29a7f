//! The dead-letter routes for admins: `GET /api/v1/admin/dead-letters`, `POST …/{dead_letter_id}/retry` and
//! `POST …/{dead_letter_id}/skip {reason}`. They act on the projector's own table, so they live beside it; a
//! process serves them with its query API (which holds the read-model database).

use std::sync::Arc;

use api_contract::{ApiRoutes, Authenticated, JsonCommand, Problem, TokenKeys, Who};
use axum::Json;
use axum::Router;
use axum::extract::{FromRef, Path, State};
use axum::response::{IntoResponse, Response};
use database::Database;
use event_store::keys::KeyRing;
use http::Method;
use serde::Deserialize;

use crate::dead_letters::{self, DeadLetterError};

/// What the dead-letter routes need: the read-model database and the token keys.
#[derive(Debug, Clone)]
pub struct DeadLetterAdmin {
    pub read: Database,
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
        .route(Method::GET, "/api/v1/admin/dead-letters", list, Who::Admin, "Every stream the projector parked")
        .answers_data_list::<dead_letters::DeadLetter>()
        .route(
            Method::POST,
            "/api/v1/admin/dead-letters/{dead_letter_id}/retry",
            retry,
            Who::Admin,
            "Apply a dead letter again, then the events waiting behind it",
        )
        .answers_data::<dead_letters::Resolution>()
        .route(
            Method::POST,
            "/api/v1/admin/dead-letters/{dead_letter_id}/skip",
            skip,
            Who::Admin,
            "Never apply a dead letter (with a reason), then apply the events waiting behind it",
        )
        .body::<SkipBody>()
        .answers_data::<dead_letters::Resolution>()
}

pub fn router(state: DeadLetterAdmin) -> Router {
    routes().into_router(&state.keys).with_state(state)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SkipBody {
    reason: String,
}

/// Who resolved a dead letter, as recorded (the routes are for admins only, by their declaration).
fn resolver(actor: Authenticated) -> String {
    format!("admin:{}", actor.user_id)
}

fn dead_letter_id(raw: &str) -> Result<i64, Problem> {
    raw.parse().map_err(|_| Problem::malformed(format!("{raw:?} is not a dead letter id.")))
}

async fn list(State(state): State<DeadLetterAdmin>) -> Response {
    let answer = async {
        let letters = dead_letters::list(&state.read).await.map_err(|error| {
            Problem::unavailable().because(format!("listing dead letters failed: {}", error.summary()))
        })?;
        Ok::<_, Problem>(Json(serde_json::json!({ "data": letters })).into_response())
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

async fn retry(actor: Authenticated, State(state): State<DeadLetterAdmin>, Path(id): Path<String>) -> Response {
    let answer = async {
        let by = resolver(actor);
        let id = dead_letter_id(&id)?;
        resolved(dead_letters::retry(&state.read, &state.keyring, id, &by).await)
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

async fn skip(
    actor: Authenticated,
    State(state): State<DeadLetterAdmin>,
    Path(id): Path<String>,
    body: Result<JsonCommand<SkipBody>, Problem>,
) -> Response {
    let answer = async {
        let by = resolver(actor);
        let id = dead_letter_id(&id)?;
        let reason = body?.body.reason;
        if reason.trim().is_empty() {
            return Err(Problem::rule("reason_required", "Say why the event is skipped."));
        }
        resolved(dead_letters::skip(&state.read, &state.keyring, id, &by, reason.trim()).await)
    };
    answer.await.unwrap_or_else(IntoResponse::into_response)
}

fn resolved(outcome: Result<dead_letters::Resolution, DeadLetterError>) -> Result<Response, Problem> {
    match outcome {
        Ok(resolution) => Ok(Json(serde_json::json!({ "data": resolution })).into_response()),
        Err(DeadLetterError::NotParked(id)) => Err(Problem::not_found(format!("No dead letter {id} is parked."))),
        Err(DeadLetterError::Projector(error)) => {
            Err(Problem::unavailable().because(format!("resolving a dead letter failed: {}", error.summary())))
        }
    }
}
