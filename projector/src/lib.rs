//! The projector: reads events from a source (the store's feed, or Kafka), applies them to the read models,
//! and stores its checkpoints in the same PostgreSQL transaction as the changes, so each event takes effect
//! exactly once, across restarts, redeliveries, relay republishing and rebalances. It never writes the event
//! store.

pub mod admin;
mod checkpoint;
pub mod dead_letters;
mod gaps;
mod projections;
use projections::Writes;
pub use projections::{PROJECTIONS, Selection};
pub mod replay;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::{Duration, Instant};

use database::Database;
use deadpool_postgres::Transaction;
use event_store::keys::{KeyCache, KeyRing};
use events::{DecodeError, RecordedEvent};

use checkpoint::{PartitionKey, PartitionMark};
pub use checkpoint::{PartitionMarks, load as load_checkpoint};
use subscriptions::gaps::{Gap, interleave, skips};
use subscriptions::{Backoff, EventSource, Origin, SourceError, SourcedEvent, next_batch_patiently};

/// The channel on which a committed projector batch is announced (payload: the checkpoint position).
pub const PROJECTIONS_CHANNEL: &str = "learnlog_projections";
/// The checkpoint name of the projector that feeds every read model in this version.
pub const READ_MODELS: &str = "read_models";

/// The events that erase a person: applied to kept schemas of read models too.
const ERASURES: &[&str] = &["AccountErased", "TraineeAccountDeleted"];

/// How often the live pushes kept long enough are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Events applied per transaction at most.
const BATCH_SIZE: usize = 500;
/// The first wait after a transient failure; it doubles up to [`RETRY_AT_MOST`] while the failures go on.
const RETRY_AFTER: Duration = Duration::from_millis(250);
const RETRY_AT_MOST: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    #[error("no read-model database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("people's keys cannot be read: {0}")]
    Keys(event_store::ReadError),
    #[error("the event store cannot be read: {0}")]
    Store(event_store::ReadError),
}

impl ProjectorError {
    /// Whether applying the same event again can never succeed without a fix: it does not decode, or the
    /// database refused its data (SQLSTATE classes 22 data exception, 23 integrity constraint, 42 syntax or
    /// access rule, 54 program limit). Such an event parks its stream. Everything else (connections, pools,
    /// deadlocks, serialisation failures, a broker or database down) is transient and retried with backoff.
    pub fn is_permanent(&self) -> bool {
        match self {
            ProjectorError::Decode(_) => true,
            ProjectorError::Postgres(error) => error
                .as_db_error()
                .is_some_and(|db| matches!(db.code().code().get(..2), Some("22" | "23" | "42" | "54"))),
            ProjectorError::Pool(_)
            | ProjectorError::Source(_)
            | ProjectorError::Keys(_)
            | ProjectorError::Store(_) => false,
        }
    }

    /// The error as stored with a dead letter and logged: the SQLSTATE and the database's message, without its
    /// DETAIL, which quotes the failing row (and so, perhaps, personal data).
    pub fn summary(&self) -> String {
        match self {
            ProjectorError::Postgres(error) => database::error_summary(error),
            other => other.to_string(),
        }
    }
}

/// How a batch is applied: all at once, or one event at a time behind savepoints so that a permanent failure
/// parks its own stream and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Care {
    Batch,
    PerEvent,
}

/// Feeds the read models in `read` from an event source.
#[derive(Debug)]
pub struct Projector {
    read: Database,
    name: String,
    keyring: KeyRing,
    /// The schema a rebuild writes to (that of `read`'s connections); `None`: each batch writes to the schema
    /// the read models are served from (`learnlog_meta.read_schema`, read under a shared lock that a switch
    /// waits for).
    building: Option<String>,
    /// The projections that apply events: all but in a rebuild of named ones.
    selection: Selection,
    /// When the live pushes older than they are kept for were last dropped.
    pruned_at: std::sync::Mutex<Option<Instant>>,
}

impl Projector {
    /// A projector named `name` (its checkpoints' name) over the read models in `read`, opening personal data
    /// with the people's keys in `keyring`. Each batch goes to the schema the read models are served from.
    pub fn new(read: Database, name: impl Into<String>, keyring: KeyRing) -> Self {
        Projector {
            read,
            name: name.into(),
            keyring,
            building: None,
            selection: Selection::ALL,
            pruned_at: Default::default(),
        }
    }

