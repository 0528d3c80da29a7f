//! A gap is an alarm, never a skip (ARCHITECTURE.md, invariant 30). Every Kafka record carries its stream
//! version; a record of version n+2 for a stream whose subscriber handled version n means the record of n+1
//! was lost on the way (a broker that dropped it, a consumer positioned past it). The subscriber then logs
//! ERROR, counts `learnlog_subscription_gaps_total{subscriber}`, keeps the gap in `subscription_gaps` for
//! operators ([`report`]), and reads the missing events from the store (the store is the truth; Kafka is
//! the transport) to handle them in order before the record that revealed the gap. The projector's side is
//! here; the sagas keep their own versions and use [`skips`], [`Gap`] and [`report`].

use deadpool_postgres::Transaction;
use event_store::keys::KeyRing;
use events::RecordedEvent;

use crate::{Origin, ProjectorError};

/// Counts the gaps subscribers found in what Kafka delivered, by subscriber.
pub const GAPS: &str = "learnlog_subscription_gaps_total";
/// The subscriber name of projectors in alarms (their checkpoints have names of their own).
const SUBSCRIBER: &str = "projector";

/// Versions of a stream that Kafka did not deliver before the record at `before` of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// Index, among the claimed events, of the record that revealed the gap.
    pub before: usize,
    pub stream_id: String,
    /// The last version the read models hold.
    pub after_version: i64,
    /// The version the record carries.
    pub version: i64,
    pub origin: Origin,
}

/// Whether a record of `version` following `handled` (0: none yet) skips versions.
pub fn skips(handled: i64, version: i64) -> bool {
    version > handled + 1
}

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

/// Raises the alarm for `gap`, seen by `subscriber` whose last version of the stream was `have`: an ERROR,
/// the counter, and a row in `subscription_gaps` (once per gap); `found` missing events were read from the
/// store.
pub async fn report(
    store: &database::Database,
    subscriber: &str,
    gap: &Gap,
    have: i64,
    found: usize,
) -> Result<(), event_store::ReadError> {
    let (topic, partition, offset) = match &gap.origin {
        Origin::Kafka { topic, partition, offset } => (Some(topic.as_str()), Some(*partition), Some(*offset)),
        Origin::Feed => (None, None, None),
    };
    tracing::error!(
        subscriber,
        stream = %gap.stream_id,
        handled = have,
        received = gap.version,
        ?topic,
        ?partition,
        ?offset,
        read_from_the_store = found,
        "a gap: Kafka delivered a stream's version without the ones before it; they are read from the store"
    );
    metrics::counter!(GAPS, "subscriber" => subscriber.to_owned()).increment(1);
    let client = store.pool().get().await?;
    let first = have + 1;
    let last = gap.version - 1;
    let found = i64::try_from(found).unwrap_or(0);
    client
        .execute(
            "INSERT INTO subscription_gaps \
             (subscriber, stream_id, first_missing, last_missing, topic, partition, kafka_offset, read_from_store) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            &[&subscriber, &gap.stream_id, &first, &last, &topic, &partition, &offset, &found],
        )
        .await?;
    Ok(())
}

/// A gap as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedGap {
    pub subscriber: String,
    pub stream_id: String,
    pub first_missing: i64,
    pub last_missing: i64,
    pub read_from_store: i64,
    pub seen_at: time::OffsetDateTime,
}

/// Every gap a subscriber reported, oldest first.
pub async fn reported(store: &database::Database) -> Result<Vec<ReportedGap>, event_store::ReadError> {
    let client = store.pool().get().await?;
    let rows = client
        .query(
            "SELECT subscriber, stream_id, first_missing, last_missing, read_from_store, seen_at \
             FROM subscription_gaps ORDER BY seen_at, subscriber, stream_id",
            &[],
        )
        .await?;
    let gap = |row: &tokio_postgres::Row| -> Result<ReportedGap, tokio_postgres::Error> {
        Ok(ReportedGap {
            subscriber: row.try_get(0)?,
            stream_id: row.try_get(1)?,
            first_missing: row.try_get(2)?,
            last_missing: row.try_get(3)?,
            read_from_store: row.try_get(4)?,
            seen_at: row.try_get(5)?,
        })
    };
    Ok(rows.iter().map(gap).collect::<Result<_, _>>()?)
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
    fn only_a_version_past_the_next_one_skips() {
        assert!(!skips(0, 1), "a stream's first event");
        assert!(!skips(4, 5), "the next version");
        assert!(!skips(4, 3), "a redelivery");
        assert!(skips(0, 2), "the first event lost");
        assert!(skips(4, 6), "version 5 lost");
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
