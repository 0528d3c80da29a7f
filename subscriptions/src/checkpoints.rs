//! Where a subscriber stands in each Kafka partition. The subscriber keeps it in PostgreSQL (the projector
//! beside its read models, in the transaction that changes them; the sagas beside their stream versions),
//! and it is the truth: Kafka's committed offsets are only a hint, committed after the fact and lost with the
//! group. When the group hands a consumer a partition, the source seeks to the record after the last one the
//! subscriber stored, or to the partition's beginning when it stored none (a new subscriber, read models
//! restored or rebuilt), whatever the group committed (ARCHITECTURE.md, invariant 32).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

/// A partition of a topic.
pub type PartitionKey = (String, i32);

/// What [`Checkpoints::last_handled`] answers: per partition with a stored place, the offset of the last
/// record the subscriber handled there.
pub type LastHandled<'a> =
    Pin<Box<dyn Future<Output = Result<HashMap<PartitionKey, i64>, CheckpointError>> + Send + 'a>>;

/// A subscriber's stored places in the partitions, read when the group assigns partitions.
pub trait Checkpoints: Send + Sync {
    /// The offset of the last record handled in each of `partitions` that has one stored.
    fn last_handled<'a>(&'a self, partitions: &'a [PartitionKey]) -> LastHandled<'a>;
}

#[derive(Debug, thiserror::Error)]
#[error("the subscriber's checkpoints cannot be read: {0}")]
pub struct CheckpointError(pub String);

/// Where a consumer given `partitions` starts reading each: after its stored place, else at the beginning.
pub fn starts(partitions: &[PartitionKey], stored: &HashMap<PartitionKey, i64>) -> Vec<(PartitionKey, Start)> {
    partitions
        .iter()
        .map(|partition| {
            let start = stored.get(partition).map_or(Start::Beginning, |last| Start::At(last + 1));
            (partition.clone(), start)
        })
        .collect()
}

/// Where a consumer starts reading a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The partition's first record still kept.
    Beginning,
    /// This offset.
    At(i64),
}

impl Start {
    /// The lowest offset a record may have to be read from here.
    pub fn floor(self) -> i64 {
        match self {
            Start::Beginning => 0,
            Start::At(offset) => offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_starts_after_the_stored_place_or_at_its_beginning() {
        let partitions = [("orders".to_owned(), 0), ("orders".to_owned(), 1)];
        let stored = HashMap::from([(("orders".to_owned(), 1), 41)]);
        assert_eq!(
            starts(&partitions, &stored),
            [(("orders".to_owned(), 0), Start::Beginning), (("orders".to_owned(), 1), Start::At(42))]
        );
        assert_eq!(Start::Beginning.floor(), 0);
        assert_eq!(Start::At(42).floor(), 42);
    }
}
