//! The one path every command takes: replay a stored answer for a known Idempotency-Key, else load the
//! aggregate's stream, decide, and append with the version the decision was made on. A lost race is retried
//! with fresh state, unless the client pinned the version with If-Match. The result is typed ([`Accepted`]
//! or a [`Problem`]); the HTTP answer is made from it in one place, so a caller that runs several commands
//! (one discount on many courses) reads the outcomes, not HTTP responses.

use std::future::Future;

use api_contract::{Authenticated, ConsistencyToken, Problem};
use axum::Json;
use axum::response::{IntoResponse, Response};
use event_store::{
    AppendError, AppendOutcome, AppendRequest, Appended, ExpectedVersion, Guard, IdempotencyRecord, SideWrite,
    StoredAnswer,
};
use events::{Event, Metadata, NewEvent, RecordedEvent};
use http::{HeaderValue, StatusCode};
use serde_json::Value;
use time::OffsetDateTime;

use super::CommandApiState;
use super::headers::CommandHeaders;
use super::rejections::Refusal;
use crate::domain::Aggregate;
use crate::stream_cache::Folded;

/// How often a command is decided again after losing a race for its aggregate.
const MAX_ATTEMPTS: usize = 3;

/// One command on one aggregate stream, and the answer it gives on success.
#[derive(Debug)]
pub(crate) struct CommandRun {
    pub stream_id: String,
    /// Who sends it: a signed-in user, or a guest (sign-up, password reset, email verification).
    pub actor: Caller,
    pub headers: CommandHeaders,
    pub digest: String,
    pub status: StatusCode,
    /// The `data` of the answer (the version is added once known).
    pub data: Value,
}

/// A command that was appended (or replayed): its status, the `data` of its answer (with the stream's
/// version), and the consistency token of its events, as it is and signed for the client.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Accepted {
    pub status: StatusCode,
    pub data: Value,
    pub token: ConsistencyToken,
    pub sealed: String,
}

impl IntoResponse for Accepted {
    /// `{data, consistency_token}`, the token header and the version as ETag.
    fn into_response(self) -> Response {
        let encoded = self.sealed;
        let body = serde_json::json!({ "data": self.data, "consistency_token": encoded });
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&encoded) {
            headers.insert("x-consistency-token", value);
        }
        if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", self.token.stream_version)) {
            headers.insert(http::header::ETAG, value);
        }
        response
    }
}

impl CommandRun {
    /// A change of one account (the stream `user-{id}`), answered `200 {id, version}`.
    pub fn on_account(user_id: uuid::Uuid, actor: Caller, headers: CommandHeaders, digest: String) -> Self {
        CommandRun {
            stream_id: events::stream::user_stream(user_id),
            actor,
            headers,
            digest,
            status: StatusCode::OK,
            data: serde_json::json!({ "id": user_id }),
        }
    }
}

/// Who sends a command.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Caller {
    User(Authenticated),
    /// A guest, known only by the address the request came from.
    Guest(std::net::IpAddr),
    /// Whoever runs the command line on the server (the first admin).
    Operator,
    /// A process manager, by name, following the events that cause its commands.
    Saga(&'static str),
}

impl From<Authenticated> for Caller {
    fn from(actor: Authenticated) -> Self {
        Caller::User(actor)
    }
}

impl Caller {
    /// Whose Idempotency-Keys these are: keys of different callers never collide.
    fn scope(&self) -> String {
        match self {
            Caller::User(actor) => actor.user_id.to_string(),
            Caller::Guest(ip) => format!("guest:{ip}"),
            Caller::Operator => "operator".to_owned(),
            Caller::Saga(name) => format!("saga:{name}"),
        }
    }

    fn actor(&self) -> Option<events::Actor> {
        match self {
            Caller::User(actor) => Some(actor.actor()),
            Caller::Guest(_) | Caller::Operator | Caller::Saga(_) => None,
        }
    }
}

