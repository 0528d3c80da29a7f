//! The one path every command takes: answer again a known Idempotency-Key, else take the stream's turn, load
//! the aggregate (and the facts the decision needs), decide, seal personal data, and append with the version
//! the decision was made on. A lost race is decided again on fresh state, unless the client pinned the version
//! with If-Match.
//!
//! The first decision trusts the state cache: this process's last fold of the stream, and of the streams the
//! decision loads as guarded facts. It reads nothing, because the append's version check and guards catch a
//! state another process changed meanwhile, and the command is then decided again on fresh state. An answer no
//! append checks (a refusal, a decision to append nothing) is given only on fresh state. Which of the two a
//! load is, is the [`Trust`] handed to the command's loader.

use std::future::Future;
use std::net::IpAddr;

use domain::Aggregate;
use domain::effects::{Decided, Effect};
use event_store::{
    AppendError, AppendOutcome, AppendRequest, Appended, ExpectedVersion, Guard, IdempotencyRecord, StoredAnswer,
};
use events::{Event, Metadata, NewEvent, RecordedEvent};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::cache::{Folded, StreamCache};
use crate::store::EventStore;
use crate::turns::StreamLocks;

/// How often a command is decided on fresh state after losing a race for its aggregate.
pub const MAX_ATTEMPTS: usize = 3;

/// Who sends a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A signed-in user.
    User(events::Actor),
    /// A guest, known only by the address the request came from (sign-up, password reset).
    Guest(IpAddr),
    /// Whoever runs the command line on the server (the first admin).
    Operator,
    /// A process manager, by name, following the events that cause its commands.
    Saga(&'static str),
}

impl Caller {
    /// Whose Idempotency-Keys these are: keys of different callers never collide.
    pub fn scope(&self) -> String {
        match self {
            Caller::User(actor) => actor.user_id.to_string(),
            Caller::Guest(ip) => format!("guest:{ip}"),
            Caller::Operator => "operator".to_owned(),
            Caller::Saga(name) => format!("saga:{name}"),
        }
    }

    /// The actor recorded in the events' metadata.
    pub fn actor(&self) -> Option<events::Actor> {
        match self {
            Caller::User(actor) => Some(*actor),
            Caller::Guest(_) | Caller::Operator | Caller::Saga(_) => None,
        }
    }
}

/// What comes with a command besides its body: the client's retry key and pinned version, and the ids that
/// tie its events to the request or event that caused them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The same key and request get the first answer again.
    pub idempotency_key: Option<String>,
    /// The version the client saw; when given, a moved aggregate is a conflict without a retry.
    pub if_match: Option<i64>,
    pub correlation_id: Uuid,
    /// The event that caused this command, when a saga sends it.
    pub causation_id: Option<Uuid>,
}

impl Context {
    /// A command with no key, no pinned version, and a correlation id of its own.
    pub fn new() -> Self {
        Context { idempotency_key: None, if_match: None, correlation_id: Uuid::now_v7(), causation_id: None }
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

/// One command on one aggregate stream, and the answer it gives on success. Built with [`Command::on`] and
/// the methods after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub stream_id: String,
    pub caller: Caller,
    pub context: Context,
    /// A digest of the request, so that a key sent again with another request is recognised.
    pub digest: String,
    /// The success status, kept with the answer for a replay.
    pub status: u16,
    /// The `data` of the success answer; the stream's version is added once known.
    pub data: Value,
}

impl Command {
    /// A command on `stream_id` sent by `caller`, answered `200 {}` unless told otherwise.
    pub fn on(stream_id: impl Into<String>, caller: Caller) -> Self {
        Command {
            stream_id: stream_id.into(),
            caller,
            context: Context::new(),
            digest: String::new(),
            status: 200,
            data: Value::Object(serde_json::Map::new()),
        }
    }

    pub fn with_context(self, context: Context) -> Self {
        Command { context, ..self }
    }

    /// The digest of the request the Idempotency-Key is bound to.
    pub fn with_digest(self, digest: impl Into<String>) -> Self {
        Command { digest: digest.into(), ..self }
    }

