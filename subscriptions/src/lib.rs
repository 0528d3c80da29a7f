//! The subscription runtime that every follower of the events runs on (the projector, the sagas): where
//! events come from ([`source`]: the store's gap-safe feed, or Kafka), how a Kafka record is confirmed in the
//! store before anyone acts on it and refused when it is not ([`kafka`], invariant 29), how a gap in what
//! Kafka delivered is found and reported ([`gaps`], invariant 30), and where a consumer given a partition
//! starts reading it ([`checkpoints`], invariant 32). What a subscriber does with an event, and the tables
//! where it keeps its checkpoints and dead letters, stay with the subscriber.

pub mod checkpoints;
pub mod dead_letters;
pub mod gaps;
pub mod kafka;
pub mod source;

pub use checkpoints::{CheckpointError, Checkpoints, LastHandled, PartitionKey};
pub use kafka::{Assignment, KafkaSource, KafkaSourceSettings};
pub use source::{
    Backoff, EventSource, FeedSource, Origin, SourceError, SourcedEvent, by_stream, next_batch_patiently, patiently,
};
