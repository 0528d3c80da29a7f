//! Dead letters: an event a projector cannot decode or apply parks its stream instead of stalling every stream
//! or being skipped. The event is stored in `projector_dead_letters` with the error; later events of the same
//! stream are stored behind it ("waiting"), so order per stream holds while every other stream goes on. An
//! operator retries the head (after a fix) or skips it, with a reason; either way the waiting events follow
//! in order, in the same transaction, and each is applied exactly once (the projections' stream-version guards
//! hold here as everywhere).
//!
//! Batches take a shared advisory lock per projector before they look at parked streams, and `retry`/`skip`
//! an exclusive one, so an event can never slip past a stream that is being unparked or parked at that moment.

use std::collections::{HashMap, HashSet};

use database::Database;
use deadpool_postgres::Transaction;
use event_store::keys::KeyRing;
use events::{Metadata, RecordedEvent};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{ProjectorError, checkpoint};

/// The first held-back event of a parked stream, as operators see it, whoever parked it (the projector, or,
/// from `subscriptions::dead_letters`, the sagas or the relay). The payload stays in the store and in the
/// projector's table: it may hold personal data, so listings show where the event is and why it failed, not
/// what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeadLetter {
    /// Who parked it: `projector`, `sagas` or `relay`.
    pub subscriber: String,
    pub id: i64,
    pub stream_id: String,
    pub position: i64,
    pub stream_version: i64,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    /// `parked`, or `retry` while the running sagas or relay have a retry to do.
    pub state: String,
    pub error: Option<String>,
    pub attempts: i32,
    /// Events of the same stream stored behind this one.
    pub waiting: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
}

/// What a retry or a skip did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Resolution {
    /// Events of the stream applied now, in order.
    pub applied: usize,
    /// The dead letter that parks the stream again, if an event still failed.
    pub parked_again: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("there is no parked dead letter {0} (it may have been retried or skipped already)")]
    NotParked(i64),
    #[error(transparent)]
    Projector(#[from] ProjectorError),
}

impl From<tokio_postgres::Error> for DeadLetterError {
    fn from(error: tokio_postgres::Error) -> Self {
        DeadLetterError::Projector(error.into())
    }
}

impl From<deadpool_postgres::PoolError> for DeadLetterError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        DeadLetterError::Projector(error.into())
    }
}

fn lock_key(projector: &str) -> String {
    format!("learnlog.dead_letters.{projector}")
}

/// Of `streams`, those parked for `projector`, after taking the shared lock that `retry` and `skip` exclude.
pub(crate) async fn parked_streams(
    transaction: &Transaction<'_>,
    projector: &str,
    streams: &[&str],
) -> Result<HashSet<String>, ProjectorError> {
    // Every batch runs these: prepared once per connection, and sent together (the read runs after the lock
    // is granted, in a snapshot that sees every resolution committed before it).
    let lock = transaction.prepare_cached("SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))").await?;
    let read = transaction
        .prepare_cached(
            "SELECT DISTINCT stream_id FROM projector_dead_letters \
             WHERE projector = $1 AND stream_id = ANY($2) AND state IN ('parked', 'waiting')",
        )
        .await?;
    let key = lock_key(projector);
    let lock_params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&key];
    let read_params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&projector, &streams];
    let (_, rows) = tokio::try_join!(transaction.execute(&lock, &lock_params), transaction.query(&read, &read_params))?;
    rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
}

/// Parks `event`'s stream on it, with the reason.
pub(crate) async fn park(
    transaction: &Transaction<'_>,
    projector: &str,
    event: &RecordedEvent,
    error: &str,
) -> Result<(), ProjectorError> {
    store(transaction, projector, event, "parked", Some(error)).await
}

/// Stores `event` behind the dead letter that parks its stream.
pub(crate) async fn wait(
    transaction: &Transaction<'_>,
    projector: &str,
    event: &RecordedEvent,
) -> Result<(), ProjectorError> {
    store(transaction, projector, event, "waiting", None).await
}

