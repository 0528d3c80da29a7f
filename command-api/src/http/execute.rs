//! The command pipeline as HTTP meets it: a [`CommandRun`] becomes a `write_side::Command`, runs on the
//! process's one [`write_side::WriteSide`], and its receipt or failure becomes the answer. The result is
//! typed ([`Accepted`], a [`Problem`], or for the sagas a [`StepError`] that knows whether it is transient),
//! so a caller that runs several commands (one discount on many courses) reads outcomes, not responses.

use std::future::Future;

use api_contract::{Authenticated, ConsistencyToken, Problem};
use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde_json::Value;
use write_side::{CommandError, Folded, LoadError, Receipt};
pub(crate) use write_side::{Decision, Guarded, Trust};

use super::CommandApiState;
use super::headers::CommandHeaders;
use super::rejections::Refusal;
use crate::domain::Aggregate;

/// A command of a saga that did not go through; `is_transient()` says whether to try it again.
pub type StepError = CommandError<Problem>;

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
    /// A command on `stream_id` sent by `actor` with the request's headers and the digest of its body, answered
    /// `200 {}` until told otherwise.
    pub fn new(stream_id: String, actor: Caller, headers: CommandHeaders, digest: String) -> Self {
        let data = Value::Object(serde_json::Map::new());
        CommandRun { stream_id, actor, headers, digest, status: StatusCode::OK, data }
    }

    /// Answered `status` with `data` (the stream's version is added).
    pub fn answering(self, status: StatusCode, data: Value) -> Self {
        CommandRun { status, data, ..self }
    }

    /// Answered `201`.
    pub fn created(self) -> Self {
        CommandRun { status: StatusCode::CREATED, ..self }
    }

    /// Answered `{id}`.
    pub fn with_id(self, id: uuid::Uuid) -> Self {
        CommandRun { data: serde_json::json!({ "id": id }), ..self }
    }

    /// The command as the write side runs it.
    fn command(&self) -> write_side::Command {
        write_side::Command::on(self.stream_id.clone(), self.actor.write_side())
            .with_context(self.headers.context())
            .with_digest(self.digest.clone())
            .answering(self.status.as_u16(), self.data.clone())
    }

    /// A change of one account (the stream `user-{id}`), answered `200 {id, version}`.
    pub fn on_account(user_id: uuid::Uuid, actor: Caller, headers: CommandHeaders, digest: String) -> Self {
        CommandRun::new(events::stream::user_stream(user_id), actor, headers, digest).with_id(user_id)
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
    fn write_side(self) -> write_side::Caller {
        match self {
            Caller::User(actor) => write_side::Caller::User(actor.actor()),
            Caller::Guest(ip) => write_side::Caller::Guest(ip),
            Caller::Operator => write_side::Caller::Operator,
            Caller::Saga(name) => write_side::Caller::Saga(name),
        }
    }
}

/// What a loader of facts may fail with: a refusal of its own (a `Problem`), a state it could not read, or a
/// step's failure as it is.
pub(crate) trait LoadFailure {
    fn into_step_error(self) -> StepError;
}

impl LoadFailure for Problem {
    fn into_step_error(self) -> StepError {
        CommandError::Refused(self)
    }
}

impl LoadFailure for crate::credentials::CredentialsError {
    fn into_step_error(self) -> StepError {
        CommandError::Refused(self.into())
    }
}

impl LoadFailure for LoadError {
    fn into_step_error(self) -> StepError {
        self.into()
    }
}