    /// A projector that builds the read models in `schema`, the schema of `read`'s connections
    /// (`Database::in_schema`), whichever is served: `learnlog replay`.
    pub fn building(read: Database, schema: &str, name: impl Into<String>, keyring: KeyRing) -> Self {
        let building = Some(schema.to_owned());
        Projector {
            read,
            name: name.into(),
            keyring,
            building,
            selection: Selection::ALL.quiet(),
            pruned_at: Default::default(),
        }
    }

    /// This projector with only the `selection` of projections applying events (never the live pushes while
    /// it builds).
    pub fn only(self, selection: Selection) -> Self {
        let selection = if self.building.is_some() { selection.quiet() } else { selection };
        Projector { selection, ..self }
    }

    /// True at most once a minute: time to drop the live pushes kept long enough.
    fn prune_due(&self) -> bool {
        let mut pruned_at = self.pruned_at.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let due = pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY);
        if due {
            *pruned_at = Some(Instant::now());
        }
        due
    }

    /// Where this projector stands: the source resumes after it.
    pub async fn checkpoint(&self) -> Result<i64, ProjectorError> {
        checkpoint::load(&self.read, &self.name).await
    }

    /// Runs until `shutdown` completes. A batch being applied is finished first. A transient failure (the
    /// source or the database down) is retried with backoff; an event that can never apply parks its stream
    /// ([`dead_letters`]) and the rest go on.
    pub async fn run(self, mut source: impl EventSource, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut backoff = Backoff::new(RETRY_AFTER, RETRY_AT_MOST);
        loop {
            let Some(batch) = next_batch_patiently(&mut source, BATCH_SIZE, &mut backoff, &mut shutdown).await else {
                return;
            };
            while let Err(error) = self.apply(&batch).await {
                let wait = backoff.next_wait();
                tracing::warn!(error = %error.summary(), retry_in = ?wait, "applying a batch failed; retrying");
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep(wait) => {}
                }
            }
            backoff.reset();
            source.acknowledge(&batch).await;
        }
    }

    /// Applies the events of `batch` that its checkpoints do not cover yet, and moves the checkpoints, in one
    /// transaction. An event that can never apply parks its stream in the dead letters, with the stream's
    /// later events behind it; the rest of the batch is applied. Returns how many events were applied. An
    /// error is transient: the batch may be applied again.
    pub async fn apply(&self, batch: &[SourcedEvent]) -> Result<usize, ProjectorError> {
        match self.apply_with(batch, Care::Batch).await {
            // The batch is rolled back whole; find the event that fails, park its stream, apply the others.
            Err(error) if error.is_permanent() => {
                tracing::debug!(%error, "a batch failed for good; applying it event by event");
                self.apply_with(batch, Care::PerEvent).await
            }
            other => other,
        }
    }

    async fn apply_with(&self, batch: &[SourcedEvent], care: Care) -> Result<usize, ProjectorError> {
        if batch.is_empty() {
            return Ok(0);
        }
        let mut client = self.read.pool().get().await?;
        let transaction = client.transaction().await?;
        let applied = self.apply_within(&transaction, batch, care).await?;
        transaction.commit().await?;
        Ok(applied)
    }

    /// Like [`Projector::apply`], inside `outer`, a transaction of the caller's on this projector's database
    /// (a switch of the served schema applies the last events under its lock this way). The batch is a
    /// savepoint of its own, so that a permanent failure is found event by event like in `apply`.
    pub async fn apply_inside(
        &self,
        outer: &mut Transaction<'_>,
        batch: &[SourcedEvent],
    ) -> Result<usize, ProjectorError> {
        let nested = outer.transaction().await?;
        match self.apply_within(&nested, batch, Care::Batch).await {
            Ok(applied) => {
                nested.commit().await?;
                Ok(applied)
            }
            Err(error) if error.is_permanent() => {
                nested.rollback().await?;
                let nested = outer.transaction().await?;
                let applied = self.apply_within(&nested, batch, Care::PerEvent).await?;
                nested.commit().await?;
                Ok(applied)
            }
            Err(error) => Err(error),
        }
    }

    async fn apply_within(
        &self,
        transaction: &Transaction<'_>,
        batch: &[SourcedEvent],
        care: Care,
    ) -> Result<usize, ProjectorError> {
        if batch.is_empty() {
            return Ok(0);
        }
        let mut served = None;
        if self.building.is_none() {
            served = use_served_schema(transaction).await?;
        } else {
            // A rebuild's commits need not wait for the disk: after a crash, a batch lost goes with its
            // checkpoint, and the rebuild goes on from the one before.
            transaction.batch_execute("SET LOCAL synchronous_commit = off").await?;
        }
        let (claimed, lost) = self.claim(transaction, batch).await?;
        let filled = gaps::fill(transaction, &self.keyring, &self.name, &lost).await?;
        let fresh = interleave(claimed, &lost, filled.iter().map(|missing| missing.iter().collect()));
        let mut streams: Vec<&str> = fresh.iter().map(|event| event.stream_id.as_str()).collect();
        streams.sort_unstable();
        streams.dedup();
        let mut parked: HashSet<String> = dead_letters::parked_streams(transaction, &self.name, &streams).await?;
        let mut versions: HashMap<&str, i64> = HashMap::new();
        let mut keys = KeyCache::default();
        let mut writes = Writes::new(transaction);
        let mut applied = 0;
        let mut next = 0;
        while next < fresh.len() {
            let recorded = fresh[next];
            next += 1;
            if parked.contains(&recorded.stream_id) {
                writes.flush().await?;
                dead_letters::wait(transaction, &self.name, recorded).await?;
                continue;
            }
            // A run of events that the catalogue writes many at a time, in one statement: of one kind
            // (`run_of`), each stream at most once (a rebuild meets long runs of them). After a failure, every
            // event goes alone, behind its savepoint.
            let mut in_run = HashSet::new();
            let run = match projections::run_of(&recorded.event_type).filter(|_| care == Care::Batch) {
                None => 1,
                Some(kind) => fresh[next - 1..]
                    .iter()
                    .take_while(|event| {
                        projections::run_of(&event.event_type) == Some(kind)
                            && !parked.contains(&event.stream_id)
                            && in_run.insert(event.stream_id.as_str())
                    })
                    .count(),
            };
            if run > 1 {
                let run = &fresh[next - 1..next - 1 + run];
                let mut decoded = Vec::with_capacity(run.len());
                for event in run {
                    let mut opened = event.decode()?;
                    self.keyring.open_cached(&mut opened, &mut keys).await.map_err(ProjectorError::Keys)?;
                    decoded.push(opened);
                }
                let pairs: Vec<(&RecordedEvent, &events::Event)> = run.iter().copied().zip(&decoded).collect();
                projections::apply_many(&mut writes, &pairs, self.selection).await?;
                for event in run {
                    let version = versions.entry(event.stream_id.as_str()).or_insert(0);
                    *version = (*version).max(event.stream_version);
                }
                applied += run.len();
                next += run.len() - 1;
                continue;
            }
            let outcome = match care {
                Care::Batch => match apply_one(&mut writes, &self.keyring, &mut keys, recorded, self.selection).await {
                    Ok(()) => Ok(()),
                    failed => writes.settle(failed).await,
                },
                Care::PerEvent => {
                    transaction.batch_execute("SAVEPOINT projector_event").await?;
                    let outcome = apply_one(&mut writes, &self.keyring, &mut keys, recorded, self.selection).await;
                    // Every write of the event answered, so that a failure is this event's.
                    let outcome = writes.settle(outcome).await;
                    if outcome.is_ok() {
                        transaction.batch_execute("RELEASE SAVEPOINT projector_event").await?;
                    } else {
                        transaction.batch_execute("ROLLBACK TO SAVEPOINT projector_event").await?;
                        writes.forget();
                    }
                    outcome
                }
            };
            match outcome {
                Ok(()) => {
                    let writing_to = served.as_deref().or(self.building.as_deref());
                    if let Some(writing_to) = writing_to.filter(|_| erases(recorded)) {
                        writes.flush().await?;
                        erase_in_kept_schemas(transaction, &self.keyring, writing_to, recorded).await?;
                    }
                    applied += 1;
                    let version = versions.entry(recorded.stream_id.as_str()).or_insert(0);
                    *version = (*version).max(recorded.stream_version);
                }
                Err(error) if care == Care::PerEvent && error.is_permanent() => {
                    let reason = error.summary();
                    tracing::error!(
                        stream = %recorded.stream_id,
                        position = recorded.position,
                        event_type = %recorded.event_type,
                        error = %reason,
                        "an event cannot be applied; its stream is parked in the dead letters"
                    );
                    writes.flush().await?;
                    dead_letters::park(transaction, &self.name, recorded, &reason).await?;
                    parked.insert(recorded.stream_id.clone());
                }
                Err(error) => return Err(error),
            }
        }
        if self.selection.pushes() && self.prune_due() {
            projections::live::prune(&mut writes).await?;
        }
        writes.flush().await?;
        checkpoint::record_stream_versions(transaction, &versions).await?;
        let position = fresh.last().map_or(0, |e| e.position).to_string();
        transaction.execute("SELECT pg_notify($1, $2)", &[&PROJECTIONS_CHANNEL, &position]).await?;
        Ok(applied)
    }

    /// Locks the checkpoints `batch` touches, moves them past it, and returns the events they did not cover:
    /// feed events after the stored position; Kafka records after their partition's stored offset whose
    /// stream version is also new to the read models (a relay restart republishes under new offsets). The
    /// second test is per stream on purpose: it holds whatever order the broker keeps between streams. Also
    /// returns the gaps: records that skip versions of their stream ([`gaps`]).
    async fn claim<'b>(
        &self,
        transaction: &Transaction<'_>,
        batch: &'b [SourcedEvent],
    ) -> Result<(Vec<&'b RecordedEvent>, Vec<Gap>), ProjectorError> {
        let mut fresh = Vec::new();
        let mut lost = Vec::new();
        let mut feed_position = None;
        let mut partitions: Vec<PartitionKey> = batch
            .iter()
            .filter_map(|sourced| match &sourced.origin {
                Origin::Kafka { topic, partition, .. } => Some((topic.clone(), *partition)),
                Origin::Feed => None,
            })
            .collect();
        partitions.sort();
        partitions.dedup();
        let (mut marks, mut projected): (HashMap<PartitionKey, PartitionMark>, HashMap<String, i64>) =
            if partitions.is_empty() {
                (HashMap::new(), HashMap::new())
            } else {
                let marks = checkpoint::lock_partitions(transaction, &self.name, &partitions).await?;
                let mut streams: Vec<&str> = batch.iter().map(|sourced| sourced.event.stream_id.as_str()).collect();
                streams.sort_unstable();
                streams.dedup();
                (marks, checkpoint::stream_versions(transaction, &streams).await?)
            };
        for sourced in batch {
            let event = &sourced.event;
            match &sourced.origin {
                Origin::Feed => {
                    let stored = match feed_position {
                        Some(position) => position,
                        None => checkpoint::lock_feed(transaction, &self.name).await?,
                    };
                    if event.position > stored {
                        fresh.push(event);
                    }
                    feed_position = Some(stored.max(event.position));
                }
                Origin::Kafka { topic, partition, offset } => {
                    let mark =
                        marks.entry((topic.clone(), *partition)).or_insert(PartitionMark { offset: -1, position: 0 });
                    if *offset > mark.offset {
                        mark.offset = *offset;
                        let version = projected.entry(event.stream_id.clone()).or_insert(0);
                        if event.stream_version > *version {
                            if skips(*version, event.stream_version) {
                                lost.push(Gap {
                                    before: fresh.len(),
                                    stream_id: event.stream_id.clone(),
                                    after_version: *version,
                                    version: event.stream_version,
                                    origin: sourced.origin.clone(),
                                });
                            }
                            *version = event.stream_version;
                            mark.position = mark.position.max(event.position);
                            fresh.push(event);
                        }
                    }
                }
            }
        }
        if let Some(position) = feed_position {
            checkpoint::store_feed(transaction, &self.name, position).await?;
        }
        if !marks.is_empty() {
            checkpoint::store_partitions(transaction, &self.name, &marks).await?;
        }
        Ok((fresh, lost))
    }
}