/// What a decision writes: its events, the write-side rows that go with them (credentials, sessions, outbox
/// emails, uniqueness claims), in the same transaction, and the facts about other streams it rested on. A
/// decision without events changes nothing (a repeated saga step): the command answers with the stream as
/// it is. `answer`, when set, is the `data` of the answer instead of the run's (what the decision found: a
/// grade), and is what a retry with the same Idempotency-Key gets again.
#[derive(Debug, Default)]
pub(crate) struct Decision {
    pub events: Vec<Event>,
    pub side_writes: Vec<SideWrite>,
    pub guards: Vec<Guard>,
    pub answer: Option<Value>,
}

impl From<Vec<Event>> for Decision {
    fn from(events: Vec<Event>) -> Self {
        Decision { events, ..Decision::default() }
    }
}

/// Runs a command whose decision needs only its aggregate's events.
pub(crate) async fn execute<A, R, D>(
    state: &CommandApiState,
    run: CommandRun,
    decide: impl Fn(&A) -> Result<D, R>,
) -> Result<Accepted, Problem>
where
    A: Aggregate,
    R: Refusal,
    D: Into<Decision>,
{
    let nothing = || std::future::ready(Ok::<(), Problem>(()));
    execute_loading(state, run, nothing, |aggregate: &A, (): &()| decide(aggregate)).await
}

/// Runs a command whose decision also needs write-side facts (a reset link, a pending verification code,
/// the courses of a cart): `load` reads them after the stream, on every attempt, so that facts and version
/// belong together. A fact of this stream changes only with an event on it, so a decision on stale facts
/// loses its append's version check and is decided again; facts of other streams are kept by the
/// decision's guards.
pub(crate) async fn execute_loading<A, F, L, E, R, D>(
    state: &CommandApiState,
    run: CommandRun,
    load: impl Fn() -> L,
    decide: impl Fn(&A, &F) -> Result<D, R>,
) -> Result<Accepted, Problem>
where
    A: Aggregate,
    L: Future<Output = Result<F, E>>,
    E: Into<Problem>,
    R: Refusal,
    D: Into<Decision>,
{
    let decide = |aggregate: &A, facts: &F| decide(aggregate, facts).map(|decision| (decision, ()));
    execute_with_outcome(state, run, load, decide).await.map(|(accepted, _)| accepted)
}

