//! The one path every command takes: replay a stored answer for a known Idempotency-Key, else load the
//! aggregate's stream, decide, and append with the version the decision was made on. A lost race is retried
//! with fresh state, unless the client pinned the version with If-Match.

use api_contract::{Authenticated, ConsistencyToken, Problem};
use axum::Json;
use axum::response::{IntoResponse, Response};
use event_store::{
    AppendError, AppendOutcome, AppendRequest, Appended, ExpectedVersion, IdempotencyRecord, StoredAnswer,
};
use events::{Event, Metadata, NewEvent, RecordedEvent};
use http::{HeaderValue, StatusCode};
use serde_json::Value;
use time::OffsetDateTime;

use super::CommandApiState;
use super::headers::CommandHeaders;
use crate::domain::Aggregate;

/// How often a command is decided again after losing a race for its aggregate.
const MAX_ATTEMPTS: usize = 3;

/// One command on one aggregate stream, and the answer it gives on success.
#[derive(Debug)]
pub(crate) struct CommandRun {
    pub stream_id: String,
    pub actor: Authenticated,
    pub headers: CommandHeaders,
    pub digest: String,
    pub status: StatusCode,
    /// The `data` of the answer (the version is added once known).
    pub data: Value,
}

pub(crate) async fn execute<A, R>(
    state: &CommandApiState,
    run: CommandRun,
    decide: impl Fn(&A) -> Result<Vec<Event>, R>,
) -> Result<Response, Problem>
where
    A: Aggregate,
    R: Into<Problem>,
{
    let scope = run.actor.user_id.to_string();
    let key = run.headers.idempotency_key.as_deref();
    if let Some(stored) = stored_answer(state, &scope, key).await? {
        return replay(stored, &run.digest);
    }
    for attempt in 1..=MAX_ATTEMPTS {
        let history = state.store.read_stream(&run.stream_id).await.map_err(|error| {
            tracing::error!(%error, stream = %run.stream_id, "reading a stream failed");
            Problem::unavailable()
        })?;
        let version = history.last().map_or(0, |event| event.stream_version);
        if run.headers.if_match.is_some_and(|expected| expected != version) {
            return Err(Problem::conflict("The resource changed since you read it; read it again and retry."));
        }
        let aggregate = A::from_events(&decode(&history)?);
        let events = match decide(&aggregate) {
            Ok(events) => events,
            Err(rejection) => {
                // A duplicate of a request that is committing right now would be judged against its result:
                // answer what the first one answered instead.
                if let Some(stored) = stored_answer(state, &scope, key).await? {
                    return replay(stored, &run.digest);
                }
                return Err(rejection.into());
            }
        };
        let request = AppendRequest {
            stream_id: run.stream_id.clone(),
            expected: if version == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(version) },
            events: encode(&events, &run),
            idempotency: key.map(|key| IdempotencyRecord {
                scope: scope.clone(),
                key: key.to_owned(),
                request_hash: run.digest.clone(),
                status: run.status.as_u16(),
                response: run.data.clone(),
            }),
        };
        match state.store.append(request).await {
            Ok(AppendOutcome::Appended(appended)) => return Ok(appended_answer(run.status, run.data, appended)),
            Ok(AppendOutcome::Replayed(stored)) => return replay(stored, &run.digest),
            Err(AppendError::Conflict { .. }) if run.headers.if_match.is_none() && attempt < MAX_ATTEMPTS => {
                tracing::debug!(attempt, stream = %run.stream_id, "lost a race; deciding again");
            }
            Err(error) => return Err(append_problem(error)),
        }
    }
    Err(Problem::conflict("The resource is changing too often right now; retry."))
}

pub(crate) async fn stored_answer(
    state: &CommandApiState,
    scope: &str,
    key: Option<&str>,
) -> Result<Option<StoredAnswer>, Problem> {
    let Some(key) = key else { return Ok(None) };
    state.store.find_answer(scope, key).await.map_err(|error| {
        tracing::error!(%error, "reading an idempotency record failed");
        Problem::unavailable()
    })
}

pub(crate) fn replay(stored: StoredAnswer, digest: &str) -> Result<Response, Problem> {
    if stored.request_hash != digest {
        return Err(idempotency_key_reused());
    }
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let token = ConsistencyToken {
        position: stored.last_position,
        stream_id: stored.stream_id,
        stream_version: stored.stream_version,
    };
    Ok(answer(status, stored.response, token))
}

/// The success answer of a command whose events landed as `appended`.
pub(crate) fn appended_answer(status: StatusCode, data: Value, appended: Appended) -> Response {
    let token = ConsistencyToken {
        position: appended.last_position,
        stream_id: appended.stream_id,
        stream_version: appended.stream_version,
    };
    answer(status, data, token)
}

/// A command's success answer: `{data, consistency_token}`, the token header and the version as ETag.
fn answer(status: StatusCode, mut data: Value, token: ConsistencyToken) -> Response {
    if let Value::Object(fields) = &mut data {
        fields.insert("version".to_owned(), Value::from(token.stream_version));
    }
    let encoded = token.encode();
    let body = serde_json::json!({ "data": data, "consistency_token": encoded });
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&encoded) {
        headers.insert("x-consistency-token", value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", token.stream_version)) {
        headers.insert(http::header::ETAG, value);
    }
    response
}

fn decode(history: &[RecordedEvent]) -> Result<Vec<Event>, Problem> {
    history
        .iter()
        .map(|recorded| {
            recorded.decode().map_err(|error| {
                tracing::error!(%error, position = recorded.position, "a stored event does not decode");
                Problem::internal()
            })
        })
        .collect()
}

fn encode(events: &[Event], run: &CommandRun) -> Vec<NewEvent> {
    let now = OffsetDateTime::now_utc();
    let metadata = Metadata {
        correlation_id: Some(run.headers.correlation_id),
        causation_id: None,
        actor: Some(run.actor.actor()),
    };
    events.iter().map(|event| NewEvent::new(event, metadata.clone(), now)).collect()
}

fn idempotency_key_reused() -> Problem {
    Problem::rule("idempotency_key_reused", "This Idempotency-Key was already used with a different request.")
}

fn append_problem(error: AppendError) -> Problem {
    match error {
        AppendError::Conflict { .. } => {
            Problem::conflict("Someone else changed this resource at the same time; read it again and retry.")
        }
        AppendError::IdempotencyKeyReused => idempotency_key_reused(),
        AppendError::Unavailable(source) => {
            tracing::error!(error = %source, "append failed");
            Problem::unavailable()
        }
        AppendError::Closed => Problem::unavailable(),
        AppendError::Empty => {
            tracing::error!("a decider produced no events for an append");
            Problem::internal()
        }
    }
}
