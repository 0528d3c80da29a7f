//! Failed attempts at a secret (a password at login or when changing it), counted per client address and per
//! account (R19). Only failures count: someone who switches between their accounts, or logs in often, is never
//! held back; someone guessing is, from one address or from many against one account.
//!
//! Each key has a leaky bucket. An attempt reserves a place in the buckets of all its keys at once, under one
//! lock, before the password is checked (so that parallel guesses cannot all pass the check), and gives it back
//! when the password was right. While a key's bucket is full its attempts answer `429` with how long to wait.
//! An address may fail 5 times a minute; an account (or an unknown login name) 30 times, draining 10 a minute,
//! more than one address can fail, so that one address alone cannot lock anyone out. (`governor`, which
//! limits the other routes, cannot give an attempt back.)

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Buckets kept before the drained ones are dropped, and how often that is looked at, at most.
const KEPT: usize = 10_000;
const PRUNE_EVERY: Duration = Duration::from_secs(10);

/// Who failed: the client's address, an account, or a login name that names no account (kept as a digest,
/// so that an unknown name is held back like a known one and the answer tells nothing).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum AttemptKey {
    Client(IpAddr),
    Account(Uuid),
    UnknownLogin([u8; 32]),
}

impl AttemptKey {
    /// The key of a login name that names no account.
    pub(crate) fn unknown_login(login: &str) -> AttemptKey {
        AttemptKey::UnknownLogin(Sha256::digest(login.trim().to_lowercase().as_bytes()).into())
    }

    /// How many failures the key's bucket holds, and how many drain a minute.
    fn limit(&self) -> (f64, f64) {
        match self {
            AttemptKey::Client(_) => (5.0, 5.0),
            AttemptKey::Account(_) | AttemptKey::UnknownLogin(_) => (30.0, 10.0),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: f64,
    at: Instant,
}

impl Bucket {
    fn level_at(&self, now: Instant, per_minute: f64) -> f64 {
        (self.level - now.saturating_duration_since(self.at).as_secs_f64() * per_minute / 60.0).max(0.0)
    }
}

#[derive(Debug)]
struct Buckets {
    levels: HashMap<AttemptKey, Bucket>,
    pruned: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct FailedAttempts(Arc<Mutex<Buckets>>);

impl Default for FailedAttempts {
    fn default() -> Self {
        FailedAttempts(Arc::new(Mutex::new(Buckets { levels: HashMap::new(), pruned: Instant::now() })))
    }
}

impl FailedAttempts {
    /// Counts an attempt of `keys` as failed until [`FailedAttempts::succeeded`] gives it back; `Err(seconds
    /// to wait)`, counting nothing, while any of `keys` has failed too often.
    pub(crate) fn attempt(&self, keys: &[AttemptKey]) -> Result<(), u32> {
        self.attempt_at(keys, Instant::now())
    }

    /// Gives back the attempt of `keys`: the secret was right.
    pub(crate) fn succeeded(&self, keys: &[AttemptKey]) {
        self.succeeded_at(keys, Instant::now());
    }

    fn attempt_at(&self, keys: &[AttemptKey], now: Instant) -> Result<(), u32> {
        let mut buckets = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.levels.len() > KEPT && now.saturating_duration_since(buckets.pruned) >= PRUNE_EVERY {
            buckets.levels.retain(|key, bucket| bucket.level_at(now, key.limit().1) > 0.0);
            buckets.pruned = now;
        }
        let mut wait: f64 = 0.0;
        for key in keys {
            let (capacity, per_minute) = key.limit();
            let level = buckets.levels.get(key).map_or(0.0, |bucket| bucket.level_at(now, per_minute));
            let over = level + 1.0 - capacity;
            if over > 0.0 {
                wait = wait.max(over * 60.0 / per_minute);
            }
        }
        if wait > 0.0 {
            // Whole seconds, rounded up: after them one more attempt fits.
            return Err(wait.ceil().max(1.0) as u32);
        }
        for key in keys {
            let per_minute = key.limit().1;
            let level = buckets.levels.get(key).map_or(0.0, |bucket| bucket.level_at(now, per_minute));
            buckets.levels.insert(key.clone(), Bucket { level: level + 1.0, at: now });
        }
        Ok(())
    }

    fn succeeded_at(&self, keys: &[AttemptKey], now: Instant) {
        let mut buckets = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for key in keys {
            let per_minute = key.limit().1;
            if let Some(bucket) = buckets.levels.get_mut(key) {
                *bucket = Bucket { level: (bucket.level_at(now, per_minute) - 1.0).max(0.0), at: now };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(n: u8) -> AttemptKey {
        AttemptKey::Client(IpAddr::from([10, 0, 0, n]))
    }

    #[test]
    fn five_failures_hold_an_address_back_and_successes_never_do() {
        let attempts = FailedAttempts::default();
        let start = Instant::now();
        let keys = [client(1), AttemptKey::Account(Uuid::nil())];
        for _ in 0..100 {
            assert_eq!(attempts.attempt_at(&keys, start), Ok(()));
            attempts.succeeded_at(&keys, start);
        }
        for _ in 0..5 {
            assert_eq!(attempts.attempt_at(&keys, start), Ok(()), "five failures are allowed");
        }
        assert_eq!(attempts.attempt_at(&keys, start), Err(12), "one failure drains in 12 s");
        assert_eq!(attempts.attempt_at(&keys, start + Duration::from_secs(6)), Err(6));
        assert_eq!(attempts.attempt_at(&keys, start + Duration::from_secs(12)), Ok(()));
        assert_eq!(attempts.attempt_at(&[client(2)], start), Ok(()), "another address is not held back");
    }

    #[test]
    fn parallel_guesses_cannot_all_pass_the_check() {
        let attempts = FailedAttempts::default();
        let now = Instant::now();
        let passed = (0..20).filter(|_| attempts.attempt_at(&[client(1)], now).is_ok()).count();
        assert_eq!(passed, 5, "each attempt holds its place before its password is checked");
    }

    #[test]
    fn one_address_cannot_lock_an_account_but_many_guessing_it_are_held_back() {
        let attempts = FailedAttempts::default();
        let start = Instant::now();
        let account = AttemptKey::Account(Uuid::from_u128(7));
        // One address failing as fast as it may, for an hour: its owner, from another address, still logs in.
        for second in (0..3_600).step_by(12) {
            let at = start + Duration::from_secs(second);
            assert_eq!(attempts.attempt_at(&[client(1), account.clone()], at), Ok(()), "at {second} s");
            assert_eq!(attempts.attempt_at(&[client(2), account.clone()], at), Ok(()), "the owner at {second} s");
            attempts.succeeded_at(&[client(2), account.clone()], at);
        }
        // Thirty addresses at once fill it.
        let later = start + Duration::from_secs(7_200);
        for n in 10..40 {
            assert_eq!(attempts.attempt_at(&[client(n), account.clone()], later), Ok(()), "address {n}");
        }
        assert!(attempts.attempt_at(&[client(99), account.clone()], later).is_err());
        assert_eq!(attempts.attempt_at(&[client(99), AttemptKey::Account(Uuid::from_u128(8))], later), Ok(()));
    }

    #[test]
    fn an_unknown_login_is_kept_as_a_digest_of_its_normal_form() {
        assert_eq!(AttemptKey::unknown_login(" Ada "), AttemptKey::unknown_login("ada"));
        assert_ne!(AttemptKey::unknown_login("ada"), AttemptKey::unknown_login("grace"));
    }
}