/// Whether `recorded` erases a person: it reaches kept schemas of read models too.
pub(crate) fn erases(recorded: &RecordedEvent) -> bool {
    ERASURES.contains(&recorded.event_type.as_str())
}

/// Applies an erasure to every other schema of read models kept beside the one this batch writes to
/// (`served`): the served one, rebuilds switched away from, snapshots, schemas being built. An erased person
/// is erased from the past too. A kept schema that cannot take it is logged, not waited for: it must not
/// hold the served read models back.
pub(crate) async fn erase_in_kept_schemas(
    transaction: &Transaction<'_>,
    keyring: &KeyRing,
    served: &str,
    recorded: &RecordedEvent,
) -> Result<(), ProjectorError> {
    let kept = transaction
        .query(
            "SELECT name FROM learnlog_meta.read_schemas WHERE name <> $1 \
             UNION SELECT name FROM learnlog_meta.read_schema WHERE name <> $1 ORDER BY name",
            &[&served],
        )
        .await?;
    for row in kept {
        let schema: String = row.get(0);
        transaction.batch_execute("SAVEPOINT projector_erasure").await?;
        transaction
            .execute("SELECT set_config('search_path', quote_ident($1) || ', public', true)", &[&schema])
            .await?;
        let outcome =
            apply_alone(transaction, keyring, &mut KeyCache::default(), recorded, Selection::ALL.quiet()).await;
        let end = if outcome.is_ok() { "RELEASE" } else { "ROLLBACK TO" };
        transaction.batch_execute(&format!("{end} SAVEPOINT projector_erasure")).await?;
        if let Err(error) = outcome {
            tracing::error!(%schema, position = recorded.position, error = %error.summary(),
                "an erasure could not be applied to a kept schema; drop it or rebuild it");
        }
    }
    transaction.execute("SELECT set_config('search_path', quote_ident($1) || ', public', true)", &[&served]).await?;
    Ok(())
}

