//! Group commit: one writer task per process owns a dedicated connection and writes every append that queued
//! up while the previous transaction ran, in one transaction, with no added delay. Positions are assigned
//! under a transaction-scoped advisory lock, which PostgreSQL releases only after the commit is visible; so
//! a later commit always has higher positions than every earlier one (ADR 0001).

use std::collections::HashMap;
use std::sync::Arc;

use deadpool_postgres::Pool;
use events::RecordedEvent;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Transaction};

use crate::EVENTS_CHANNEL;
use crate::append::{AppendError, AppendOutcome, AppendRequest, Guard, StoredAnswer};
use crate::fast_path::{self, Written};
use crate::feed::{self, ReadError};
use crate::plan::{BatchPlan, Found, plan_batch};
use crate::statements::{APPEND_LOCK_KEY, AppendStatements};
use database::Database;

/// The most appends one transaction carries.
const MAX_BATCH: usize = 512;
/// Appends waiting for the writer before callers feel back-pressure.
const QUEUE_CAPACITY: usize = 8192;

type Reply = oneshot::Sender<Result<AppendOutcome, AppendError>>;

/// The event store. Cheap to clone; all clones share one writer.
#[derive(Debug, Clone)]
pub struct PgEventStore {
    database: Database,
    jobs: mpsc::Sender<(AppendRequest, Reply)>,
}

impl PgEventStore {
    /// Starts the writer task. It stops once every clone of the store is dropped.
    pub fn start(database: Database) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run_writer(database.clone(), queue));
        PgEventStore { database, jobs }
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    /// Appends one command's events, waiting until they are committed (or refused).
    pub async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, AppendError> {
        if request.events.is_empty() {
            return Err(AppendError::Empty);
        }
        let (reply, answer) = oneshot::channel();
        self.jobs.send((request, reply)).await.map_err(|_| AppendError::Closed)?;
        answer.await.map_err(|_| AppendError::Closed)?
    }

    /// Every event of one stream, in version order.
    pub async fn read_stream(&self, stream_id: &str) -> Result<Vec<RecordedEvent>, ReadError> {
        feed::read_stream(self.pool(), stream_id).await
    }

    /// The events of one stream after `version`, in version order.
    pub async fn read_stream_after(&self, stream_id: &str, version: i64) -> Result<Vec<RecordedEvent>, ReadError> {
        feed::read_stream_after(self.pool(), stream_id, version).await
    }

    /// Up to `limit` events after `position`, in feed order.
    pub async fn read_feed(&self, after: i64, limit: i64) -> Result<Vec<RecordedEvent>, ReadError> {
        feed::read_feed(self.pool(), after, limit).await
    }

    /// The stored first answer of an idempotent command, if there is one.
    pub async fn find_answer(&self, scope: &str, key: &str) -> Result<Option<StoredAnswer>, ReadError> {
        feed::find_answer(self.pool(), scope, key).await
    }

    /// Replaces the stored answer of `key` that ended at `from_position` with the answer of the whole command
    /// (see [`feed::replace_answer`]); returns the answer stored then.
    pub async fn replace_answer(
        &self,
        scope: &str,
        key: &str,
        from_position: i64,
        answer: &StoredAnswer,
    ) -> Result<Option<StoredAnswer>, ReadError> {
        feed::replace_answer(self.pool(), scope, key, from_position, answer).await
    }

    /// Whether any stream named `<prefix>...<suffix>` exists, such as an enrolment in one course.
    pub async fn any_stream(&self, prefix: &str, suffix: &str) -> Result<bool, ReadError> {
        feed::any_stream(self.pool(), prefix, suffix).await
    }

    fn pool(&self) -> &Pool {
        self.database.pool()
    }
}

/// Appends `requests` inside a transaction the caller controls, with the same locking, checks and
/// idempotency as the writer. Returns one outcome per request; the caller commits or rolls back.
///
/// The transaction must be READ COMMITTED, and must not have read `events` before (ADR 0013): an older
/// snapshot would miss a partition archived meanwhile with its streams' heads, and PostgreSQL refreshes a
/// transaction's view of a table's partitions only when it first locks the table. Both are checked first
/// (PostgreSQL refuses to change the isolation once a query ran), then the append lock is taken, before any
/// statement names `events`.
pub async fn append_in_transaction(
    transaction: &Transaction<'_>,
    requests: &[AppendRequest],
) -> Result<Vec<Result<AppendOutcome, AppendError>>, tokio_postgres::Error> {
    transaction.batch_execute(FIRST_IN_ITS_TRANSACTION).await?;
    transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK_KEY]).await?;
    let statements = AppendStatements::prepare(transaction.client()).await?;
    let mut cover_from = 0;
    let (outcomes, _) =
        append_on(transaction.client(), &statements, requests, Bracket::CallersTransaction, &mut cover_from).await?;
    Ok(outcomes)
}