    pub fn answering(self, status: u16, data: Value) -> Self {
        Command { status, data, ..self }
    }
}

/// What a decision writes: its events, what is recorded beside them in the same transaction (credentials,
/// sessions, outbox emails, uniqueness claims: [`crate::records`]), and the facts about other streams it rested on. A
/// decision without events changes nothing (a repeated saga step): the command answers with the stream as it
/// is. `answer`, when set, is the `data` of the answer instead of the command's (what the decision found: a
/// grade), and is what a retry with the same Idempotency-Key gets again. `outcome` is handed back to the code
/// that sent the command (a debit paid or refused).
#[derive(Debug)]
pub struct Decision<T = ()> {
    pub events: Vec<Event>,
    pub effects: Vec<Effect>,
    pub guards: Vec<Guard>,
    pub answer: Option<Value>,
    pub outcome: T,
}

/// A decision without an outcome (most are): `Decision { events, ..Decision::default() }`.
impl Default for Decision {
    fn default() -> Self {
        Decision::with_outcome(Vec::new(), ())
    }
}

impl From<Vec<Event>> for Decision {
    fn from(events: Vec<Event>) -> Self {
        Decision { events, ..Decision::default() }
    }
}

impl<T> From<Decided<T>> for Decision<T> {
    fn from(decided: Decided<T>) -> Self {
        let Decided { events, effects, outcome } = decided;
        Decision { events, effects, guards: Vec::new(), answer: None, outcome }
    }
}

impl<T> Decision<T> {
    /// These events, with `outcome` for the caller.
    pub fn with_outcome(events: Vec<Event>, outcome: T) -> Self {
        Decision { events, effects: Vec::new(), guards: Vec::new(), answer: None, outcome }
    }
}

/// Where a command's events landed (or the stream as it was, for a decision without events, or the first
/// answer, for a replay), with its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub status: u16,
    /// The answer's data, with the stream's `version` in it.
    pub data: Value,
    pub stream_id: String,
    pub stream_version: i64,
    /// The global position of the command's last event: what a reader waits for.
    pub position: i64,
}

/// A command that went through: its receipt, and the decision's outcome (`None` when the receipt is the
/// replay of an answer stored before, whose decision is not made again).
#[derive(Debug, Clone, PartialEq)]
pub struct Executed<T> {
    pub receipt: Receipt,
    pub outcome: Option<T>,
}

/// Whether a load may use the state cache alone (the first decision of a command) or must read the store
/// for what is newer (a decision that no check after it would catch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    Cached,
    Fresh,
}

/// A fact a decision rests on: another aggregate's state, and the guard that keeps it so until the append.
#[derive(Debug, Clone)]
pub struct Guarded<A> {
    pub folded: Folded<A>,
    pub guard: Guard,
}

/// A read of the store that failed while loading a state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("reading stream {stream_id} failed: {reason}")]
    Unavailable { stream_id: String, reason: String },
    #[error("a stored event of stream {stream_id} does not decode: {reason}")]
    Corrupt { stream_id: String, reason: String },
}

/// Why a command did not go through. `R` is the decider's refusal.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandError<R> {
    /// The decider (or a loader) refused the command: the rules say no, and will say no again.
    Refused(R),
    /// The client pinned a version with If-Match, and the stream is at another one.
    VersionMismatch { expected: i64, actual: i64 },
    /// The stream moved between the decision and its append, and the client pinned the version: not retried.
    Conflict { stream_id: String },
    /// Every attempt lost its race: the stream changes too often right now.
    Contended { attempts: usize },
    /// The Idempotency-Key was used before with another request.
    IdempotencyKeyReused,
    /// A side write's uniqueness claim (an email, a username) is someone else's.
    Claimed { constraint: String },
    /// The store (or a key in it) could not be read or written.
    Unavailable(String),
    /// A stored event does not decode, or a decider broke the pipeline's contract.
    Corrupt(String),
}

impl<R> CommandError<R> {
    /// Whether the same command may go through if sent again later: a race lost every time, or the store
    /// down. A refusal, a pinned version that moved, a reused key, a taken claim or a corrupt stream fail again.
    pub fn is_transient(&self) -> bool {
        matches!(self, CommandError::Contended { .. } | CommandError::Unavailable(_))
    }

