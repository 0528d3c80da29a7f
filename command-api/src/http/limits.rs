//! Limits every command API process shares, counted in PostgreSQL's `rate_limits` table, so that two processes
//! allow what one allows and a client counts as itself behind a trusted proxy (its address is
//! [`super::sessions::ClientIp`]).
//!
//! Each key is a leaky bucket kept as the moment it will be empty (`drained_at`, the generic cell rate
//! algorithm's "theoretical arrival time"), read on PostgreSQL's clock, one clock for every process. Taking a
//! place reserves it in the buckets of all the keys at once, in one transaction that locks their rows, before the
//! guarded work runs (so that parallel guesses cannot all pass a check). Failed passwords give their place back
//! when the password was right: only failures count there. While a key's bucket is full, its requests answer `429`
//! with how long to wait.
//!
//! A key is the kind of limit and a keyed label of its subject (an address, an account, a login name), never the
//! subject in clear. The table is `UNLOGGED`: after a crash of PostgreSQL the limits start empty.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use api_contract::Problem;
use database::Database;
use event_store::keys::DataKey;
use uuid::Uuid;

use super::sessions::rate_limited;

/// What is counted, each with its own buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Counted {
    /// Wrong passwords from one client, at login or when changing a password: 5, draining 5 a minute (R19).
    FailedPasswordFromClient,
    /// Wrong passwords against one account, or one login name that names nobody (held back alike, so the answer
    /// tells nothing): 30, draining 10 a minute, so that one address alone cannot lock the owner out.
    FailedPasswordOnAccount,
    /// Email verification and password reset from one client: 5 a minute (R19).
    RecoveryFromClient,
    /// Newsletter subscriptions from one client: 5 a minute.
    SubscriptionFromClient,
    /// Mail sent to one address at a guest's request (a reset link, a new code, a subscription to confirm):
    /// 3, draining 3 an hour.
    MailToAddress,
    /// Sign-ups from one client: [`Limits::sign_ups_per_hour`], draining over the hour.
    SignUpFromClient,
}

impl Counted {
    fn name(self) -> &'static str {
        match self {
            Counted::FailedPasswordFromClient => "failed-password-from-client",
            Counted::FailedPasswordOnAccount => "failed-password-on-account",
            Counted::RecoveryFromClient => "recovery-from-client",
            Counted::SubscriptionFromClient => "subscription-from-client",
            Counted::MailToAddress => "mail-to-address",
            Counted::SignUpFromClient => "sign-up-from-client",
        }
    }
}

/// A bucket's size and how fast it drains.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rate {
    capacity: f64,
    per_minute: f64,
}

impl Rate {
    /// Seconds one place takes to drain.
    fn period(self) -> f64 {
        60.0 / self.per_minute
    }
}

/// One bucket: what it counts and whose it is (a keyed label).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    counted: Counted,
    id: String,
}

/// Sign-ups one client may make in an hour, unless configured (`LEARNLOG_SIGN_UPS_PER_HOUR`).
pub const DEFAULT_SIGN_UPS_PER_HOUR: u32 = 20;

/// Takes are counted; every this many, the drained buckets are deleted.
const PRUNE_EVERY: u64 = 512;

/// The shared limits of one process.
#[derive(Clone)]
pub struct Limits {
    database: Database,
    data_key: Arc<DataKey>,
    sign_ups_per_hour: u32,
    takes: Arc<AtomicU64>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits").field("sign_ups_per_hour", &self.sign_ups_per_hour).finish_non_exhaustive()
    }
}

fn unavailable(error: impl Display) -> Problem {
    Problem::unavailable().because(format!("counting a limit failed: {error}"))
}

impl Limits {
    pub fn new(database: Database, data_key: Arc<DataKey>) -> Self {
        Limits { database, data_key, sign_ups_per_hour: DEFAULT_SIGN_UPS_PER_HOUR, takes: Arc::default() }
    }

    /// Sign-ups one client may make in an hour (at least one).
    pub fn with_sign_ups_per_hour(mut self, sign_ups: u32) -> Self {
        self.sign_ups_per_hour = sign_ups.max(1);
        self
    }

    fn rate(&self, counted: Counted) -> Rate {
        let (capacity, per_minute) = match counted {
            Counted::FailedPasswordFromClient | Counted::RecoveryFromClient | Counted::SubscriptionFromClient => {
                (5.0, 5.0)
            }
            Counted::FailedPasswordOnAccount => (30.0, 10.0),
            Counted::MailToAddress => (3.0, 3.0 / 60.0),
            Counted::SignUpFromClient => (f64::from(self.sign_ups_per_hour), f64::from(self.sign_ups_per_hour) / 60.0),
        };
        Rate { capacity, per_minute }
    }