/// Run by [`append_in_transaction`] before anything else.
const FIRST_IN_ITS_TRANSACTION: &str = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; \
     DO $$ BEGIN \
       IF EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' \
                  AND relation = 'events'::regclass) THEN \
         RAISE EXCEPTION 'an append must come before anything in its transaction reads events'; \
       END IF; \
     END $$";

/// Whether `append_on` opens and commits the transaction itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bracket {
    /// BEGIN is pipelined with the first reads, COMMIT with the writes: two round trips per batch.
    Own,
    CallersTransaction,
}

/// Appends under the append lock. `cover_from` is where the partitions of `events` known to this connection
/// need extending from (0: unknown); a batch that reaches it makes the partitions it needs first.
async fn append_on(
    client: &Client,
    statements: &AppendStatements,
    requests: &[AppendRequest],
    bracket: Bracket,
    cover_from: &mut i64,
) -> Result<Written, tokio_postgres::Error> {
    let guards: Vec<&Guard> = requests.iter().flat_map(|r| &r.guards).collect();
    let mut stream_ids: Vec<&str> = requests.iter().map(|r| r.stream_id.as_str()).collect();
    stream_ids.extend(guards.iter().filter_map(|guard| match guard {
        Guard::StreamAt { stream_id, .. } => Some(stream_id.as_str()),
        Guard::NoStreamLike { .. } => None,
    }));
    stream_ids.sort_unstable();
    stream_ids.dedup();
    let (scopes, keys): (Vec<&str>, Vec<&str>) = requests
        .iter()
        .filter_map(|r| r.idempotency.as_ref())
        .map(|record| (record.scope.as_str(), record.key.as_str()))
        .unzip();

    // Pipelined: tokio-postgres sends each request when its future is first polled, in this order, and
    // PostgreSQL runs them in that order on the one connection. So every read below runs after the lock is
    // granted, in a snapshot that sees all earlier commits.
    let lock_params: [&(dyn ToSql + Sync); 1] = [&APPEND_LOCK_KEY];
    let version_params: [&(dyn ToSql + Sync); 1] = [&stream_ids];
    let answer_params: [&(dyn ToSql + Sync); 2] = [&scopes, &keys];
    let (_, _, head, versions, answers) = tokio::try_join!(
        async { if bracket == Bracket::Own { client.batch_execute("BEGIN").await } else { Ok(()) } },
        client.execute(&statements.lock, &lock_params),
        client.query_one(&statements.head, &[]),
        client.query(&statements.versions, &version_params),
        async {
            if keys.is_empty() { Ok(Vec::new()) } else { client.query(&statements.answers, &answer_params).await }
        },
    )?;
    let head: i64 = head.try_get(0)?;
    let versions = versions
        .iter()
        .map(|row| Ok((row.try_get::<_, String>(0)?, row.try_get::<_, i64>(1)?)))
        .collect::<Result<HashMap<_, _>, tokio_postgres::Error>>()?;
    let answers = answers
        .iter()
        .map(|row| {
            let answer = feed::stored_answer(row, 2)?;
            Ok(((row.try_get::<_, String>(0)?, row.try_get::<_, String>(1)?), answer))
        })
        .collect::<Result<HashMap<_, _>, tokio_postgres::Error>>()?;

    // Rare (a course deletion): one query per pattern, after the lock like the reads above.
    let mut patterns = HashMap::new();
    for guard in guards {
        if let Guard::NoStreamLike { prefix, suffix } = guard {
            let pattern = format!("{prefix}%{suffix}");
            let found: bool = client.query_one(&statements.stream_like, &[&pattern]).await?.try_get(0)?;
            patterns.insert((prefix.clone(), suffix.clone()), found);
        }
    }
    let plan = plan_batch(requests, head, Found { versions, answers, patterns });
    if plan.head >= *cover_from {
        *cover_from = client.query_one(&statements.cover, &[&plan.head]).await?.try_get(0)?;
    }
    write_plan(client, statements, requests, &plan, bracket).await?;
    Ok((plan.outcomes, plan.head))
}