    /// The same failure with the refusal turned into another type.
    pub fn map_refusal<S>(self, into: impl FnOnce(R) -> S) -> CommandError<S> {
        match self {
            CommandError::Refused(refusal) => CommandError::Refused(into(refusal)),
            CommandError::VersionMismatch { expected, actual } => CommandError::VersionMismatch { expected, actual },
            CommandError::Conflict { stream_id } => CommandError::Conflict { stream_id },
            CommandError::Contended { attempts } => CommandError::Contended { attempts },
            CommandError::IdempotencyKeyReused => CommandError::IdempotencyKeyReused,
            CommandError::Claimed { constraint } => CommandError::Claimed { constraint },
            CommandError::Unavailable(reason) => CommandError::Unavailable(reason),
            CommandError::Corrupt(reason) => CommandError::Corrupt(reason),
        }
    }
}

impl<R> From<LoadError> for CommandError<R> {
    fn from(error: LoadError) -> Self {
        match error {
            LoadError::Unavailable { .. } => CommandError::Unavailable(error.to_string()),
            LoadError::Corrupt { .. } => CommandError::Corrupt(error.to_string()),
        }
    }
}

impl<R: std::fmt::Display> std::fmt::Display for CommandError<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandError::Refused(refusal) => write!(f, "refused: {refusal}"),
            CommandError::VersionMismatch { expected, actual } => {
                write!(f, "the stream is at version {actual}, the command pinned {expected}")
            }
            CommandError::Conflict { stream_id } => write!(f, "{stream_id} moved on before the append"),
            CommandError::Contended { attempts } => write!(f, "lost the race for the stream {attempts} times"),
            CommandError::IdempotencyKeyReused => f.write_str("the Idempotency-Key was used with another request"),
            CommandError::Claimed { constraint } => write!(f, "the claim {constraint} is taken"),
            CommandError::Unavailable(reason) => write!(f, "unavailable: {reason}"),
            CommandError::Corrupt(reason) => write!(f, "corrupt: {reason}"),
        }
    }
}

impl<R: std::fmt::Display + std::fmt::Debug> std::error::Error for CommandError<R> {}

/// The write side of one process: one store, one state cache and one set of stream turns, shared by every
/// command this process runs, from HTTP or from the sagas. Cheap to clone.
#[derive(Debug, Clone)]
pub struct WriteSide<S> {
    store: S,
    streams: StreamCache,
    turns: StreamLocks,
}