    /// The bucket of `counted` for `subject`, labelled with the server's key.
    fn key(&self, counted: Counted, subject: &str) -> Key {
        Key { counted, id: self.data_key.label(counted.name(), subject) }
    }

    /// A client's bucket of `counted`.
    pub(crate) fn client(&self, counted: Counted, address: IpAddr) -> Key {
        self.key(counted, &address.to_string())
    }

    /// An account's bucket of failed passwords.
    pub(crate) fn account(&self, user_id: Uuid) -> Key {
        self.key(Counted::FailedPasswordOnAccount, &user_id.to_string())
    }

    /// The failed-password bucket of a login name that names no account (trimmed, any case).
    pub(crate) fn unknown_login(&self, login: &str) -> Key {
        self.key(Counted::FailedPasswordOnAccount, &format!("login:{}", login.trim().to_lowercase()))
    }

    /// The bucket of mail to `email` (trimmed, any case).
    pub(crate) fn mail_to(&self, email: &str) -> Key {
        self.key(Counted::MailToAddress, &email.trim().to_lowercase())
    }

    /// Takes a place in every bucket of `keys`, or none: `429` with the seconds to wait while one is full,
    /// `503` when PostgreSQL cannot count.
    pub(crate) async fn take(&self, keys: &[Key]) -> Result<(), Problem> {
        let keys = self.distinct(keys);
        let ids: Vec<&str> = keys.keys().map(String::as_str).collect();
        let periods: Vec<f64> = keys.values().map(|rate| rate.period()).collect();
        let mut client = self.database.pool().get().await.map_err(unavailable)?;
        let transaction = client.transaction().await.map_err(unavailable)?;
        // Upserting locks every row, in key order (as sorted here), so that takes of overlapping keys queue.
        let rows = transaction
            .query(
                "INSERT INTO rate_limits AS l (key, drained_at) SELECT key, now() FROM unnest($1::text[]) AS key \
                 ORDER BY key ON CONFLICT (key) DO UPDATE SET drained_at = l.drained_at \
                 RETURNING key, extract(epoch FROM greatest(l.drained_at, now()) - now())::float8",
                &[&ids],
            )
            .await
            .map_err(unavailable)?;
        let mut backlogs = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: &str = row.try_get(0).map_err(unavailable)?;
            let backlog: f64 = row.try_get(1).map_err(unavailable)?;
            let rate = keys.get(id).copied().ok_or_else(|| unavailable("an unasked key came back"))?;
            backlogs.push((backlog, rate));
        }
        admit(&backlogs).map_err(rate_limited)?;
        transaction
            .execute(
                "UPDATE rate_limits AS l SET drained_at = greatest(l.drained_at, now()) + make_interval(secs => w.period) \
                 FROM unnest($1::text[], $2::float8[]) AS w (key, period) WHERE l.key = w.key",
                &[&ids, &periods],
            )
            .await
            .map_err(unavailable)?;
        transaction.commit().await.map_err(unavailable)?;
        if self.takes.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.prune().await;
        }
        Ok(())
    }

    /// Gives back the places [`Limits::take`] took in `keys` (the password was right, or nothing was checked).
    /// A failure is logged: the place then drains as if it had been a failure.
    pub(crate) async fn give_back(&self, keys: &[Key]) {
        let keys = self.distinct(keys);
        let ids: Vec<&str> = keys.keys().map(String::as_str).collect();
        let periods: Vec<f64> = keys.values().map(|rate| rate.period()).collect();
        let given = async {
            let client = self.database.pool().get().await.map_err(unavailable)?;
            client
                .execute(
                    "UPDATE rate_limits AS l SET drained_at = l.drained_at - make_interval(secs => w.period) \
                     FROM unnest($1::text[], $2::float8[]) AS w (key, period) WHERE l.key = w.key",
                    &[&ids, &periods],
                )
                .await
                .map_err(unavailable)
        };
        if let Err(problem) = given.await {
            tracing::warn!(cause = ?problem.cause, "a limit's place was not given back");
        }
    }

    /// Each key once, in order, with its rate.
    fn distinct(&self, keys: &[Key]) -> BTreeMap<String, Rate> {
        keys.iter().map(|key| (format!("{}/{}", key.counted.name(), key.id), self.rate(key.counted))).collect()
    }

    async fn prune(&self) {
        let pruned = async {
            let client = self.database.pool().get().await.map_err(unavailable)?;
            client.execute("DELETE FROM rate_limits WHERE drained_at < now()", &[]).await.map_err(unavailable)
        };
        if let Err(problem) = pruned.await {
            tracing::warn!(cause = ?problem.cause, "drained limits were not deleted");
        }
    }
}