async fn write_plan(
    client: &Client,
    statements: &AppendStatements,
    requests: &[AppendRequest],
    plan: &BatchPlan,
    bracket: Bracket,
) -> Result<(), tokio_postgres::Error> {
    let commit = async { if bracket == Bracket::Own { client.batch_execute("COMMIT").await } else { Ok(()) } };
    if plan.events.positions.is_empty() {
        return commit.await;
    }
    // The side writes of the commands whose events are appended, in order, before the events. If one fails,
    // the whole transaction rolls back and the writer retries its appends one by one, so that only the
    // command whose side write failed fails.
    for (request, outcome) in requests.iter().zip(&plan.outcomes) {
        if !matches!(outcome, Ok(AppendOutcome::Appended(_))) {
            continue;
        }
        for write in &request.side_writes {
            let values: Vec<&(dyn ToSql + Sync)> = write.values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            let statement = statements.side_write(client, write.statement).await?;
            client.execute(&statement, &values).await?;
        }
    }
    let head = plan.head.to_string();
    let event_params = plan.events.params();
    let answer_params = plan.answers.params();
    let notify_params: [&(dyn ToSql + Sync); 2] = [&EVENTS_CHANNEL, &head];
    // If an insert fails, PostgreSQL turns the pipelined COMMIT into a rollback; the insert's error is returned.
    tokio::try_join!(
        client.execute(&statements.insert_events, &event_params),
        async {
            if plan.answers.keys.is_empty() {
                return Ok(0);
            }
            client.execute(&statements.insert_answers, &answer_params).await
        },
        client.execute(&statements.notify, &notify_params),
        commit,
    )?;
    Ok(())
}

struct WriterConnection {
    client: tokio_postgres::Client,
    statements: AppendStatements,
    /// The feed head after this connection's last commit; `None` until known.
    known_head: Option<i64>,
    /// Positions below this have a partition (see [`append_on`]).
    cover_from: i64,
}

impl WriterConnection {
    async fn open(database: &Database) -> Result<Self, tokio_postgres::Error> {
        let client = database.connect_single().await?;
        let statements = AppendStatements::prepare(&client).await?;
        Ok(WriterConnection { client, statements, known_head: None, cover_from: 0 })
    }

    async fn write(
        &mut self,
        requests: &[AppendRequest],
    ) -> Result<Vec<Result<AppendOutcome, AppendError>>, tokio_postgres::Error> {
        let mut written = Ok(None);
        // The one-round-trip path cannot run side writes or match stream patterns between its check and its
        // insert; a guard on one stream's version is an assumption it checks like an expected version.
        let plain = requests.iter().all(|request| {
            request.side_writes.is_empty() && request.guards.iter().all(|guard| matches!(guard, Guard::StreamAt { .. }))
        });
        let events: usize = requests.iter().map(|request| request.events.len()).sum();
        let covered = |head: i64| head + (events as i64) < self.cover_from;
        if let (Some(head), true) = (self.known_head.filter(|head| covered(*head)), plain) {
            written = fast_path::try_append(&self.client, &self.statements, requests, head).await;
        }
        if let Ok(None) = written {
            written =
                append_on(&self.client, &self.statements, requests, Bracket::Own, &mut self.cover_from).await.map(Some);
        }
        match written {
            Ok(Some((outcomes, head))) => {
                self.known_head = Some(head);
                Ok(outcomes)
            }
            Ok(None) => unreachable!("the locked path always writes or fails"),
            Err(error) => {
                self.known_head = None;
                self.cover_from = 0;
                // Leave no transaction open on this connection, whichever statement failed.
                let _ = self.client.batch_execute("ROLLBACK").await;
                Err(error)
            }
        }
    }
}

