//! Failed attempts at a secret (a password at login or when changing it), counted per client address and per
//! account (R19: 5 a minute). Only failures count: someone who switches between their accounts, or logs in
//! often, is never held back; someone guessing is, from one address or from many against one account.
//!
//! Each key has a leaky bucket: a failure adds one, the bucket drains 5 a minute, and while a sixth failure
//! would overflow it every attempt of that key answers `429` with how long to wait. (`governor`, which limits
//! the other routes, cannot look at a key without spending an attempt.)

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use uuid::Uuid;

/// R19: 5 failed attempts a minute.
const FAILURES: f64 = 5.0;
const DRAINED_PER_SECOND: f64 = FAILURES / 60.0;
/// Buckets kept before the empty ones are dropped.
const KEPT: usize = 100_000;

/// Who failed: the client's address, an account, or a login name that names no account (so that an unknown
/// name is held back like a known one and the answer tells nothing).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum AttemptKey {
    Client(IpAddr),
    Account(Uuid),
    UnknownLogin(String),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: f64,
    at: Instant,
}

impl Bucket {
    fn level_at(&self, now: Instant) -> f64 {
        (self.level - now.saturating_duration_since(self.at).as_secs_f64() * DRAINED_PER_SECOND).max(0.0)
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct FailedAttempts(Arc<Mutex<HashMap<AttemptKey, Bucket>>>);

impl FailedAttempts {
    /// `Err(seconds to wait)` while any of `keys` has failed too often.
    pub(crate) fn check(&self, keys: &[AttemptKey]) -> Result<(), u32> {
        self.check_at(keys, Instant::now())
    }

    /// Counts one failure for each of `keys`.
    pub(crate) fn failed(&self, keys: &[AttemptKey]) {
        self.failed_at(keys, Instant::now());
    }

    fn check_at(&self, keys: &[AttemptKey], now: Instant) -> Result<(), u32> {
        let buckets = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let fullest =
            keys.iter().filter_map(|key| buckets.get(key)).map(|bucket| bucket.level_at(now)).fold(0.0, f64::max);
        let over = fullest + 1.0 - FAILURES;
        if over > 0.0 {
            // Whole seconds, rounded up: after them one more attempt fits.
            Err((over / DRAINED_PER_SECOND).ceil().max(1.0) as u32)
        } else {
            Ok(())
        }
    }

    fn failed_at(&self, keys: &[AttemptKey], now: Instant) {
        let mut buckets = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > KEPT {
            buckets.retain(|_, bucket| bucket.level_at(now) > 0.0);
        }
        for key in keys {
            let level = buckets.get(key).map_or(0.0, |bucket| bucket.level_at(now));
            buckets.insert(key.clone(), Bucket { level: (level + 1.0).min(FAILURES), at: now });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn client(n: u8) -> AttemptKey {
        AttemptKey::Client(IpAddr::from([10, 0, 0, n]))
    }

    #[test]
    fn five_failures_hold_a_key_back_and_successes_never_do() {
        let attempts = FailedAttempts::default();
        let start = Instant::now();
        let keys = [client(1), AttemptKey::Account(Uuid::nil())];
        for _ in 0..100 {
            assert_eq!(attempts.check_at(&keys, start), Ok(()), "checking spends nothing");
        }
        for _ in 0..4 {
            attempts.failed_at(&keys, start);
        }
        assert_eq!(attempts.check_at(&keys, start), Ok(()), "a fifth attempt is allowed");
        attempts.failed_at(&keys, start);
        assert_eq!(attempts.check_at(&keys, start), Err(12), "one attempt drains in 12 s");
        assert_eq!(attempts.check_at(&keys, start + Duration::from_secs(6)), Err(6));
        assert_eq!(attempts.check_at(&keys, start + Duration::from_secs(12)), Ok(()));
        assert_eq!(attempts.check_at(&[client(2)], start), Ok(()), "another client is not held back");
    }

    #[test]
    fn an_account_guessed_from_many_addresses_is_held_back_for_every_address() {
        let attempts = FailedAttempts::default();
        let now = Instant::now();
        let account = AttemptKey::Account(Uuid::from_u128(7));
        for n in 0..5 {
            attempts.failed_at(&[client(n), account.clone()], now);
        }
        assert!(attempts.check_at(&[client(9), account.clone()], now).is_err());
        assert_eq!(attempts.check_at(&[client(9), AttemptKey::Account(Uuid::from_u128(8))], now), Ok(()));
    }

    #[test]
    fn failures_beyond_the_limit_do_not_lengthen_the_wait_without_end() {
        let attempts = FailedAttempts::default();
        let now = Instant::now();
        for _ in 0..50 {
            attempts.failed_at(&[client(1)], now);
        }
        assert_eq!(attempts.check_at(&[client(1)], now), Err(12));
    }
}
