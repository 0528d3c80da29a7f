//! The projector's side of "a gap is an alarm, never a skip" (ARCHITECTURE.md, invariant 30;
//! `subscriptions::gaps`): a Kafka record that skips versions of its stream in the read models (versions
//! waiting behind a parked event count) has the missing events read from the store and applied first, in the
//! same transaction, and the gap reported.

use deadpool_postgres::Transaction;
use event_store::keys::KeyRing;
use events::RecordedEvent;
use subscriptions::gaps::{Gap, report, skips};

use crate::ProjectorError;

/// The subscriber name of projectors in alarms (their checkpoints have names of their own).
const SUBSCRIBER: &str = "projector";

/// The events each gap misses, read from the store, in version order (empty where the versions turn out to be
/// waiting in the dead letters behind a parked event, which is no gap). Each real gap is logged, counted and
/// kept for operators.
pub(crate) async fn fill(
    transaction: &Transaction<'_>,
    keyring: &KeyRing,
    projector: &str,
    gaps: &[Gap],
) -> Result<Vec<Vec<RecordedEvent>>, ProjectorError> {
    let mut filled = Vec::with_capacity(gaps.len());
    for gap in gaps {
        // A parked stream's later events wait in the dead letters, not in the projected versions.
        let row = transaction
            .query_one(
                "SELECT COALESCE(max(stream_version), 0) FROM projector_dead_letters \
                 WHERE projector = $1 AND stream_id = $2 AND state IN ('parked', 'waiting')",
                &[&projector, &gap.stream_id],
            )
            .await?;
        let have = gap.after_version.max(row.try_get(0)?);
        if !skips(have, gap.version) {
            filled.push(Vec::new());
            continue;
        }
        let missing: Vec<RecordedEvent> = event_store::read_stream_after(keyring.store(), &gap.stream_id, have)
            .await
            .map_err(ProjectorError::Store)?
            .into_iter()
            .take_while(|event| event.stream_version < gap.version)
            .collect();
        report(keyring.store(), SUBSCRIBER, gap, have, missing.len()).await.map_err(ProjectorError::Store)?;
        filled.push(missing);
    }
    Ok(filled)
}

/// The claimed events with each gap's missing events put before the record that revealed it.
pub(crate) fn with_fills<'a>(
    claimed: &[&'a RecordedEvent],
    gaps: &[Gap],
    filled: &'a [Vec<RecordedEvent>],
) -> Vec<&'a RecordedEvent> {
    let mut fresh = Vec::with_capacity(claimed.len() + filled.iter().map(Vec::len).sum::<usize>());
    let mut next_gap = gaps.iter().zip(filled).peekable();
    for (index, event) in claimed.iter().enumerate() {
        while let Some((_, missing)) = next_gap.next_if(|(gap, _)| gap.before == index) {
            fresh.extend(missing.iter());
        }
        fresh.push(*event);
    }
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;
    use subscriptions::Origin;

    fn event(stream_id: &str, stream_version: i64) -> RecordedEvent {
        RecordedEvent {
            position: stream_version,
            stream_id: stream_id.to_owned(),
            stream_version,
            event_id: uuid::Uuid::now_v7(),
            event_type: "CoursePublished".to_owned(),
            schema_version: 1,
            payload: "{}".to_owned(),
            metadata: events::Metadata::default(),
            occurred_at: time::OffsetDateTime::UNIX_EPOCH,
            recorded_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_missing_events_go_right_before_the_record_that_revealed_them() {
        let a3 = event("a", 3);
        let b1 = event("b", 1);
        let a5 = event("a", 5);
        let claimed = vec![&a3, &b1, &a5];
        let gap = |before, after_version, version| Gap {
            before,
            stream_id: "a".to_owned(),
            after_version,
            version,
            origin: Origin::Feed,
        };
        let gaps = vec![gap(0, 1, 3), gap(2, 3, 5)];
        let filled = vec![vec![event("a", 2)], vec![event("a", 4)]];
        let order: Vec<(String, i64)> = with_fills(&claimed, &gaps, &filled)
            .iter()
            .map(|event| (event.stream_id.clone(), event.stream_version))
            .collect();
        let expected = [("a", 2), ("a", 3), ("b", 1), ("a", 4), ("a", 5)];
        assert_eq!(order, expected.map(|(stream, version)| (stream.to_owned(), version)).to_vec());
    }
}
