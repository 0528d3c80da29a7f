//! The one-round-trip append. The writer remembers the feed head it left behind and assumes that every
//! stream is at the version its first command expected and that no idempotency key is taken. It plans the
//! batch with the same pure planner under that assumption, then sends BEGIN, the lock, a guarded INSERT,
//! NOTIFY and COMMIT in one pipeline. The INSERT writes only if the assumption holds under the lock, so the
//! result is exactly what the locked read-then-write path would have produced. If another process appended
//! in between (or a command's expected version is stale), nothing is written and the caller takes that path.
//! A guard that another stream is at a version is one more such assumption (a lesson view guards its
//! course); a guard on a stream pattern needs the locked path.

use std::collections::HashMap;

use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

use crate::EVENTS_CHANNEL;
use crate::append::{AppendError, AppendOutcome, AppendRequest, ExpectedVersion, Guard};
use crate::plan::{Found, plan_batch};
use crate::statements::{APPEND_LOCK_KEY, AppendStatements};

/// What a successful fast append returns: one outcome per request, and the new feed head.
pub(crate) type Written = (Vec<Result<AppendOutcome, AppendError>>, i64);

/// The version each stream is assumed to be at: what its first request expects, or the first guard on it
/// says. `None` when a request appends at `Any` version, which says nothing about the stream, or guards a
/// stream pattern.
fn assumed_versions(requests: &[AppendRequest]) -> Option<HashMap<String, i64>> {
    let mut versions = HashMap::new();
    for request in requests {
        let version = match request.expected {
            ExpectedVersion::Any => return None,
            ExpectedVersion::NoStream => 0,
            ExpectedVersion::Exact(version) => version,
        };
        versions.entry(request.stream_id.clone()).or_insert(version);
        for guard in &request.guards {
            match guard {
                Guard::StreamAt { stream_id, version } => {
                    versions.entry(stream_id.clone()).or_insert(*version);
                }
                Guard::NoStreamLike { .. } => return None,
            }
        }
    }
    Some(versions)
}

/// Tries the batch in one round trip. `Ok(None)`: the assumption did not hold and nothing was written.
pub(crate) async fn try_append(
    client: &Client,
    statements: &AppendStatements,
    requests: &[AppendRequest],
    head: i64,
) -> Result<Option<Written>, tokio_postgres::Error> {
    let Some(versions) = assumed_versions(requests) else { return Ok(None) };
    let (assumed_streams, assumed_versions): (Vec<String>, Vec<i64>) =
        versions.iter().map(|(stream, version)| (stream.clone(), *version)).unzip();
    let plan = plan_batch(requests, head, Found { versions, ..Found::default() });
    let Some(&first_event) = plan.events.event_ids.first() else { return Ok(None) };
    let (scopes, keys): (Vec<&str>, Vec<&str>) = requests
        .iter()
        .filter_map(|r| r.idempotency.as_ref())
        .map(|record| (record.scope.as_str(), record.key.as_str()))
        .unzip();

    let new_head = plan.head.to_string();
    let lock_params: [&(dyn ToSql + Sync); 1] = [&APPEND_LOCK_KEY];
    let mut event_params = plan.events.params();
    event_params.extend([&head as &(dyn ToSql + Sync), &assumed_streams, &assumed_versions, &scopes, &keys]);
    let mut answer_params = plan.answers.params();
    answer_params.push(&first_event);
    let notify_params: [&(dyn ToSql + Sync); 2] = [&EVENTS_CHANNEL, &new_head];
    // Sent in this order, run in this order on the one connection (see `writer::append_on`).
    let (_, _, inserted, _, _, _) = tokio::try_join!(
        client.batch_execute("BEGIN"),
        client.execute(&statements.lock, &lock_params),
        client.execute(&statements.insert_events_if, &event_params),
        async {
            if plan.answers.keys.is_empty() {
                Ok(0)
            } else {
                client.execute(&statements.insert_answers_if, &answer_params).await
            }
        },
        client.execute(&statements.notify, &notify_params),
        client.batch_execute("COMMIT"),
    )?;
    if usize::try_from(inserted).ok() == Some(plan.events.positions.len()) {
        Ok(Some((plan.outcomes, plan.head)))
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(stream: &str, expected: ExpectedVersion) -> AppendRequest {
        AppendRequest {
            stream_id: stream.into(),
            expected,
            events: Vec::new(),
            idempotency: None,
            side_writes: Vec::new(),
            guards: Vec::new(),
        }
    }

    #[test]
    fn each_stream_is_assumed_at_the_version_its_first_command_expects() {
        let requests = [
            request("a", ExpectedVersion::Exact(3)),
            request("b", ExpectedVersion::NoStream),
            request("a", ExpectedVersion::Exact(4)),
        ];
        let versions = assumed_versions(&requests).expect("no Any");
        assert_eq!(versions, HashMap::from([("a".to_owned(), 3), ("b".to_owned(), 0)]));
    }

    #[test]
    fn an_append_at_any_version_takes_the_locked_path() {
        assert_eq!(assumed_versions(&[request("a", ExpectedVersion::Any)]), None);
    }

    #[test]
    fn a_guarded_stream_is_assumed_at_its_guarded_version_and_a_pattern_takes_the_locked_path() {
        let mut guarded = request("a", ExpectedVersion::Exact(3));
        guarded.guards = vec![Guard::StreamAt { stream_id: "course-1".into(), version: 7 }];
        let versions = assumed_versions(&[guarded.clone()]).expect("assumed");
        assert_eq!(versions, HashMap::from([("a".to_owned(), 3), ("course-1".to_owned(), 7)]));
        guarded.guards.push(Guard::NoStreamLike { prefix: "enrollment-".into(), suffix: "-1".into() });
        assert_eq!(assumed_versions(&[guarded]), None);
    }
}
