//! The state cache of the write side: each aggregate's state as folded up to a stream version, so that a
//! command on a long stream (a wallet with 100,000 entries, an account that logged in daily for years) reads
//! only the events after that version instead of the whole stream. An entry is never trusted beyond its
//! version: a command always reads the stream's newer events first, so a state cached by this process is as
//! good as a fresh fold, and a write by another process is simply caught up on.
//!
//! The cache is bounded twice:
//! - in time: a short stream's state left unused for [`IDLE`] goes, so that under a steady load the cache
//!   holds the streams in use lately and stays the same size, however many streams the load has touched;
//!   a long stream's (at least [`LONG`] events) stays, since reading it again costs a full fold;
//! - in count: past [`CAPACITY`] entries it starts over, which costs one full read per stream.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Entries kept at most, before the cache starts over.
const CAPACITY: usize = 50_000;
/// How long a short stream's state is kept unused.
const IDLE: Duration = Duration::from_secs(180);
/// Events from which a stream counts as long: its state is kept until the cache starts over.
const LONG: i64 = 256;
/// Inserts between two sweeps of the idle entries.
const SWEEP_EVERY: u32 = 1024;

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

#[derive(Debug, Default)]
struct Entries {
    kept: HashMap<(String, TypeId), (Entry, Instant)>,
    /// Inserts since the last sweep.
    inserts: u32,
}

impl Entries {
    fn get(&mut self, key: &(String, TypeId)) -> Option<&Entry> {
        let (entry, used) = self.kept.get_mut(key)?;
        *used = Instant::now();
        Some(entry)
    }

    /// Drops the short streams' states unused since `before`.
    fn sweep(&mut self, before: Instant) {
        self.kept.retain(|_, ((version, _, _), used)| *version >= LONG || *used >= before);
    }
}

/// Shared by every command of a process; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct StreamCache {
    entries: Arc<Mutex<Entries>>,
}

impl StreamCache {
    /// The last state of type `A` folded for `stream_id`, or an empty one at version 0.
    pub fn get<A: Clone + Default + Send + Sync + 'static>(&self, stream_id: &str) -> Folded<A> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
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
        let Some(((version, position, state), _)) = entries.kept.remove(&(stream_id.to_owned(), TypeId::of::<A>()))
        else {
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
            || entries
                .kept
                .get(&(stream_id.to_owned(), TypeId::of::<A>()))
                .is_some_and(|((kept, _, _), _)| *kept >= version)
    }

    fn insert(&self, stream_id: &str, type_id: TypeId, entry: Entry) {
        self.insert_at(stream_id, type_id, entry, Instant::now());
    }

    fn insert_at(&self, stream_id: &str, type_id: TypeId, entry: Entry, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.inserts += 1;
        if entries.inserts >= SWEEP_EVERY {
            // Nothing is idle for longer than the clock has run.
            if let Some(before) = now.checked_sub(IDLE) {
                entries.sweep(before);
            }
            entries.inserts = 0;
        }
        if entries.kept.len() >= CAPACITY {
            entries.kept.clear();
        }
        let key = (stream_id.to_owned(), type_id);
        if entries.kept.get(&key).is_some_and(|((kept, _, _), _)| *kept >= entry.0) {
            return;
        }
        entries.kept.insert(key, (entry, now));
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

    #[test]
    fn a_short_stream_left_unused_goes_at_the_next_sweep_and_a_long_one_stays() {
        let cache = StreamCache::default();
        let start = Instant::now();
        let later = start + IDLE + Duration::from_secs(1);
        let state = |version| -> Entry { (version, version, Arc::new(0_u32)) };
        cache.insert_at("short", TypeId::of::<u32>(), state(3), start);
        cache.insert_at("long", TypeId::of::<u32>(), state(LONG), start);
        cache.insert_at("used", TypeId::of::<u32>(), state(3), start);
        cache.insert_at("used", TypeId::of::<u32>(), state(4), later);
        for other in 0..SWEEP_EVERY {
            cache.insert_at(&format!("other-{other}"), TypeId::of::<u32>(), state(1), later);
        }
        assert_eq!(cache.get::<u32>("short"), Folded::default(), "unused for longer than IDLE");
        assert_eq!(cache.get::<u32>("long").version, LONG, "a long stream is read again only at a cost");
        assert_eq!(cache.get::<u32>("used").version, 4, "used since");
    }
}
