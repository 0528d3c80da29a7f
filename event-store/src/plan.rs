//! Pure planning of one group-commit batch: given the feed head, each stream's current version and the
//! idempotency answers already stored (all read under the append lock), decide every request's fate and the
//! exact rows to insert. No IO here, so the rules are unit-tested directly.

use std::collections::HashMap;

use crate::append::{AppendError, AppendOutcome, AppendRequest, Appended, Guard, StoredAnswer};

/// Column-wise rows for the `unnest` insert into `events`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct EventRows {
    pub positions: Vec<i64>,
    pub stream_ids: Vec<String>,
    pub stream_versions: Vec<i64>,
    pub event_ids: Vec<uuid::Uuid>,
    pub event_types: Vec<String>,
    pub schema_versions: Vec<i32>,
    pub payloads: Vec<String>,
    pub metadata: Vec<String>,
    pub occurred_at: Vec<time::OffsetDateTime>,
}

/// Column-wise rows for the insert into `command_idempotency`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct AnswerRows {
    pub scopes: Vec<String>,
    pub keys: Vec<String>,
    pub request_hashes: Vec<String>,
    pub statuses: Vec<i16>,
    pub responses: Vec<String>,
    pub stream_ids: Vec<String>,
    pub stream_versions: Vec<i64>,
    pub last_positions: Vec<i64>,
}

#[derive(Debug)]
pub(crate) struct BatchPlan {
    pub outcomes: Vec<Result<AppendOutcome, AppendError>>,
    pub events: EventRows,
    pub answers: AnswerRows,
    /// The feed head after this batch (unchanged when nothing is appended).
    pub head: i64,
}

/// What the store holds under the append lock: every named stream's version (missing: 0), the stored
/// answers of the batch's idempotency keys, and which `<prefix>...<suffix>` patterns of guards match a stream.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub versions: HashMap<String, i64>,
    pub answers: HashMap<(String, String), StoredAnswer>,
    pub patterns: HashMap<(String, String), bool>,
}

pub(crate) fn plan_batch(requests: &[AppendRequest], head: i64, found: Found) -> BatchPlan {
    let Found { mut versions, mut answers, patterns } = found;
    let mut plan = BatchPlan {
        outcomes: Vec::with_capacity(requests.len()),
        events: EventRows::default(),
        answers: AnswerRows::default(),
        head,
    };
    for request in requests {
        let outcome = plan_one(request, &mut plan, &mut versions, &mut answers, &patterns);
        plan.outcomes.push(outcome);
    }
    plan
}

/// The first guard of `request` that no longer holds, counting streams appended earlier in this batch.
fn failed_guard<'r>(
    request: &'r AppendRequest,
    versions: &HashMap<String, i64>,
    patterns: &HashMap<(String, String), bool>,
) -> Option<&'r Guard> {
    request.guards.iter().find(|guard| match guard {
        Guard::StreamAt { stream_id, version } => versions.get(stream_id).copied().unwrap_or(0) != *version,
        Guard::NoStreamLike { prefix, suffix } => {
            let stored = patterns.get(&(prefix.clone(), suffix.clone())).copied().unwrap_or(true);
            let in_batch = versions.iter().any(|(stream, version)| {
                *version > 0
                    && stream.len() >= prefix.len() + suffix.len()
                    && stream.starts_with(prefix.as_str())
                    && stream.ends_with(suffix.as_str())
            });
            stored || in_batch
        }
    })
}