/// Points `transaction` at the schema the read models are served from, and returns its name. The row is taken
/// shared, like every other batch; a switch of the served schema takes it exclusively, so no batch writes to a
/// schema that stopped being served.
pub(crate) async fn use_served_schema(transaction: &Transaction<'_>) -> Result<Option<String>, tokio_postgres::Error> {
    let statement = transaction
        .prepare_cached(
            "SELECT name, set_config('search_path', quote_ident(name) || ', public', true) \
             FROM learnlog_meta.read_schema FOR SHARE",
        )
        .await?;
    Ok(transaction.query_opt(&statement, &[]).await?.map(|row| row.get::<_, String>(0)))
}

/// Decodes `recorded` (upcasting older versions) and applies it to every projection. An event that does not
/// decode, a type this version does not know included, is a permanent failure: it parks its stream until an
/// upgrade or a fix lets a retry apply it.
#[tracing::instrument(level = "debug", skip_all, fields(
    position = recorded.position,
    stream = %recorded.stream_id,
    event_type = %recorded.event_type,
    correlation_id = ?recorded.metadata.correlation_id,
    causation_id = ?recorded.metadata.causation_id,
))]
pub(crate) async fn apply_one(
    writes: &mut Writes<'_, '_>,
    keyring: &KeyRing,
    keys: &mut KeyCache,
    recorded: &RecordedEvent,
    selection: Selection,
) -> Result<(), ProjectorError> {
    let mut event = recorded.decode()?;
    // Personal data opens with its owner's key; once the key is gone it reads as erased.
    keyring.open_cached(&mut event, keys).await.map_err(ProjectorError::Keys)?;
    Ok(projections::apply(writes, recorded, &event, selection).await?)
}

