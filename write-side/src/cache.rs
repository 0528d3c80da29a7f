//! The state cache of the write side: each aggregate's state as folded up to a stream version, so that a
//! command on a long stream (a wallet with 100,000 entries, an account that logged in daily for years) reads
//! only the events after that version instead of the whole stream. An entry is never trusted beyond its
//! version: a command always reads the stream's newer events first, so a state cached by this process is as
//! good as a fresh fold, and a write by another process is simply caught up on.
//!
//! The cache is bounded: past [`CAPACITY`] entries it starts over, which costs one full read per stream.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Entries kept at most, before the cache starts over.
const CAPACITY: usize = 50_000;

/// A folded state of type `A`, at a stream version and the global position of that version's event.
#[derive(Debug, Clone, PartialEq)]
pub struct Folded<A> {
    pub state: A,
    /// 0 for a stream with no events.
    pub version: i64,
    pub position: i64,
}

impl<A: Default> Default for Folded<A> {
    fn default() -> Self {
        Folded { state: A::default(), version: 0, position: 0 }
    }
}

type Entry = (i64, i64, Arc<dyn Any + Send + Sync>);

/// Shared by every command of a process; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct StreamCache {
    entries: Arc<Mutex<HashMap<(String, TypeId), Entry>>>,
}

impl StreamCache {
    /// The last state of type `A` folded for `stream_id`, or an empty one at version 0.
    pub fn get<A: Clone + Default + Send + Sync + 'static>(&self, stream_id: &str) -> Folded<A> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((version, position, state)) = entries.get(&(stream_id.to_owned(), TypeId::of::<A>())) else {
            return Folded::default();
        };
        match state.downcast_ref::<A>() {
            Some(state) => Folded { state: state.clone(), version: *version, position: *position },
            None => Folded::default(),
        }
    }

    /// Takes the last state of type `A` folded for `stream_id` out of the cache, without copying it: for the
    /// one command that owns the stream for now (see `stream_locks`), which puts it back with
    /// [`StreamCache::put_owned`]. A long wallet's state is not copied on every command.
    pub fn take<A: Default + Send + Sync + 'static>(&self, stream_id: &str) -> Folded<A> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((version, position, state)) = entries.remove(&(stream_id.to_owned(), TypeId::of::<A>())) else {
            return Folded::default();
        };
        match state.downcast::<A>().ok().and_then(|state| Arc::try_unwrap(state).ok()) {
            Some(state) => Folded { state, version, position },
            None => Folded::default(),
        }
    }

    /// Keeps a copy of `folded` for `stream_id` unless a newer version of it is kept already.
    pub fn put<A: Clone + Send + Sync + 'static>(&self, stream_id: &str, folded: &Folded<A>) {
        if self.holds_newer::<A>(stream_id, folded.version) {
            return;
        }
        self.insert(stream_id, TypeId::of::<A>(), (folded.version, folded.position, Arc::new(folded.state.clone())));
    }

    /// Keeps `folded` itself for `stream_id` unless a newer version of it is kept already.
    pub fn put_owned<A: Send + Sync + 'static>(&self, stream_id: &str, folded: Folded<A>) {
        if folded.version == 0 {
            return;
        }
        self.insert(stream_id, TypeId::of::<A>(), (folded.version, folded.position, Arc::new(folded.state)));
    }

    /// Whether a copy would be thrown away: spares [`StreamCache::put`] the copy.
    fn holds_newer<A: 'static>(&self, stream_id: &str, version: i64) -> bool {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        version == 0
            || entries.get(&(stream_id.to_owned(), TypeId::of::<A>())).is_some_and(|(kept, _, _)| *kept >= version)
    }

    fn insert(&self, stream_id: &str, type_id: TypeId, entry: Entry) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        let key = (stream_id.to_owned(), type_id);
        if entries.get(&key).is_some_and(|(kept, _, _)| *kept >= entry.0) {
            return;
        }
        entries.insert(key, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_kept_per_stream_and_type_and_never_replaced_by_an_older_one() {
        let cache = StreamCache::default();
        assert_eq!(cache.get::<u32>("s"), Folded::default());
        cache.put("s", &Folded { state: 7_u32, version: 2, position: 10 });
        cache.put("s", &Folded { state: 5_u32, version: 1, position: 4 });
        assert_eq!(cache.get::<u32>("s"), Folded { state: 7, version: 2, position: 10 });
        assert_eq!(cache.get::<u64>("s"), Folded::default(), "another aggregate of the same stream");
        assert_eq!(cache.get::<u32>("t"), Folded::default());
    }

    #[test]
    fn a_state_taken_out_is_gone_until_it_is_put_back() {
        let cache = StreamCache::default();
        cache.put_owned("s", Folded { state: vec![1_u8, 2], version: 3, position: 9 });
        let taken: Folded<Vec<u8>> = cache.take("s");
        assert_eq!(taken, Folded { state: vec![1, 2], version: 3, position: 9 });
        assert_eq!(cache.get::<Vec<u8>>("s"), Folded::default());
        cache.put_owned("s", taken);
        assert_eq!(cache.get::<Vec<u8>>("s").version, 3);
    }
}