fn plan_one(
    request: &AppendRequest,
    plan: &mut BatchPlan,
    versions: &mut HashMap<String, i64>,
    answers: &mut HashMap<(String, String), StoredAnswer>,
    patterns: &HashMap<(String, String), bool>,
) -> Result<AppendOutcome, AppendError> {
    if request.events.is_empty() {
        return Err(AppendError::Empty);
    }
    if let Some(record) = &request.idempotency
        && let Some(stored) = answers.get(&(record.scope.clone(), record.key.clone()))
    {
        return if stored.request_hash == record.request_hash {
            Ok(AppendOutcome::Replayed(stored.clone()))
        } else {
            Err(AppendError::IdempotencyKeyReused)
        };
    }
    // After the replay check: a replayed command's facts may have moved on since its first answer.
    if let Some(guard) = failed_guard(request, versions, patterns) {
        return Err(AppendError::Conflict { stream_id: guard.subject(), expected: request.expected, actual: -1 });
    }
    let current = versions.get(&request.stream_id).copied().unwrap_or(0);
    if !request.expected.allows(current) {
        return Err(AppendError::Conflict {
            stream_id: request.stream_id.clone(),
            expected: request.expected,
            actual: current,
        });
    }

    let first_position = plan.head + 1;
    for (offset, event) in (1_i64..).zip(&request.events) {
        let rows = &mut plan.events;
        rows.positions.push(plan.head + offset);
        rows.stream_ids.push(request.stream_id.clone());
        rows.stream_versions.push(current + offset);
        rows.event_ids.push(event.event_id);
        rows.event_types.push(event.event_type.to_owned());
        rows.schema_versions.push(event.schema_version);
        rows.payloads.push(event.payload.clone());
        rows.metadata.push(encode_metadata(&event.metadata));
        rows.occurred_at.push(event.occurred_at);
    }
    let count = i64::try_from(request.events.len()).unwrap_or(i64::MAX);
    plan.head += count;
    let appended = Appended {
        stream_id: request.stream_id.clone(),
        stream_version: current + count,
        first_position,
        last_position: plan.head,
    };
    versions.insert(request.stream_id.clone(), appended.stream_version);

    if let Some(record) = &request.idempotency {
        let stored = StoredAnswer {
            request_hash: record.request_hash.clone(),
            status: record.status,
            response: record.response.clone(),
            stream_id: appended.stream_id.clone(),
            stream_version: appended.stream_version,
            last_position: appended.last_position,
        };
        let rows = &mut plan.answers;
        rows.scopes.push(record.scope.clone());
        rows.keys.push(record.key.clone());
        rows.request_hashes.push(record.request_hash.clone());
        rows.statuses.push(i16::try_from(record.status).unwrap_or(i16::MAX));
        rows.responses.push(record.response.to_string());
        rows.stream_ids.push(stored.stream_id.clone());
        rows.stream_versions.push(stored.stream_version);
        rows.last_positions.push(stored.last_position);
        // A second request with the same key later in this very batch is a replay of this one.
        answers.insert((record.scope.clone(), record.key.clone()), stored);
    }
    Ok(AppendOutcome::Appended(appended))
}