/// The pipeline itself. The decision also returns a typed outcome `T` (a debit paid or refused), handed
/// back with the answer; `None` when the answer is a replay of a stored one.
#[tracing::instrument(level = "debug", skip_all, fields(stream = %run.stream_id, correlation_id = %run.headers.correlation_id))]
pub(crate) async fn execute_with_outcome<A, F, L, E, R, D, T>(
    state: &CommandApiState,
    run: CommandRun,
    load: impl Fn() -> L,
    decide: impl Fn(&A, &F) -> Result<(D, T), R>,
) -> Result<(Accepted, Option<T>), Problem>
where
    A: Aggregate,
    L: Future<Output = Result<F, E>>,
    E: Into<Problem>,
    R: Refusal,
    D: Into<Decision>,
{
    let scope = run.actor.scope();
    let key = run.headers.idempotency_key.as_deref();
    // A client's retry gets its first answer again, so it is looked up first. A saga's step is almost
    // never a retry, and a retried step is safe without the lookup: if it decides to append, the append
    // finds the stored answer and replays it; if it decides nothing, nothing happens.
    let first_answer = match run.actor {
        Caller::Saga(_) => None,
        _ => stored_answer(state, &scope, key).await?,
    };
    if let Some(stored) = first_answer {
        return replay(state, stored, &run.digest).map(|accepted| (accepted, None));
    }
    let _turn = state.turns.turn(&run.stream_id).await;
    // The first decision trusts the state cache (this process's last fold of the stream, and of the streams
    // the decision loads with `load_guarded`) and reads nothing: the append's version check and guards catch
    // a state that another process changed meanwhile, and the command is decided again on fresh state. An
    // answer no append checks (a rejection, a decision to append nothing) is given only on fresh state.
    let mut trusting = run.headers.if_match.is_none();
    let mut attempt = 1;
    while attempt <= MAX_ATTEMPTS {
        let folded = match trusting {
            true => cached_aggregate::<A>(state, &run.stream_id).await?,
            false => take_aggregate::<A>(state, &run.stream_id).await?,
        };
        let version = folded.version;
        if run.headers.if_match.is_some_and(|expected| expected != version) {
            return Err(Problem::conflict("The resource changed since you read it; read it again and retry."));
        }
        let facts = TRUSTING_CACHE.scope(trusting, load()).await.map_err(Into::into);
        let decided = facts.map(|facts| decide(&folded.state, &facts));
        let position = folded.position;
        // Back into the cache as it was read, before this command's own events: the next command reads those.
        state.streams.put_owned(&run.stream_id, folded);
        let (decision, outcome): (Decision, T) = match decided? {
            Ok((decision, outcome)) => (decision.into(), outcome),
            Err(_) if trusting => {
                trusting = false;
                continue;
            }
            Err(rejection) => {
                // A duplicate of a request that is committing right now would be judged against its result:
                // answer what the first one answered instead.
                if let Some(stored) = stored_answer(state, &scope, key).await? {
                    return replay(state, stored, &run.digest).map(|accepted| (accepted, None));
                }
                return Err(rejection.problem());
            }
        };
        let Decision { mut events, mut side_writes, guards, answer } = decision;
        if events.is_empty() && trusting {
            trusting = false;
            continue;
        }
        let data = answer.unwrap_or_else(|| run.data.clone());
        if events.is_empty() {
            // Version 0 too: a saga withdrawing a course from a wishlist that was never written.
            let unchanged = Appended {
                stream_id: run.stream_id.clone(),
                stream_version: version,
                first_position: position,
                last_position: position,
            };
            return Ok((appended_answer(state, run.status, data, unchanged), Some(outcome)));
        }
        // Personal data is sealed with its owner's key before it is stored (crypto-shredding).
        state
            .keyring
            .seal(&mut events, &mut side_writes)
            .await
            .map_err(|error| Problem::unavailable().because(format!("reading a person's key failed: {error}")))?;
        let request = AppendRequest {
            stream_id: run.stream_id.clone(),
            expected: if version == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(version) },
            events: encode(&events, &run),
            idempotency: key.map(|key| IdempotencyRecord {
                scope: scope.clone(),
                key: key.to_owned(),
                request_hash: run.digest.clone(),
                status: run.status.as_u16(),
                response: data.clone(),
            }),
            side_writes,
            guards,
        };
        match state.store.append(request).await {
            Ok(AppendOutcome::Appended(appended)) => {
                remember_appended::<A>(state, version, &events, &appended);
                return Ok((appended_answer(state, run.status, data, appended), Some(outcome)));
            }
            Ok(AppendOutcome::Replayed(stored)) => {
                return replay(state, stored, &run.digest).map(|accepted| (accepted, None));
            }
            Err(AppendError::Conflict { .. }) if run.headers.if_match.is_none() && attempt < MAX_ATTEMPTS => {
                tracing::debug!(attempt, trusting, stream = %run.stream_id, "lost a race; deciding again");
                // A trusted state that was stale costs no attempt: it was not a race lost on fresh state.
                attempt += usize::from(!trusting);
                trusting = false;
            }
            // A retry racing its first attempt finds the email taken by that attempt: answer what it answered.
            Err(AppendError::Claimed { constraint }) => {
                return match stored_answer(state, &scope, key).await? {
                    Some(stored) => replay(state, stored, &run.digest).map(|accepted| (accepted, None)),
                    None => Err(claimed(&constraint)),
                };
            }
            Err(error) => return Err(append_problem(error)),
        }
    }
    Err(Problem::conflict("The resource is changing too often right now; retry."))
}

tokio::task_local! {
    /// Whether the command running now decides on the state cache alone (see [`execute_with_outcome`]).
    static TRUSTING_CACHE: bool;
}

/// The state of aggregate `A` on `stream_id` as this process last folded it, taken out of the cache for the
/// command that holds the stream's turn, without reading the store; read whole when it is not cached.
async fn cached_aggregate<A: Aggregate>(state: &CommandApiState, stream_id: &str) -> Result<Folded<A>, Problem> {
    let cached: Folded<A> = state.streams.take(stream_id);
    if cached.version > 0 {
        return Ok(cached);
    }
    catch_up(state, stream_id, cached).await
}

