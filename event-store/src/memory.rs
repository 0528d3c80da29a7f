//! The event store held in memory, for tests of the code above the store (the command pipeline) that need no
//! database. It decides every append with the same pure planner as [`crate::PgEventStore`]: versions,
//! guards, idempotent replays and refusals are the PostgreSQL store's own rules. What it cannot do is run a
//! side write's SQL: side writes are kept as they were asked for, so a test reads them back, and a unique
//! claim never fails here. People's keys are kept in memory, and personal data is sealed with them as the
//! key ring seals it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use events::{Event, RecordedEvent};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::append::{AppendError, AppendOutcome, AppendRequest, SideWrite, StoredAnswer};
use crate::keys::UserKey;
use crate::plan::{Found, plan_batch};

/// One store shared by its clones, so two write sides over one `MemoryEventStore` are two processes over
/// one database.
#[derive(Debug, Clone, Default)]
pub struct MemoryEventStore {
    inner: Arc<Mutex<Stored>>,
}

#[derive(Debug, Default)]
struct Stored {
    events: Vec<RecordedEvent>,
    versions: HashMap<String, i64>,
    answers: HashMap<(String, String), StoredAnswer>,
    side_writes: Vec<SideWrite>,
    /// Appends made by "another process", one just before each append a client asks for: races lost on
    /// purpose.
    racing: VecDeque<AppendRequest>,
    appends: usize,
    reads: usize,
    keys: HashMap<Uuid, UserKey>,
}

impl MemoryEventStore {
    pub fn new() -> Self {
        MemoryEventStore::default()
    }

    /// Appends `request` as one batch, under the store's one lock (the append lock of PostgreSQL).
    pub fn append(&self, request: AppendRequest) -> Result<AppendOutcome, AppendError> {
        let mut stored = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(racing) = stored.racing.pop_front() {
            stored.plan_and_apply(racing).ok();
        }
        stored.appends += 1;
        stored.plan_and_apply(request)
    }

    /// Makes `request` land just before an append a client asks for, as if another process won the race:
    /// the first raced request before the next append, the second before the one after, and so on.
    pub fn race_next_append(&self, request: AppendRequest) {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).racing.push_back(request);
    }

    /// The events of `stream_id` after `version`, in version order.
    pub fn read_stream_after(&self, stream_id: &str, version: i64) -> Vec<RecordedEvent> {
        let mut stored = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        stored.reads += 1;
        let after = stored.events.iter().filter(|event| event.stream_id == stream_id && event.stream_version > version);
        after.cloned().collect()
    }

    /// Every event, in feed order.
    pub fn feed(&self) -> Vec<RecordedEvent> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).events.clone()
    }

    pub fn find_answer(&self, scope: &str, key: &str) -> Option<StoredAnswer> {
        let stored = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        stored.answers.get(&(scope.to_owned(), key.to_owned())).cloned()
    }

    /// Like [`crate::PgEventStore::replace_answer`]: replaces the answer of `key` if it still ended at
    /// `from_position` with the same request, and returns what is stored then.
    pub fn replace_answer(
        &self,
        scope: &str,
        key: &str,
        from_position: i64,
        answer: &StoredAnswer,
    ) -> Option<StoredAnswer> {
        let mut stored = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = stored.answers.get_mut(&(scope.to_owned(), key.to_owned()))?;
        if entry.last_position == from_position && entry.request_hash == answer.request_hash {
            *entry = answer.clone();
        }
        Some(entry.clone())
    }

    /// Seals the personal fields of `events` with their owners' keys, making a key for an owner who has none.
    pub fn seal(&self, events: &mut [Event]) {
        let mut stored = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        for event in events {
            let Some((owner, _)) = event.personal_mut() else { continue };
            stored.keys.entry(owner).or_insert_with(|| UserKey::random(owner).0).seal_event(event);
        }
    }

    /// The side writes of every append so far, in order.
    pub fn side_writes(&self) -> Vec<SideWrite> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).side_writes.clone()
    }

    /// How many times a stream was read.
    pub fn reads(&self) -> usize {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).reads
    }

    /// How many appends clients asked for (a replay and a refusal count too; a racing one does not).
    pub fn appends(&self) -> usize {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).appends
    }
}

