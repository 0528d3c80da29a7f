//! The write side: the one pipeline every command takes, from HTTP or from a saga (load, decide with a pure
//! decider of the `domain` crate, seal personal data, append with the version decided on, retry a lost race),
//! with the state cache and the stream turns it keeps. It is generic over [`EventStore`]: PostgreSQL in every
//! process, the store in memory in this crate's tests, which run the retry, trust, guard and replay paths in
//! milliseconds.
//!
//! Never here: HTTP (statuses are numbers kept with idempotent answers, nothing more), a read model, a clock
//! a decider could read.

pub mod cache;
mod pipeline;
pub mod records;
mod store;
pub mod turns;

pub use cache::{Folded, StreamCache};
pub use pipeline::{
    Caller, Command, CommandError, Context, Decision, Executed, Guarded, LoadError, MAX_ATTEMPTS, Receipt, Trust,
    WriteSide,
};
pub use store::{EventStore, PgStore};

#[cfg(test)]
mod tests;