/// Folds this command's own events (as stored, sealed) into the cached state it was decided on, so that the
/// next command on the stream starts from the state after them without reading them back.
fn remember_appended<A: Aggregate>(state: &CommandApiState, decided_at: i64, events: &[Event], appended: &Appended) {
    let cached: Folded<A> = state.streams.take(&appended.stream_id);
    if cached.version != decided_at || appended.stream_version != decided_at + events.len() as i64 {
        // Not the state this command decided on (or the cache started over): the next command reads.
        if cached.version > 0 {
            state.streams.put_owned(&appended.stream_id, cached);
        }
        return;
    }
    let after = events.iter().fold(cached.state, A::evolve);
    let folded = Folded { state: after, version: appended.stream_version, position: appended.last_position };
    state.streams.put_owned(&appended.stream_id, folded);
}

/// A fact a decision rests on: another aggregate's state, and the guard that keeps it so until the append.
pub(crate) struct Guarded<A> {
    pub folded: Folded<A>,
    pub guard: Guard,
}

/// The state of aggregate `A` on `stream_id` for a decision, with the guard that the decision must carry.
/// While the command trusts the state cache this reads nothing when the stream is cached: the guard fails
/// the append if the stream moved on, and the command is decided again on fresh state.
pub(crate) async fn load_guarded<A: Aggregate>(
    state: &CommandApiState,
    stream_id: &str,
) -> Result<Guarded<A>, Problem> {
    let trusting = TRUSTING_CACHE.try_with(|trusting| *trusting).unwrap_or(false);
    let cached: Folded<A> = if trusting { state.streams.get(stream_id) } else { Folded::default() };
    let folded = if cached.version > 0 { cached } else { load_aggregate::<A>(state, stream_id).await? };
    let guard = Guard::StreamAt { stream_id: stream_id.to_owned(), version: folded.version };
    Ok(Guarded { folded, guard })
}

/// The state of aggregate `A` on `stream_id` as it is now, taken out of the cache (not copied) for the
/// command that holds the stream's turn; the caller puts it back.
async fn take_aggregate<A: Aggregate>(state: &CommandApiState, stream_id: &str) -> Result<Folded<A>, Problem> {
    let cached: Folded<A> = state.streams.take(stream_id);
    catch_up(state, stream_id, cached).await
}

/// `cached` with the events of `stream_id` after its version folded in.
async fn catch_up<A: Aggregate>(
    state: &CommandApiState,
    stream_id: &str,
    cached: Folded<A>,
) -> Result<Folded<A>, Problem> {
    let newer = state
        .store
        .read_stream_after(stream_id, cached.version)
        .await
        .map_err(|error| Problem::unavailable().because(format!("reading stream {stream_id} failed: {error}")))?;
    let Some(last) = newer.last() else { return Ok(cached) };
    let (version, position) = (last.stream_version, last.position);
    let state_now = decode(&newer)?.iter().fold(cached.state, A::evolve);
    Ok(Folded { state: state_now, version, position })
}

/// The state of aggregate `A` on `stream_id` as it is now: the cached fold, caught up with the events
/// after it.
pub(crate) async fn load_aggregate<A: Aggregate>(
    state: &CommandApiState,
    stream_id: &str,
) -> Result<Folded<A>, Problem> {
    let cached: Folded<A> = state.streams.get(stream_id);
    let cached_version = cached.version;
    let folded = catch_up(state, stream_id, cached).await?;
    if folded.version > cached_version {
        state.streams.put(stream_id, &folded);
    }
    Ok(folded)
}

pub(crate) async fn stored_answer(
    state: &CommandApiState,
    scope: &str,
    key: Option<&str>,
) -> Result<Option<StoredAnswer>, Problem> {
    let Some(key) = key else { return Ok(None) };
    state
        .store
        .find_answer(scope, key)
        .await
        .map_err(|error| Problem::unavailable().because(format!("reading an idempotency record failed: {error}")))
}

/// The answer of a command `caller` sent before with this Idempotency-Key, replayed, if there is one: for a
/// command that does costly or counted work before the pipeline (a sign-up takes a limit's place and hashes a
/// password), so that a retry does neither.
pub(crate) async fn replayed(
    state: &CommandApiState,
    caller: &Caller,
    headers: &CommandHeaders,
    digest: &str,
) -> Result<Option<Accepted>, Problem> {
    match stored_answer(state, &caller.scope(), headers.idempotency_key.as_deref()).await? {
        Some(stored) => replay(state, stored, digest).map(Some),
        None => Ok(None),
    }
}