/// [`apply_one`] on its own in `transaction`: every write of the event is answered when it returns.
pub(crate) async fn apply_alone(
    transaction: &Transaction<'_>,
    keyring: &KeyRing,
    keys: &mut KeyCache,
    recorded: &RecordedEvent,
    selection: Selection,
) -> Result<(), ProjectorError> {
    let mut writes = Writes::new(transaction);
    let outcome = apply_one(&mut writes, keyring, keys, recorded, selection).await;
    writes.settle(outcome).await
}

#[cfg(test)]
mod tests {
    use events::Event;
    use events::identity::{AccountErased, TraineeAccountDeleted};
    use uuid::Uuid;

    use super::{ERASURES, projections};

    #[test]
    fn the_events_kept_schemas_get_are_the_ones_that_erase_a_person() {
        let person = Uuid::from_u128(1);
        let erasing = [
            Event::AccountErased(AccountErased { user_id: person, erased_by: Uuid::nil() }),
            Event::TraineeAccountDeleted(TraineeAccountDeleted { user_id: person, deleted_by: None }),
        ];
        for event in &erasing {
            assert_eq!(projections::erased_person(event), Some(person), "{}", event.event_type());
        }
        let mut named: Vec<&str> = erasing.iter().map(Event::event_type).collect();
        named.sort_unstable();
        let mut kept = ERASURES.to_vec();
        kept.sort_unstable();
        assert_eq!(named, kept);
    }
}