/// Whether one more place fits in every bucket, given each one's backlog (seconds until it is empty) and
/// rate: `Err(whole seconds to wait)` until it does.
fn admit(backlogs: &[(f64, Rate)]) -> Result<(), u32> {
    let wait = backlogs
        .iter()
        .map(|&(backlog, rate)| backlog.max(0.0) + rate.period() - rate.capacity * rate.period())
        .fold(0.0_f64, f64::max);
    // A millisecond of slack for the float arithmetic of a bucket exactly full.
    if wait > 0.001 {
        // Whole seconds, rounded up: after them one more place fits.
        return Err(wait.ceil().max(1.0) as u32);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: Rate = Rate { capacity: 5.0, per_minute: 5.0 };
    const ACCOUNT: Rate = Rate { capacity: 30.0, per_minute: 10.0 };

    /// The table's arithmetic, in memory: each key's `drained_at`, in seconds.
    #[derive(Default)]
    struct Table(BTreeMap<&'static str, f64>);

    impl Table {
        fn take(&mut self, keys: &[(&'static str, Rate)], now: f64) -> Result<(), u32> {
            let backlogs: Vec<(f64, Rate)> =
                keys.iter().map(|&(key, rate)| (self.0.get(key).map_or(0.0, |drained| drained - now), rate)).collect();
            admit(&backlogs)?;
            for &(key, rate) in keys {
                let drained = self.0.get(key).copied().unwrap_or(now).max(now);
                self.0.insert(key, drained + rate.period());
            }
            Ok(())
        }

        fn give_back(&mut self, keys: &[(&'static str, Rate)]) {
            for &(key, rate) in keys {
                if let Some(drained) = self.0.get_mut(key) {
                    *drained -= rate.period();
                }
            }
        }
    }

    #[test]
    fn five_failures_a_minute_then_a_wait_that_drains() {
        let mut table = Table::default();
        let keys = [("client 1", CLIENT), ("account", ACCOUNT)];
        for _ in 0..10 {
            assert_eq!(table.take(&keys, 0.0), Ok(()));
            table.give_back(&keys);
        }
        for _ in 0..5 {
            assert_eq!(table.take(&keys, 0.0), Ok(()), "five failures are allowed");
        }
        assert_eq!(table.take(&keys, 0.0), Err(12), "one failure drains in 12 s");
        assert_eq!(table.take(&keys, 6.0), Err(6));
        assert_eq!(table.take(&keys, 12.0), Ok(()));
        assert_eq!(table.take(&[("client 2", CLIENT)], 0.0), Ok(()), "another address is not held back");
    }

    #[test]
    fn a_place_is_taken_before_the_check_so_parallel_guesses_cannot_all_pass() {
        let mut table = Table::default();
        let passed = (0..20).filter(|_| table.take(&[("client", CLIENT)], 0.0).is_ok()).count();
        assert_eq!(passed, 5);
    }

    #[test]
    fn guesses_from_many_addresses_hold_back_the_account_but_not_its_owner_for_long() {
        let mut table = Table::default();
        const ADDRESSES: [&str; 40] = [
            "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7",
            "b8", "b9", "c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "d0", "d1", "d2", "d3", "d4", "d5",
            "d6", "d7", "d8", "d9",
        ];
        let guessed = ADDRESSES
            .iter()
            .filter(|address| table.take(&[(address, CLIENT), ("account", ACCOUNT)], 0.0).is_ok())
            .count();
        assert_eq!(guessed, 30, "the account's bucket holds 30 failures whatever the addresses");
        assert_eq!(table.take(&[("owner", CLIENT), ("account", ACCOUNT)], 0.0), Err(6), "10 a minute drain");
        assert_eq!(table.take(&[("owner", CLIENT), ("other account", ACCOUNT)], 0.0), Ok(()));
    }

    #[test]
    fn nothing_is_taken_when_one_bucket_is_full() {
        let mut table = Table::default();
        for _ in 0..5 {
            table.take(&[("client", CLIENT)], 0.0).expect("fits");
        }
        assert!(table.take(&[("account", ACCOUNT), ("client", CLIENT)], 0.0).is_err());
        assert!(!table.0.contains_key("account"), "the account's bucket was left as it was");
    }

    #[test]
    fn a_bucket_drained_long_ago_counts_as_empty() {
        assert_eq!(admit(&[(-3600.0, CLIENT)]), Ok(()));
        assert_eq!(admit(&[(4.0 * 12.0, CLIENT)]), Ok(()), "the fifth place fits exactly");
        assert_eq!(admit(&[(4.0 * 12.0 + 0.5, CLIENT)]), Err(1), "a part of a second waits a whole one");
    }
}