pub(crate) fn replay(state: &CommandApiState, stored: StoredAnswer, digest: &str) -> Result<Accepted, Problem> {
    if stored.request_hash != digest {
        return Err(idempotency_key_reused());
    }
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let token = ConsistencyToken {
        position: stored.last_position,
        stream_id: stored.stream_id,
        stream_version: stored.stream_version,
    };
    Ok(answer(state, status, stored.response, token))
}

/// The answer of a command of several steps (an order: placing it, then paying or opening its checkout), once
/// every step ran. With an Idempotency-Key it takes the place of the answer the first step stored (which ended
/// at `first`), so that a retry answers it byte for byte; if a racing retry stored its own first, that one is
/// answered.
pub(crate) async fn complete_answer(
    state: &CommandApiState,
    caller: Caller,
    headers: &CommandHeaders,
    digest: &str,
    first: &ConsistencyToken,
    whole: Accepted,
) -> Result<Accepted, Problem> {
    let Some(key) = headers.idempotency_key.as_deref() else { return Ok(whole) };
    let answer = StoredAnswer {
        request_hash: digest.to_owned(),
        status: whole.status.as_u16(),
        response: whole.data.clone(),
        stream_id: whole.token.stream_id.clone(),
        stream_version: whole.token.stream_version,
        last_position: whole.token.position,
    };
    let stored = state
        .store
        .replace_answer(&caller.scope(), key, first.position, &answer)
        .await
        .map_err(|error| Problem::unavailable().because(format!("storing an idempotent answer failed: {error}")))?;
    match stored {
        Some(stored) => replay(state, stored, digest),
        None => Ok(whole),
    }
}

/// The success answer of a command whose events landed as `appended`.
pub(crate) fn appended_answer(
    state: &CommandApiState,
    status: StatusCode,
    data: Value,
    appended: Appended,
) -> Accepted {
    let token = ConsistencyToken {
        position: appended.last_position,
        stream_id: appended.stream_id,
        stream_version: appended.stream_version,
    };
    answer(state, status, data, token)
}

/// A command's success: its data with the stream's version added.
fn answer(state: &CommandApiState, status: StatusCode, mut data: Value, token: ConsistencyToken) -> Accepted {
    if let Value::Object(fields) = &mut data {
        fields.insert("version".to_owned(), Value::from(token.stream_version));
    }
    let sealed = state.keys.consistency().seal(&token);
    Accepted { status, data, token, sealed }
}

fn decode(history: &[RecordedEvent]) -> Result<Vec<Event>, Problem> {
    history
        .iter()
        .map(|recorded| {
            recorded
                .decode()
                .map_err(|error| Problem::internal().because(format!("a stored event does not decode: {error}")))
        })
        .collect()
}

fn encode(events: &[Event], run: &CommandRun) -> Vec<NewEvent> {
    let now = OffsetDateTime::now_utc();
    let metadata = Metadata {
        correlation_id: Some(run.headers.correlation_id),
        causation_id: run.headers.causation_id,
        actor: run.actor.actor(),
    };
    events.iter().map(|event| NewEvent::new(event, metadata.clone(), now)).collect()
}

/// A uniqueness claim that failed, by the name of the constraint that refused it: `409` naming the field.
fn claimed(constraint: &str) -> Problem {
    let field = match constraint {
        "user_credentials_email_unique" => "email",
        "user_credentials_username_unique" => "username",
        other => {
            tracing::warn!(constraint = other, "a claim failed on a constraint with no field of its own");
            return Problem::conflict("This already exists.");
        }
    };
    Problem::conflict(format!("This {field} is already taken."))
        .with_errors(vec![api_contract::FieldError::new(field, "is already taken")])
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
        AppendError::Claimed { constraint } => claimed(&constraint),
        AppendError::Unavailable(source) => {
            Problem::unavailable().because(format!("append failed: {}", database::error_summary(&source)))
        }
        AppendError::Closed => Problem::unavailable(),
        AppendError::Empty => Problem::internal().because("a decider produced no events for an append"),
    }
}