async fn run_writer(database: Database, mut queue: mpsc::Receiver<(AppendRequest, Reply)>) {
    let mut connection: Option<WriterConnection> = None;
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (requests, replies): (Vec<AppendRequest>, Vec<Reply>) = batch.into_iter().unzip();

        let writer = match connection.take() {
            Some(open) if !open.client.is_closed() => open,
            _ => match WriterConnection::open(&database).await {
                Ok(opened) => opened,
                Err(error) => {
                    tracing::error!(%error, "append writer cannot connect");
                    fail_all(replies, &Arc::new(error));
                    continue;
                }
            },
        };
        connection = Some(writer);
        let Some(writer) = connection.as_mut() else { continue };

        match writer.write(&requests).await {
            Ok(outcomes) => {
                record_commit(&requests, &outcomes);
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Err(error) if is_integrity_violation(&error) && requests.len() == 1 => {
                let outcome = refused(&requests[0], error);
                replies.into_iter().for_each(|reply| drop(reply.send(outcome.clone())));
            }
            Err(error) if is_integrity_violation(&error) => {
                // A side write claimed what is taken (or a writer bypassed the append lock). Retry one by one,
                // so that only the offending command fails.
                tracing::debug!(error = %database::error_summary(&error), "integrity violation in a batch; retrying its appends one at a time");
                for (request, reply) in requests.iter().zip(replies) {
                    let outcome = match writer.write(std::slice::from_ref(request)).await {
                        Ok(mut outcomes) => {
                            record_commit(std::slice::from_ref(request), &outcomes);
                            outcomes.pop().unwrap_or(Err(AppendError::Empty))
                        }
                        Err(error) => refused(request, error),
                    };
                    let _ = reply.send(outcome);
                }
            }
            Err(error) => {
                tracing::error!(%error, "append batch failed");
                connection = None;
                fail_all(replies, &Arc::new(error));
            }
        }
    }
}

/// Events appended, by type (a counter).
pub const EVENTS_APPENDED: &str = "learnlog_events_appended_total";
/// Appends written per group-commit transaction (a histogram).
pub const GROUP_COMMIT_SIZE: &str = "learnlog_group_commit_batch_size";

/// Counts what one group commit wrote: how many appends it held, and their events by type. A replayed
/// request wrote nothing and counts for nothing.
fn record_commit(requests: &[AppendRequest], outcomes: &[Result<AppendOutcome, AppendError>]) {
    let mut appends = 0_u32;
    for (request, outcome) in requests.iter().zip(outcomes) {
        if let Ok(AppendOutcome::Appended(_)) = outcome {
            appends += 1;
            for event in &request.events {
                metrics::counter!(EVENTS_APPENDED, "event_type" => event.event_type).increment(1);
            }
        }
    }
    if appends > 0 {
        metrics::histogram!(GROUP_COMMIT_SIZE).record(f64::from(appends));
    }
}

fn fail_all(replies: Vec<Reply>, error: &Arc<tokio_postgres::Error>) {
    for reply in replies {
        let _ = reply.send(Err(AppendError::Unavailable(Arc::clone(error))));
    }
}

/// Whether a unique violation of `constraint` on `table` is one an append can meet only if some writer
/// bypassed the append lock: a position taken (in whichever partition of `events`), or an idempotency key.
fn lost_race(table: Option<&str>, constraint: &str) -> bool {
    constraint == "command_idempotency_pkey"
        || (table.is_some_and(|t| t.starts_with("events_")) && constraint.ends_with("_pkey"))
}

/// SQLSTATE class 23 (a constraint refused a row, of the events or of a side write) or 22 (a value the
/// database cannot take): one command's fault, not the batch's.
fn is_integrity_violation(error: &tokio_postgres::Error) -> bool {
    error.as_db_error().is_some_and(|db| matches!(db.code().code().get(..2), Some("22" | "23")))
}

/// What one command's failed append means: a lost race for its stream, a claim on something taken, or an
/// outage.
fn refused(request: &AppendRequest, error: tokio_postgres::Error) -> Result<AppendOutcome, AppendError> {
    let Some(db) = error.as_db_error().filter(|_| is_integrity_violation(&error)) else {
        return Err(AppendError::Unavailable(Arc::new(error)));
    };
    match db.constraint() {
        Some(name) if lost_race(db.table(), name) => {
            Err(AppendError::Conflict { stream_id: request.stream_id.clone(), expected: request.expected, actual: -1 })
        }
        Some(name) if db.code() == &SqlState::UNIQUE_VIOLATION => {
            Err(AppendError::Claimed { constraint: name.to_owned() })
        }
        _ => {
            tracing::error!(error = %database::error_summary(&error), "a side write broke a constraint");
            Err(AppendError::Unavailable(Arc::new(error)))
        }
    }
}