impl Stored {
    fn plan_and_apply(&mut self, request: AppendRequest) -> Result<AppendOutcome, AppendError> {
        if request.events.is_empty() {
            return Err(AppendError::Empty);
        }
        let head = self.events.last().map_or(0, |event| event.position);
        let patterns = request.guards.iter().filter_map(|guard| match guard {
            crate::Guard::NoStreamLike { prefix, suffix } => {
                let exists = self.versions.keys().any(|stream| {
                    stream.len() >= prefix.len() + suffix.len()
                        && stream.starts_with(prefix)
                        && stream.ends_with(suffix)
                });
                Some(((prefix.clone(), suffix.clone()), exists))
            }
            crate::Guard::StreamAt { .. } => None,
        });
        let found =
            Found { versions: self.versions.clone(), answers: self.answers.clone(), patterns: patterns.collect() };
        let mut plan = plan_batch(std::slice::from_ref(&request), head, found);
        let outcome = plan.outcomes.pop().unwrap_or(Err(AppendError::Empty));
        let Ok(AppendOutcome::Appended(appended)) = &outcome else { return outcome };
        let recorded_at = OffsetDateTime::now_utc();
        let first_version = appended.stream_version - request.events.len() as i64;
        for ((offset, event), position) in (1_i64..).zip(request.events).zip(appended.first_position..) {
            self.events.push(RecordedEvent {
                position,
                stream_id: request.stream_id.clone(),
                stream_version: first_version + offset,
                event_id: event.event_id,
                event_type: event.event_type.to_owned(),
                schema_version: event.schema_version,
                payload: event.payload,
                metadata: event.metadata,
                occurred_at: event.occurred_at,
                recorded_at,
            });
        }
        self.versions.insert(request.stream_id.clone(), appended.stream_version);
        if let Some(record) = request.idempotency {
            let answer = StoredAnswer {
                request_hash: record.request_hash,
                status: record.status,
                response: record.response,
                stream_id: appended.stream_id.clone(),
                stream_version: appended.stream_version,
                last_position: appended.last_position,
            };
            self.answers.insert((record.scope, record.key), answer);
        }
        self.side_writes.extend(request.side_writes);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ExpectedVersion, Guard, IdempotencyRecord};
    use events::{CoursePublished, Event, Metadata, NewEvent};

    fn request(stream: &str, expected: ExpectedVersion) -> AppendRequest {
        let published = Event::CoursePublished(CoursePublished { course_id: uuid::Uuid::nil() });
        AppendRequest {
            stream_id: stream.to_owned(),
            expected,
            events: vec![NewEvent::new(&published, Metadata::default(), OffsetDateTime::UNIX_EPOCH)],
            idempotency: None,
            side_writes: Vec::new(),
            guards: Vec::new(),
        }
    }

    #[test]
    fn appends_keep_versions_positions_guards_and_answers_as_the_planner_says() {
        let store = MemoryEventStore::new();
        assert!(matches!(store.append(request("a", ExpectedVersion::NoStream)), Ok(AppendOutcome::Appended(_))));
        assert!(matches!(
            store.append(request("a", ExpectedVersion::NoStream)),
            Err(AppendError::Conflict { actual: 1, .. })
        ));
        let mut keyed = request("b", ExpectedVersion::Any);
        keyed.idempotency = Some(IdempotencyRecord {
            scope: "u".into(),
            key: "k".into(),
            request_hash: "h".into(),
            status: 201,
            response: serde_json::json!({}),
        });
        keyed.guards = vec![Guard::StreamAt { stream_id: "a".into(), version: 1 }];
        assert!(matches!(store.append(keyed.clone()), Ok(AppendOutcome::Appended(_))));
        assert!(matches!(store.append(keyed.clone()), Ok(AppendOutcome::Replayed(_))));
        if let Some(record) = keyed.idempotency.as_mut() {
            record.request_hash = "other".into();
        }
        assert!(matches!(store.append(keyed), Err(AppendError::IdempotencyKeyReused)));
        let mut guarded = request("c", ExpectedVersion::Any);
        guarded.guards = vec![Guard::NoStreamLike { prefix: "".into(), suffix: "b".into() }];
        assert!(matches!(store.append(guarded), Err(AppendError::Conflict { .. })));
        let positions: Vec<i64> = store.feed().iter().map(|event| event.position).collect();
        assert_eq!(positions, vec![1, 2]);
        assert_eq!(store.read_stream_after("a", 0).len(), 1);
        assert_eq!(store.find_answer("u", "k").map(|answer| answer.last_position), Some(2));
    }

    #[test]
    fn a_racing_append_lands_first() {
        let store = MemoryEventStore::new();
        store.race_next_append(request("a", ExpectedVersion::Any));
        assert!(matches!(
            store.append(request("a", ExpectedVersion::NoStream)),
            Err(AppendError::Conflict { actual: 1, .. })
        ));
        assert_eq!(store.appends(), 1);
    }
}