async fn store(
    transaction: &Transaction<'_>,
    projector: &str,
    event: &RecordedEvent,
    state: &str,
    error: Option<&str>,
) -> Result<(), ProjectorError> {
    let metadata = serde_json::to_string(&event.metadata).unwrap_or_else(|_| "{}".to_owned());
    let statement = transaction
        .prepare_cached(
            "INSERT INTO projector_dead_letters (projector, stream_id, position, stream_version, event_id, \
             event_type, schema_version, payload, metadata, occurred_at, recorded_at, state, error, attempts) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
             CASE WHEN $13::text IS NULL THEN 0 ELSE 1 END) \
             ON CONFLICT (projector, stream_id, stream_version) DO NOTHING",
        )
        .await?;
    transaction
        .execute(
            &statement,
            &[
                &projector,
                &event.stream_id,
                &event.position,
                &event.stream_version,
                &event.event_id,
                &event.event_type,
                &event.schema_version,
                &event.payload,
                &metadata,
                &event.occurred_at,
                &event.recorded_at,
                &state,
                &error,
            ],
        )
        .await?;
    Ok(())
}

const COLUMNS: &str = "d.id, d.projector, d.stream_id, d.position, d.stream_version, d.event_id, d.event_type, \
     d.schema_version, d.error, d.attempts, d.first_seen, d.last_seen, \
     (SELECT count(*) FROM projector_dead_letters w WHERE w.projector = d.projector \
      AND w.stream_id = d.stream_id AND w.state = 'waiting')";

fn dead_letter(row: &tokio_postgres::Row) -> Result<DeadLetter, tokio_postgres::Error> {
    Ok(DeadLetter {
        subscriber: crate::admin::PROJECTOR.to_owned(),
        id: row.try_get(0)?,
        stream_id: row.try_get(2)?,
        position: row.try_get(3)?,
        stream_version: row.try_get(4)?,
        event_id: row.try_get(5)?,
        event_type: row.try_get(6)?,
        schema_version: row.try_get(7)?,
        state: "parked".to_owned(),
        error: row.try_get(8)?,
        attempts: row.try_get(9)?,
        first_seen: row.try_get(10)?,
        last_seen: row.try_get(11)?,
        waiting: row.try_get(12)?,
    })
}

impl From<subscriptions::dead_letters::DeadLetter> for DeadLetter {
    fn from(letter: subscriptions::dead_letters::DeadLetter) -> Self {
        DeadLetter {
            subscriber: letter.subscriber,
            id: letter.id,
            stream_id: letter.stream_id,
            position: letter.position,
            stream_version: letter.stream_version,
            event_id: letter.event_id,
            event_type: letter.event_type,
            schema_version: letter.schema_version,
            state: letter.state,
            error: letter.error,
            attempts: letter.attempts,
            waiting: letter.waiting,
            first_seen: letter.first_seen,
            last_seen: letter.last_seen,
        }
    }
}

/// Every parked stream's head, oldest first.
pub async fn list(read: &Database) -> Result<Vec<DeadLetter>, ProjectorError> {
    let client = read.pool().get().await?;
    let rows = client
        .query(
            &format!("SELECT {COLUMNS} FROM projector_dead_letters d WHERE d.state = 'parked' ORDER BY d.position"),
            &[],
        )
        .await?;
    Ok(rows.iter().map(dead_letter).collect::<Result<_, _>>()?)
}

/// Applies dead letter `id` again, and the events waiting behind it. `by` names who asked.
pub async fn retry(read: &Database, keyring: &KeyRing, id: i64, by: &str) -> Result<Resolution, DeadLetterError> {
    resolve(read, keyring, id, by, None).await
}

/// Marks dead letter `id` as skipped (never applied) with `by` and `reason` recorded, then applies the events
/// waiting behind it.
pub async fn skip(
    read: &Database,
    keyring: &KeyRing,
    id: i64,
    by: &str,
    reason: &str,
) -> Result<Resolution, DeadLetterError> {
    resolve(read, keyring, id, by, Some(reason)).await
}