impl<S: EventStore> WriteSide<S> {
    pub fn new(store: S) -> Self {
        WriteSide { store, streams: StreamCache::default(), turns: StreamLocks::default() }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Runs `command`: `load` reads the facts the decision needs besides the aggregate (after the stream, on
    /// every attempt, so that facts and version belong together), and `decide` decides on both. A fact of
    /// this stream changes only with an event on it, so a decision on stale facts loses its append's version
    /// check and is decided again; facts of other streams are kept by the decision's guards.
    #[tracing::instrument(level = "debug", skip_all, fields(stream = %command.stream_id, correlation_id = %command.context.correlation_id))]
    pub async fn execute<A, F, L, R, D, T>(
        &self,
        command: &Command,
        load: impl Fn(Trust) -> L,
        decide: impl Fn(&A, &F) -> Result<D, R>,
    ) -> Result<Executed<T>, CommandError<R>>
    where
        A: Aggregate,
        L: Future<Output = Result<F, CommandError<R>>>,
        D: Into<Decision<T>>,
    {
        let scope = command.caller.scope();
        let key = command.context.idempotency_key.as_deref();
        let if_match = command.context.if_match;
        // A client's retry gets its first answer again, so it is looked up first. A saga's step is almost
        // never a retry, and a retried step is safe without the lookup: if it decides to append, the append
        // finds the stored answer and replays it; if it decides nothing, nothing happens.
        if !matches!(command.caller, Caller::Saga(_))
            && let Some(stored) = self.stored_answer(&scope, key).await?
        {
            return replay(stored, &command.digest);
        }
        let _turn = self.turns.turn(&command.stream_id).await;
        let mut trust = if if_match.is_none() { Trust::Cached } else { Trust::Fresh };
        let mut attempt = 1;
        while attempt <= MAX_ATTEMPTS {
            let folded = match trust {
                Trust::Cached => self.cached::<A>(&command.stream_id).await?,
                Trust::Fresh => self.taken::<A>(&command.stream_id).await?,
            };
            let version = folded.version;
            if let Some(expected) = if_match.filter(|expected| *expected != version) {
                self.streams.put_owned(&command.stream_id, folded);
                return Err(CommandError::VersionMismatch { expected, actual: version });
            }
            let decided = load(trust).await.map(|facts| decide(&folded.state, &facts));
            let position = folded.position;
            // Back into the cache as it was read, before this command's own events: the next command reads those.
            self.streams.put_owned(&command.stream_id, folded);
            let decision: Decision<T> = match decided? {
                Ok(decision) => decision.into(),
                Err(_) if trust == Trust::Cached => {
                    trust = Trust::Fresh;
                    continue;
                }
                Err(refusal) => {
                    // A duplicate of a request that is committing right now would be judged against its result:
                    // answer what the first one answered instead.
                    if let Some(stored) = self.stored_answer(&scope, key).await? {
                        return replay(stored, &command.digest);
                    }
                    return Err(CommandError::Refused(refusal));
                }
            };
            let Decision { mut events, effects, guards, answer, outcome } = decision;
            if events.is_empty() && trust == Trust::Cached {
                trust = Trust::Fresh;
                continue;
            }
            let data = answer.unwrap_or_else(|| command.data.clone());
            if events.is_empty() {
                // Version 0 too: a saga withdrawing a course from a wishlist that was never written.
                let unchanged = Appended {
                    stream_id: command.stream_id.clone(),
                    stream_version: version,
                    first_position: position,
                    last_position: position,
                };
                let receipt = receipt(command.status, data, unchanged);
                return Ok(Executed { receipt, outcome: Some(outcome) });
            }
            let mut side_writes: Vec<_> = effects.iter().flat_map(crate::records::side_writes).collect();
            // Personal data is sealed with its owner's key before it is stored (crypto-shredding).
            self.store
                .seal(&mut events, &mut side_writes)
                .await
                .map_err(|error| CommandError::Unavailable(format!("reading a person's key failed: {error}")))?;
            let request = AppendRequest {
                stream_id: command.stream_id.clone(),
                expected: if version == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(version) },
                events: encode(&events, command),
                idempotency: key.map(|key| IdempotencyRecord {
                    scope: scope.clone(),
                    key: key.to_owned(),
                    request_hash: command.digest.clone(),
                    status: command.status,
                    response: data.clone(),
                }),
                side_writes,
                guards,
            };
            match self.store.append(request).await {
                Ok(AppendOutcome::Appended(appended)) => {
                    self.remember_appended::<A>(version, &events, &appended);
                    return Ok(Executed { receipt: receipt(command.status, data, appended), outcome: Some(outcome) });
                }
                Ok(AppendOutcome::Replayed(stored)) => return replay(stored, &command.digest),
                Err(AppendError::Conflict { stream_id, .. }) => {
                    if if_match.is_some() {
                        return Err(CommandError::Conflict { stream_id });
                    }
                    tracing::debug!(attempt, ?trust, stream = %command.stream_id, "lost a race; deciding again");
                    // A trusted state that was stale costs no attempt: it was not a race lost on fresh state.
                    attempt += usize::from(trust == Trust::Fresh);
                    trust = Trust::Fresh;
                }
                // A retry racing its first attempt finds the email taken by that attempt: answer what it answered.
                Err(AppendError::Claimed { constraint }) => {
                    return match self.stored_answer(&scope, key).await? {
                        Some(stored) => replay(stored, &command.digest),
                        None => Err(CommandError::Claimed { constraint }),
                    };
                }
                Err(error) => return Err(append_failure(error)),
            }
        }
        Err(CommandError::Contended { attempts: MAX_ATTEMPTS })
    }

    /// The state of aggregate `A` on `stream_id` as it is now: the cached fold, caught up with the events
    /// after it.
    pub async fn load<A: Aggregate>(&self, stream_id: &str) -> Result<Folded<A>, LoadError> {
        let cached: Folded<A> = self.streams.get(stream_id);
        let cached_version = cached.version;
        let folded = self.catch_up(stream_id, cached).await?;
        if folded.version > cached_version {
            self.streams.put(stream_id, &folded);
        }
        Ok(folded)
    }

    /// The state of aggregate `A` on `stream_id` for a decision, with the guard the decision must carry. With
    /// [`Trust::Cached`] this reads nothing when the stream is cached: the guard fails the append if the
    /// stream moved on, and the command is decided again on fresh state.
    pub async fn load_guarded<A: Aggregate>(&self, stream_id: &str, trust: Trust) -> Result<Guarded<A>, LoadError> {
        let cached: Folded<A> = match trust {
            Trust::Cached => self.streams.get(stream_id),
            Trust::Fresh => Folded::default(),
        };
        let folded = if cached.version > 0 { cached } else { self.load::<A>(stream_id).await? };
        let guard = Guard::StreamAt { stream_id: stream_id.to_owned(), version: folded.version };
        Ok(Guarded { folded, guard })
    }

    /// The answer of a command `caller` sent before with this key, replayed, if there is one: for a command
    /// that does costly or counted work before the pipeline (a sign-up hashes a password), so that a retry
    /// does none of it.
    pub async fn replayed<R>(
        &self,
        caller: &Caller,
        context: &Context,
        digest: &str,
    ) -> Result<Option<Receipt>, CommandError<R>> {
        match self.stored_answer(&caller.scope(), context.idempotency_key.as_deref()).await? {
            Some(stored) => replay(stored, digest).map(|executed: Executed<()>| Some(executed.receipt)),
            None => Ok(None),
        }
    }

    /// The answer of a command of several steps (an order: placing it, then paying), once every step ran.
    /// With an Idempotency-Key it takes the place of the answer the first step stored (which ended at
    /// `first_position`), so that a retry answers it byte for byte; if a racing retry stored its own first,
    /// that one is answered.
    pub async fn complete_answer<R>(
        &self,
        caller: &Caller,
        context: &Context,
        digest: &str,
        first_position: i64,
        whole: Receipt,
    ) -> Result<Receipt, CommandError<R>> {
        let Some(key) = context.idempotency_key.as_deref() else { return Ok(whole) };
        let answer = StoredAnswer {
            request_hash: digest.to_owned(),
            status: whole.status,
            response: whole.data.clone(),
            stream_id: whole.stream_id.clone(),
            stream_version: whole.stream_version,
            last_position: whole.position,
        };
        let stored = self
            .store
            .replace_answer(&caller.scope(), key, first_position, &answer)
            .await
            .map_err(|error| CommandError::Unavailable(format!("storing an idempotent answer failed: {error}")))?;
        match stored {
            Some(stored) => replay(stored, digest).map(|executed: Executed<()>| executed.receipt),
            None => Ok(whole),
        }
    }

    async fn stored_answer<R>(&self, scope: &str, key: Option<&str>) -> Result<Option<StoredAnswer>, CommandError<R>> {
        let Some(key) = key else { return Ok(None) };
        self.store
            .find_answer(scope, key)
            .await
            .map_err(|error| CommandError::Unavailable(format!("reading an idempotency record failed: {error}")))
    }

    /// The state of aggregate `A` on `stream_id` as this process last folded it, taken out of the cache for
    /// the command that holds the stream's turn, without reading the store; read whole when not cached.
    async fn cached<A: Aggregate>(&self, stream_id: &str) -> Result<Folded<A>, LoadError> {
        let cached: Folded<A> = self.streams.take(stream_id);
        if cached.version > 0 {
            return Ok(cached);
        }
        self.catch_up(stream_id, cached).await
    }

    /// The state of aggregate `A` on `stream_id` as it is now, taken out of the cache (not copied) for the
    /// command that holds the stream's turn; the caller puts it back.
    async fn taken<A: Aggregate>(&self, stream_id: &str) -> Result<Folded<A>, LoadError> {
        let cached: Folded<A> = self.streams.take(stream_id);
        self.catch_up(stream_id, cached).await
    }

    /// `cached` with the events of `stream_id` after its version folded in.
    async fn catch_up<A: Aggregate>(&self, stream_id: &str, cached: Folded<A>) -> Result<Folded<A>, LoadError> {
        let newer = self
            .store
            .read_stream_after(stream_id, cached.version)
            .await
            .map_err(|error| LoadError::Unavailable { stream_id: stream_id.to_owned(), reason: error.to_string() })?;
        let Some(last) = newer.last() else { return Ok(cached) };
        let (version, position) = (last.stream_version, last.position);
        let state = decode(stream_id, &newer)?.iter().fold(cached.state, A::evolve);
        Ok(Folded { state, version, position })
    }

    /// Folds this command's own events (as stored, sealed) into the cached state it was decided on, so that
    /// the next command on the stream starts from the state after them without reading them back.
    fn remember_appended<A: Aggregate>(&self, decided_at: i64, events: &[Event], appended: &Appended) {
        let cached: Folded<A> = self.streams.take(&appended.stream_id);
        if cached.version != decided_at || appended.stream_version != decided_at + events.len() as i64 {
            // Not the state this command decided on (or the cache started over): the next command reads.
            if cached.version > 0 {
                self.streams.put_owned(&appended.stream_id, cached);
            }
            return;
        }
        let after = events.iter().fold(cached.state, A::evolve);
        let folded = Folded { state: after, version: appended.stream_version, position: appended.last_position };
        self.streams.put_owned(&appended.stream_id, folded);
    }
}

fn replay<T, R>(stored: StoredAnswer, digest: &str) -> Result<Executed<T>, CommandError<R>> {
    if stored.request_hash != digest {
        return Err(CommandError::IdempotencyKeyReused);
    }
    let appended = Appended {
        stream_id: stored.stream_id,
        stream_version: stored.stream_version,
        first_position: stored.last_position,
        last_position: stored.last_position,
    };
    Ok(Executed { receipt: receipt(stored.status, stored.response, appended), outcome: None })
}

/// A command's success: its data with the stream's version added.
fn receipt(status: u16, mut data: Value, appended: Appended) -> Receipt {
    if let Value::Object(fields) = &mut data {
        fields.insert("version".to_owned(), Value::from(appended.stream_version));
    }
    Receipt {
        status,
        data,
        stream_id: appended.stream_id,
        stream_version: appended.stream_version,
        position: appended.last_position,
    }
}

fn decode(stream_id: &str, history: &[RecordedEvent]) -> Result<Vec<Event>, LoadError> {
    history
        .iter()
        .map(|recorded| {
            recorded
                .decode()
                .map_err(|error| LoadError::Corrupt { stream_id: stream_id.to_owned(), reason: error.to_string() })
        })
        .collect()
}

fn encode(events: &[Event], command: &Command) -> Vec<NewEvent> {
    let now = OffsetDateTime::now_utc();
    let metadata = Metadata {
        correlation_id: Some(command.context.correlation_id),
        causation_id: command.context.causation_id,
        actor: command.caller.actor(),
    };
    events.iter().map(|event| NewEvent::new(event, metadata.clone(), now)).collect()
}

fn append_failure<R>(error: AppendError) -> CommandError<R> {
    match error {
        AppendError::Conflict { stream_id, .. } => CommandError::Conflict { stream_id },
        AppendError::IdempotencyKeyReused => CommandError::IdempotencyKeyReused,
        AppendError::Claimed { constraint } => CommandError::Claimed { constraint },
        AppendError::Unavailable(source) => {
            CommandError::Unavailable(format!("append failed: {}", database::error_summary(&source)))
        }
        AppendError::Closed => CommandError::Unavailable("the event store is shutting down".to_owned()),
        AppendError::Empty => CommandError::Corrupt("a decider produced no events for an append".to_owned()),
    }
}
