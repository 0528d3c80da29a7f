//! The SQL of an append, prepared once per connection so that a batch can pipeline its statements.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio_postgres::types::{ToSql, Type};

use crate::plan::{AnswerRows, EventRows};
use tokio_postgres::{Client, Statement};

/// Arbitrary but fixed key of the transaction-scoped advisory lock under which positions are assigned.
pub(crate) const APPEND_LOCK_KEY: i64 = 0x4c4c_4556_454e_5453;

#[derive(Debug, Clone)]
pub(crate) struct AppendStatements {
    pub lock: Statement,
    pub head: Statement,
    pub versions: Statement,
    pub answers: Statement,
    pub insert_events: Statement,
    pub insert_answers: Statement,
    pub notify: Statement,
    /// Makes the partitions that positions up to `$1` go to; returns the position to call it again from.
    pub cover: Statement,
    /// Whether a stream named like a pattern exists (a guard's `NoStreamLike`).
    pub stream_like: Statement,
    /// The one-round-trip insert: writes only if the feed head, every stream's version and the absence of
    /// the idempotency keys are what the writer assumed (see `fast_path`).
    pub insert_events_if: Statement,
    /// Stores idempotency answers only if the guarded insert wrote its first event.
    pub insert_answers_if: Statement,
    /// Side-write statements, each prepared on its first use on this connection.
    side_writes: Arc<Mutex<HashMap<&'static str, Statement>>>,
}

impl AppendStatements {
    /// The prepared form of a side write's `sql` on this connection (prepared now if it is the first use).
    pub async fn side_write(&self, client: &Client, sql: &'static str) -> Result<Statement, tokio_postgres::Error> {
        let cached = self.side_writes.lock().unwrap_or_else(PoisonError::into_inner).get(sql).cloned();
        if let Some(statement) = cached {
            return Ok(statement);
        }
        let statement = client.prepare(sql).await?;
        self.side_writes.lock().unwrap_or_else(PoisonError::into_inner).insert(sql, statement.clone());
        Ok(statement)
    }

    pub async fn prepare(client: &Client) -> Result<Self, tokio_postgres::Error> {
        Ok(AppendStatements {
            side_writes: Arc::new(Mutex::new(HashMap::new())),
            lock: client.prepare_typed("SELECT pg_advisory_xact_lock($1)", &[Type::INT8]).await?,
            head: client.prepare("SELECT COALESCE(max(position), 0)::bigint FROM events").await?,
            versions: client
                .prepare_typed(
                    &format!("SELECT s.stream_id, {STREAM_HEAD} FROM unnest($1::text[]) AS s(stream_id)"),
                    &[Type::TEXT_ARRAY],
                )
                .await?,
            answers: client
                .prepare_typed(
                    "SELECT i.scope, i.key, i.request_hash, i.status, i.response::text, i.stream_id, \
                     i.stream_version, i.last_position \
                     FROM command_idempotency i \
                     JOIN unnest($1::text[], $2::text[]) AS k(scope, key) ON i.scope = k.scope AND i.key = k.key",
                    &[Type::TEXT_ARRAY, Type::TEXT_ARRAY],
                )
                .await?,
            insert_events: client.prepare_typed(INSERT_EVENTS, &EVENT_COLUMNS).await?,
            insert_answers: client.prepare_typed(INSERT_ANSWERS, &ANSWER_COLUMNS).await?,
            notify: client.prepare_typed("SELECT pg_notify($1, $2)", &[Type::TEXT, Type::TEXT]).await?,
            cover: client.prepare_typed("SELECT learnlog_cover_events($1)", &[Type::INT8]).await?,
            stream_like: client.prepare_typed(STREAM_LIKE, &[Type::TEXT]).await?,
            insert_events_if: client
                .prepare_typed(
                    &format!(
                        "{INSERT_EVENTS} \
                         WHERE (SELECT COALESCE(max(position), 0) FROM events) = $10 \
                         AND NOT EXISTS (SELECT 1 FROM unnest($11::text[], $12::bigint[]) AS s(stream_id, version) \
                             WHERE {STREAM_HEAD} <> s.version) \
                         AND NOT EXISTS (SELECT 1 FROM command_idempotency i \
                             JOIN unnest($13::text[], $14::text[]) AS k(scope, key) \
                             ON i.scope = k.scope AND i.key = k.key)"
                    ),
                    &[
                        EVENT_COLUMNS.as_slice(),
                        &[Type::INT8, Type::TEXT_ARRAY, Type::INT8_ARRAY, Type::TEXT_ARRAY, Type::TEXT_ARRAY],
                    ]
                    .concat(),
                )
                .await?,
            insert_answers_if: client
                .prepare_typed(
                    &format!("{INSERT_ANSWERS} WHERE EXISTS (SELECT 1 FROM events WHERE event_id = $9)"),
                    &[ANSWER_COLUMNS.as_slice(), &[Type::UUID]].concat(),
                )
                .await?,
        })
    }
}