#[tracing::instrument(level = "debug", skip(read, keyring))]
async fn resolve(
    read: &Database,
    keyring: &KeyRing,
    id: i64,
    by: &str,
    skip: Option<&str>,
) -> Result<Resolution, DeadLetterError> {
    let mut client = read.pool().get().await?;
    let transaction = client.transaction().await?;
    // Like a projector's batch: in the served schema, which no switch moves meanwhile.
    let served = crate::use_served_schema(&transaction).await?;
    let Some(head) = transaction
        .query_opt(
            "SELECT projector, stream_id, stream_version FROM projector_dead_letters WHERE id = $1 AND state = 'parked'",
            &[&id],
        )
        .await?
    else {
        return Err(DeadLetterError::NotParked(id));
    };
    let projector: String = head.try_get(0)?;
    let stream_id: String = head.try_get(1)?;
    transaction.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&lock_key(&projector)]).await?;
    // Under the lock, the head must still be parked: a concurrent retry may have resolved it.
    let still_parked = transaction
        .query_opt("SELECT 1 FROM projector_dead_letters WHERE id = $1 AND state = 'parked' FOR UPDATE", &[&id])
        .await?;
    if still_parked.is_none() {
        return Err(DeadLetterError::NotParked(id));
    }
    let mut version = 0_i64;
    if let Some(reason) = skip {
        transaction
            .execute(
                "UPDATE projector_dead_letters SET state = 'skipped', resolved_at = now(), resolved_by = $2, \
                 skip_reason = $3 WHERE id = $1",
                &[&id, &by, &reason],
            )
            .await?;
        // A skipped event counts as seen: a redelivery of it must not be applied later.
        version = head.try_get(2)?;
    }
    let rows = transaction
        .query(
            "SELECT id, position, stream_id, stream_version, event_id, event_type, schema_version, payload, \
             metadata, occurred_at, recorded_at FROM projector_dead_letters \
             WHERE projector = $1 AND stream_id = $2 AND state IN ('parked', 'waiting') ORDER BY position FOR UPDATE",
            &[&projector, &stream_id],
        )
        .await?;
    let mut resolution = Resolution { applied: 0, parked_again: None };
    let keys = &mut event_store::keys::KeyCache::default();
    for row in &rows {
        let row_id: i64 = row.try_get(0)?;
        let event = recorded(row)?;
        transaction.batch_execute("SAVEPOINT dead_letter").await?;
        match crate::apply_alone(&transaction, keyring, keys, &event, crate::Selection::ALL).await {
            Ok(()) => {
                transaction.batch_execute("RELEASE SAVEPOINT dead_letter").await?;
                // An erasure reaches the kept schemas too, as when the projector applies it.
                if let Some(served) = served.as_deref().filter(|_| crate::erases(&event)) {
                    crate::erase_in_kept_schemas(&transaction, keyring, served, &event).await?;
                }
                transaction
                    .execute(
                        "UPDATE projector_dead_letters SET state = 'applied', resolved_at = now(), resolved_by = $2 \
                         WHERE id = $1",
                        &[&row_id, &by],
                    )
                    .await?;
                resolution.applied += 1;
                version = version.max(event.stream_version);
            }
            Err(error) if error.is_permanent() => {
                transaction.batch_execute("ROLLBACK TO SAVEPOINT dead_letter").await?;
                let reason = error.summary();
                tracing::warn!(stream = %event.stream_id, position = event.position, error = %reason, "a dead letter failed again");
                transaction
                    .execute(
                        "UPDATE projector_dead_letters SET state = 'parked', error = $2, attempts = attempts + 1, \
                         last_seen = now() WHERE id = $1",
                        &[&row_id, &reason],
                    )
                    .await?;
                resolution.parked_again = Some(row_id);
                break;
            }
            Err(error) => return Err(error.into()),
        }
    }
    if version > 0 {
        checkpoint::record_stream_versions(&transaction, &HashMap::from([(stream_id.as_str(), version)])).await?;
    }
    transaction.commit().await?;
    tracing::info!(id, by, applied = resolution.applied, skipped = skip.is_some(), "dead letter resolved");
    Ok(resolution)
}

fn recorded(row: &tokio_postgres::Row) -> Result<RecordedEvent, tokio_postgres::Error> {
    let metadata: String = row.try_get(8)?;
    Ok(RecordedEvent {
        position: row.try_get(1)?,
        stream_id: row.try_get(2)?,
        stream_version: row.try_get(3)?,
        event_id: row.try_get(4)?,
        event_type: row.try_get(5)?,
        schema_version: row.try_get(6)?,
        payload: row.try_get(7)?,
        metadata: serde_json::from_str::<Metadata>(&metadata).unwrap_or_default(),
        occurred_at: row.try_get(9)?,
        recorded_at: row.try_get(10)?,
    })
}
