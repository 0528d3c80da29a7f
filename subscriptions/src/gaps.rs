//! A gap is an alarm, never a skip (ARCHITECTURE.md, invariant 30). Every Kafka record carries its stream
//! version; a record of version n+2 for a stream whose subscriber handled version n means the record of n+1
//! was lost on the way (a broker that dropped it, a consumer positioned past it). The subscriber then logs
//! ERROR, counts `learnlog_subscription_gaps_total{subscriber}`, keeps the gap in `subscription_gaps` for
//! operators ([`report`]), and reads the missing events from the store (the store is the truth; Kafka is
//! the transport) to handle them in order before the record that revealed the gap. Each subscriber knows
//! which versions it handled (the projector: the read models'; the sagas: `saga_stream_versions`).

use database::Database;

use crate::Origin;

/// Counts the gaps subscribers found in what Kafka delivered, by subscriber.
pub const GAPS: &str = "learnlog_subscription_gaps_total";

/// Versions of a stream that Kafka did not deliver before the record at `before` of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// Index, in its batch, of the record that revealed the gap.
    pub before: usize,
    pub stream_id: String,
    /// The last version the subscriber handled.
    pub after_version: i64,
    /// The version the record carries.
    pub version: i64,
    pub origin: Origin,
}

/// Whether a record of `version` following `handled` (0: none yet) skips versions.
pub fn skips(handled: i64, version: i64) -> bool {
    version > handled + 1
}

/// `items` with each gap's missing items (`fills`, one list per gap, in the order of `gaps`) put right before
/// the item at the gap's `before`.
pub fn interleave<T>(
    items: impl IntoIterator<Item = T>,
    gaps: &[Gap],
    fills: impl IntoIterator<Item = Vec<T>>,
) -> Vec<T> {
    let mut fills = gaps.iter().map(|gap| gap.before).zip(fills).peekable();
    let mut all = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        while let Some((_, missing)) = fills.next_if(|(before, _)| *before == index) {
            all.extend(missing);
        }
        all.push(item);
    }
    all
}

/// Raises the alarm for `gap`, seen by `subscriber` whose last version of the stream was `have`: an ERROR,
/// the counter, and a row in `subscription_gaps` (once per gap); `found` missing events were read from the
/// store.
pub async fn report(
    store: &Database,
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
pub async fn reported(store: &Database) -> Result<Vec<ReportedGap>, event_store::ReadError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_missing_events_go_right_before_the_record_that_revealed_them() {
        let gap =
            |before| Gap { before, stream_id: "a".to_owned(), after_version: 0, version: 0, origin: Origin::Feed };
        let order = interleave(["a3", "b1", "a5"], &[gap(0), gap(2)], [vec!["a2"], vec!["a4"]]);
        assert_eq!(order, ["a2", "a3", "b1", "a4", "a5"]);
    }

    #[test]
    fn only_a_version_past_the_next_one_skips() {
        assert!(!skips(0, 1), "a stream's first event");
        assert!(!skips(4, 5), "the next version");
        assert!(!skips(4, 3), "a redelivery");
        assert!(skips(0, 2), "the first event lost");
        assert!(skips(4, 6), "version 5 lost");
    }
}