impl LoadFailure for StepError {
    fn into_step_error(self) -> StepError {
        self
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
    on_aggregate(state, &run, decide).await.map_err(problem)
}

/// Runs a command whose decision needs only its aggregate, with a failure that says whether it is transient:
/// [`execute`] for the sagas' handles.
pub(crate) async fn on_aggregate<A, R, D>(
    state: &CommandApiState,
    run: &CommandRun,
    decide: impl Fn(&A) -> Result<D, R>,
) -> Result<Accepted, StepError>
where
    A: Aggregate,
    R: Refusal,
    D: Into<Decision>,
{
    let (accepted, _) = step(state, run, nothing, |aggregate: &A, (): &()| decide(aggregate)).await?;
    Ok(accepted)
}

/// The loader of a command that needs no facts besides its aggregate.
pub(crate) fn nothing(_: Trust) -> std::future::Ready<Result<(), StepError>> {
    std::future::ready(Ok(()))
}

/// Runs a command whose decision also needs facts besides its aggregate (a reset link, the courses of a
/// cart, another aggregate under a guard): `load` reads them on every attempt, trusting the cache as told.
pub(crate) async fn execute_loading<A, F, L, E, R, D>(
    state: &CommandApiState,
    run: CommandRun,
    load: impl Fn(Trust) -> L,
    decide: impl Fn(&A, &F) -> Result<D, R>,
) -> Result<Accepted, Problem>
where
    A: Aggregate,
    L: Future<Output = Result<F, E>>,
    E: LoadFailure,
    R: Refusal,
    D: Into<Decision>,
{
    let (accepted, _) = step(state, &run, load, decide).await.map_err(problem)?;
    Ok(accepted)
}

/// Runs a command and hands back the decision's typed outcome (`None` for a replay of a stored answer), with
/// a failure that says whether it is transient: the sagas' way in, and an HTTP route's that reads an outcome.
pub(crate) async fn step<A, F, L, E, R, D, T>(
    state: &CommandApiState,
    run: &CommandRun,
    load: impl Fn(Trust) -> L,
    decide: impl Fn(&A, &F) -> Result<D, R>,
) -> Result<(Accepted, Option<T>), StepError>
where
    A: Aggregate,
    L: Future<Output = Result<F, E>>,
    E: LoadFailure,
    R: Refusal,
    D: Into<Decision<T>>,
{
    let load = |trust| {
        let loading = load(trust);
        async move { loading.await.map_err(LoadFailure::into_step_error) }
    };
    let decide = |aggregate: &A, facts: &F| decide(aggregate, facts).map_err(Refusal::problem);
    let executed = state.write.execute(&run.command(), load, decide).await?;
    Ok((accepted(state, executed.receipt), executed.outcome))
}

/// The state of aggregate `A` on `stream_id` as it is now, for a route that reads before it decides.
pub(crate) async fn load_aggregate<A: Aggregate>(
    state: &CommandApiState,
    stream_id: &str,
) -> Result<Folded<A>, Problem> {
    state.write.load::<A>(stream_id).await.map_err(|error| problem(error.into()))
}

/// The state of aggregate `A` on `stream_id` for a decision, with the guard the decision carries.
pub(crate) async fn load_guarded<A: Aggregate>(
    state: &CommandApiState,
    stream_id: &str,
    trust: Trust,
) -> Result<Guarded<A>, StepError> {
    Ok(state.write.load_guarded::<A>(stream_id, trust).await?)
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
    let receipt = state.write.replayed(&caller.write_side(), &headers.context(), digest).await.map_err(problem)?;
    Ok(receipt.map(|receipt| accepted(state, receipt)))
}

/// The answer of a command of several steps (an order: placing it, then paying or opening its checkout), once
/// every step ran: with an Idempotency-Key it takes the place of the answer the first step stored (which ended
/// at `first`), so that a retry answers it byte for byte.
pub(crate) async fn complete_answer(
    state: &CommandApiState,
    caller: Caller,
    headers: &CommandHeaders,
    digest: &str,
    first: &ConsistencyToken,
    whole: Accepted,
) -> Result<Accepted, Problem> {
    let receipt = Receipt {
        status: whole.status.as_u16(),
        data: whole.data,
        stream_id: whole.token.stream_id,
        stream_version: whole.token.stream_version,
        position: whole.token.position,
    };
    let (caller, context) = (caller.write_side(), headers.context());
    let completed = state.write.complete_answer(&caller, &context, digest, first.position, receipt);
    Ok(accepted(state, completed.await.map_err(problem)?))
}

/// A receipt as the client gets it: with its consistency token sealed.
fn accepted(state: &CommandApiState, receipt: Receipt) -> Accepted {
    let token = ConsistencyToken {
        position: receipt.position,
        stream_id: receipt.stream_id,
        stream_version: receipt.stream_version,
    };
    let sealed = state.keys.consistency().seal(&token);
    let status = StatusCode::from_u16(receipt.status).unwrap_or(StatusCode::OK);
    Accepted { status, data: receipt.data, token, sealed }
}

/// The answer of a command that did not go through.
pub(crate) fn problem(error: StepError) -> Problem {
    match error {
        CommandError::Refused(problem) => problem,
        CommandError::VersionMismatch { .. } => {
            Problem::conflict("The resource changed since you read it; read it again and retry.")
        }
        CommandError::Conflict { .. } | CommandError::Contended { .. } => {
            Problem::conflict("Someone else changed this resource at the same time; read it again and retry.")
        }
        CommandError::IdempotencyKeyReused => {
            Problem::rule("idempotency_key_reused", "This Idempotency-Key was already used with a different request.")
        }
        CommandError::Claimed { constraint } => claimed(&constraint),
        CommandError::Unavailable(reason) => Problem::unavailable().because(reason),
        CommandError::Corrupt(reason) => Problem::internal().because(reason),
    }
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