fn encode_metadata(metadata: &events::Metadata) -> String {
    serde_json::to_string(metadata).unwrap_or_else(|error| unreachable!("metadata always serialises: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::append::{ExpectedVersion, IdempotencyRecord};
    use events::{CoursePublished, Event, Metadata, NewEvent};

    fn event() -> NewEvent {
        let published = Event::CoursePublished(CoursePublished { course_id: uuid::Uuid::nil() });
        NewEvent::new(&published, Metadata::default(), time::OffsetDateTime::UNIX_EPOCH)
    }

    fn request(stream: &str, expected: ExpectedVersion, count: usize) -> AppendRequest {
        AppendRequest {
            stream_id: stream.to_owned(),
            expected,
            events: (0..count).map(|_| event()).collect(),
            idempotency: None,
            side_writes: Vec::new(),
            guards: Vec::new(),
        }
    }

    fn keyed(mut request: AppendRequest, key: &str, hash: &str) -> AppendRequest {
        request.idempotency = Some(IdempotencyRecord {
            scope: "user".into(),
            key: key.into(),
            request_hash: hash.into(),
            status: 201,
            response: serde_json::json!({ "id": key }),
        });
        request
    }

    #[test]
    fn a_guard_on_another_stream_fails_its_request_when_that_stream_moved() {
        let mut enrol = request("enrollment-t-c", ExpectedVersion::NoStream, 1);
        enrol.guards = vec![Guard::StreamAt { stream_id: "course-c".into(), version: 3 }];
        let mut delete = request("course-c", ExpectedVersion::Exact(3), 1);
        delete.guards = vec![Guard::NoStreamLike { prefix: "enrollment-".into(), suffix: "-c".into() }];
        let patterns = HashMap::from([(("enrollment-".to_owned(), "-c".to_owned()), false)]);
        let versions = HashMap::from([("course-c".to_owned(), 3)]);

        // The deletion first: the enrolment, decided on version 3, must be decided again.
        let found = Found { versions: versions.clone(), patterns: patterns.clone(), ..Found::default() };
        let plan = plan_batch(&[delete.clone(), enrol.clone()], 0, found);
        assert!(plan.outcomes[0].is_ok());
        assert!(matches!(&plan.outcomes[1], Err(AppendError::Conflict { stream_id, .. }) if stream_id == "course-c"));

        // The enrolment first: the deletion sees the enrolment appended earlier in the same batch.
        let plan = plan_batch(&[enrol, delete], 0, Found { versions, patterns, ..Found::default() });
        assert!(plan.outcomes[0].is_ok());
        assert!(matches!(plan.outcomes[1], Err(AppendError::Conflict { .. })));
    }

    #[test]
    fn a_pattern_guard_fails_when_the_store_holds_a_matching_stream() {
        let mut delete = request("course-c", ExpectedVersion::Exact(1), 1);
        delete.guards = vec![Guard::NoStreamLike { prefix: "enrollment-".into(), suffix: "-c".into() }];
        let patterns = HashMap::from([(("enrollment-".to_owned(), "-c".to_owned()), true)]);
        let versions = HashMap::from([("course-c".to_owned(), 1)]);
        let plan = plan_batch(&[delete], 0, Found { versions, patterns, ..Found::default() });
        assert!(matches!(plan.outcomes[0], Err(AppendError::Conflict { .. })));
    }

    #[test]
    fn positions_continue_from_the_head_without_gaps() {
        let requests = [request("a", ExpectedVersion::NoStream, 2), request("b", ExpectedVersion::Any, 1)];
        let plan = plan_batch(&requests, 10, Found::default());
        assert_eq!(plan.events.positions, vec![11, 12, 13]);
        assert_eq!(plan.events.stream_versions, vec![1, 2, 1]);
        assert_eq!(plan.head, 13);
    }

    #[test]
    fn a_conflict_fails_only_its_own_request() {
        let versions = HashMap::from([("a".to_owned(), 3)]);
        let requests = [
            request("a", ExpectedVersion::Exact(2), 1),
            request("b", ExpectedVersion::NoStream, 1),
            request("a", ExpectedVersion::Exact(3), 1),
        ];
        let plan = plan_batch(&requests, 7, Found { versions, ..Found::default() });
        assert!(matches!(plan.outcomes[0], Err(AppendError::Conflict { actual: 3, .. })));
        assert!(plan.outcomes[1].is_ok());
        assert!(plan.outcomes[2].is_ok());
        assert_eq!(plan.events.stream_ids, vec!["b", "a"]);
        assert_eq!(plan.events.stream_versions, vec![1, 4]);
        assert_eq!(plan.events.positions, vec![8, 9]);
    }

    #[test]
    fn two_requests_with_the_same_expected_version_in_one_batch_let_only_the_first_win() {
        let requests = [request("a", ExpectedVersion::NoStream, 1), request("a", ExpectedVersion::NoStream, 1)];
        let plan = plan_batch(&requests, 0, Found::default());
        assert!(plan.outcomes[0].is_ok());
        assert!(matches!(plan.outcomes[1], Err(AppendError::Conflict { actual: 1, .. })));
        assert_eq!(plan.events.positions, vec![1]);
    }

    #[test]
    fn a_stored_answer_is_replayed_and_a_reused_key_is_refused() {
        let stored = StoredAnswer {
            request_hash: "h1".into(),
            status: 201,
            response: serde_json::json!({}),
            stream_id: "a".into(),
            stream_version: 1,
            last_position: 1,
        };
        let answers = HashMap::from([(("user".to_owned(), "k".to_owned()), stored.clone())]);
        let requests = [
            keyed(request("a", ExpectedVersion::NoStream, 1), "k", "h1"),
            keyed(request("a", ExpectedVersion::NoStream, 1), "k", "h2"),
        ];
        let plan = plan_batch(
            &requests,
            1,
            Found { versions: HashMap::from([("a".to_owned(), 1)]), answers, ..Found::default() },
        );
        assert_eq!(plan.outcomes[0].as_ref().ok(), Some(&AppendOutcome::Replayed(stored)));
        assert!(matches!(plan.outcomes[1], Err(AppendError::IdempotencyKeyReused)));
        assert!(plan.events.positions.is_empty());
        assert_eq!(plan.head, 1);
    }

    #[test]
    fn the_same_key_twice_in_one_batch_appends_once() {
        let requests = [
            keyed(request("a", ExpectedVersion::Any, 1), "k", "h"),
            keyed(request("a", ExpectedVersion::Any, 1), "k", "h"),
        ];
        let plan = plan_batch(&requests, 0, Found::default());
        assert!(matches!(plan.outcomes[0], Ok(AppendOutcome::Appended(_))));
        assert!(matches!(&plan.outcomes[1], Ok(AppendOutcome::Replayed(answer)) if answer.last_position == 1));
        assert_eq!(plan.events.positions, vec![1]);
        assert_eq!(plan.answers.keys, vec!["k"]);
    }
}