/// Whether a stream named like `$1` exists: its first event is enough, or its head among the archived.
pub(crate) const STREAM_LIKE: &str = "SELECT EXISTS (SELECT 1 FROM events WHERE stream_id LIKE $1 AND stream_version = 1) \
     OR EXISTS (SELECT 1 FROM archived_stream_heads WHERE stream_id LIKE $1)";

/// The version of stream `s.stream_id` (0 for a stream with no event): its newest hot event, or, if every one
/// of its events is archived, the head kept for it (the second lookup runs only then).
const STREAM_HEAD: &str = "COALESCE((SELECT max(e.stream_version) FROM events e WHERE e.stream_id = s.stream_id), \
     (SELECT h.version FROM archived_stream_heads h WHERE h.stream_id = s.stream_id), 0)::bigint";

/// Inserts the column-wise rows of [`EventRows::params`], $1 to $9.
const INSERT_EVENTS: &str = "INSERT INTO events (position, stream_id, stream_version, event_id, event_type, \
     schema_version, payload, metadata, occurred_at) \
     SELECT p, s, v, i, t, sv, pl::json, md::json, o \
     FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::int4[], \
     $7::text[], $8::text[], $9::timestamptz[]) AS r(p, s, v, i, t, sv, pl, md, o)";

const EVENT_COLUMNS: [Type; 9] = [
    Type::INT8_ARRAY,
    Type::TEXT_ARRAY,
    Type::INT8_ARRAY,
    Type::UUID_ARRAY,
    Type::TEXT_ARRAY,
    Type::INT4_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TIMESTAMPTZ_ARRAY,
];

/// Inserts the column-wise rows of [`AnswerRows::params`], $1 to $8.
const INSERT_ANSWERS: &str = "INSERT INTO command_idempotency (scope, key, request_hash, status, response, \
     stream_id, stream_version, last_position) \
     SELECT sc, k, h, st, r::json, s, v, lp \
     FROM unnest($1::text[], $2::text[], $3::text[], $4::int2[], $5::text[], $6::text[], \
     $7::bigint[], $8::bigint[]) AS x(sc, k, h, st, r, s, v, lp)";

const ANSWER_COLUMNS: [Type; 8] = [
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::INT2_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::INT8_ARRAY,
    Type::INT8_ARRAY,
];

impl EventRows {
    /// The parameters of [`INSERT_EVENTS`], in order.
    pub(crate) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.positions,
            &self.stream_ids,
            &self.stream_versions,
            &self.event_ids,
            &self.event_types,
            &self.schema_versions,
            &self.payloads,
            &self.metadata,
            &self.occurred_at,
        ]
    }
}

impl AnswerRows {
    /// The parameters of [`INSERT_ANSWERS`], in order.
    pub(crate) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.scopes,
            &self.keys,
            &self.request_hashes,
            &self.statuses,
            &self.responses,
            &self.stream_ids,
            &self.stream_versions,
            &self.last_positions,
        ]
    }
}
