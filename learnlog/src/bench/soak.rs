//! `learnlog bench soak`: every role of `learnlog up` in this process, under a steady mix of what a
//! marketplace's people do, for minutes: catalogue reads, a trainee's own courses, lesson views, orders (cart,
//! then order) by wallet and by card (paid on the payments sandbox's checkout page), sign-ups, reviews, refunds
//! (asked for by the trainee, approved by an admin, then carried out by the refund saga) and exams (the exam
//! page read as of the last attempt, then an attempt or the answers revealed). Each person acts once every
//! interval, as people do, rather than as fast as they can.
//!
//! Each minute it reports what was done, the p99 of each kind of request, the resident memory of this process
//! (which holds every role, and the clients) and the private memory of the database's backends, and the open
//! connections. At the end, with the clients stopped and the followers caught up, it checks that every order
//! was fulfilled exactly once and every approved refund completed exactly once, that no follower parked a
//! dead letter, that the read models equal a snapshot
//! rebuilt from the first event, and that memory stayed within 10 % of what it was after the warm-up.

use std::time::{Duration, Instant};

use database::Database;
use event_store::keys::KeyRing;
use uuid::Uuid;

use super::mix::{JOURNEY, Mix, MixReport};
use super::{BenchApp, BenchCluster};
use crate::config::Config;
use crate::error::Error;
use crate::rebuild::ReplayOptions;

#[derive(Debug, Clone, clap::Args)]
pub struct SoakOptions {
    /// Length of the run, in minutes.
    #[arg(long, default_value_t = 30)]
    pub minutes: u32,
    /// People using the marketplace at once, each a client of its own.
    #[arg(long, default_value_t = 30)]
    pub people: usize,
    /// How often each person acts, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub every_ms: u64,
}

/// A soak's report, and whether every check passed.
#[derive(Debug)]
pub struct Soak {
    pub report: String,
    pub passed: bool,
    /// The orders and the approved refunds the people made.
    pub orders: usize,
    pub refunds: usize,
    /// Exam attempts and reveals.
    pub exams: u64,
}

/// The kinds of request the mix makes, in the report's order.
const KINDS: [&str; 14] = [
    "catalogue",
    "my courses",
    "lesson view",
    "cart",
    "order",
    "card order",
    "checkout page",
    "card payment",
    "sign-up",
    "review",
    "refund",
    "refund approval",
    "exam page",
    "exam",
];
/// How much memory may grow after the warm-up.
const FLAT_WITHIN: f64 = 0.10;
/// How long the followers may take to catch up once the clients stop.
const QUIET_WITHIN: Duration = Duration::from_secs(120);
/// The schema the end's check rebuilds the read models into.
const REBUILT: &str = "soak_rebuilt";

/// Runs a soak; `progress` is given each line of the report as it comes (a minute's, as it ends).
pub async fn soak(config: &Config, options: &SoakOptions, progress: &mut dyn FnMut(&str)) -> Result<Soak, Error> {
    let bench = BenchCluster::start().await?;
    let result = run(&bench, config, options, progress).await;
    bench.stop().await?;
    result
}

async fn run(
    bench: &BenchCluster,
    config: &Config,
    options: &SoakOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Soak, Error> {
    let url = bench.database("bench_soak", None).await?;
    // A data key of the run's own, which the end's rebuild opens personal data with too.
    let key = format!("{}{}", Uuid::now_v7().simple(), Uuid::now_v7().simple());
    let config = Config { data_key: Some(secrecy::SecretString::from(key)), ..config.clone() };
    let config = &config;
    // Card orders are paid on the payments sandbox's checkout page.
    let app = BenchApp::start_with(config, &url, options.people, &[crate::app::Role::PaymentsSandbox]).await?;
    let result = drive(config, options, &app, &url, progress).await;
    app.stop().await;
    result
}

async fn drive(
    config: &Config,
    options: &SoakOptions,
    app: &BenchApp,
    url: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<Soak, Error> {
    let every = Duration::from_millis(options.every_ms.max(1));
    let turns_per_minute = usize::try_from(60_000 / options.every_ms.max(1)).unwrap_or(usize::MAX);
    // Each order is of a course the person has not bought yet.
    let orders_in_journey = JOURNEY.iter().filter(|turn| turn.ends_with("order")).count();
    let courses = (turns_per_minute * options.minutes as usize * orders_in_journey).div_ceil(JOURNEY.len()) + 1;
    let mix = Mix::prepare(&app.base, &app.keys, options.people, courses).await?;
    let store = Database::connect(url, 2)?;
    let mut report = format!(
        "soak: {} people, each acting every {} ms, for {} minutes; every role in one process (`learnlog up`)\n\
         minute | requests/s | p99 ms: {} | failed | learnlog RSS MiB | db backends private MiB | connections\n",
        options.people,
        options.every_ms,
        options.minutes,
        KINDS.join(" / ")
    );
    progress(&report);
    let (mut orders, mut refunds, mut failed, mut failures, mut samples) =
        (Vec::new(), Vec::new(), 0, Vec::new(), Vec::new());
    let mut exams = 0;
    for minute in 0..options.minutes {
        let started = Instant::now();
        let first = minute as usize * turns_per_minute;
        let done = mix.drive_every(Duration::from_secs(60), every, first, JOURNEY).await;
        let seconds = started.elapsed().as_secs_f64();
        let sample = Sample::take(&store).await?;
        let line = minute_line(minute + 1, &done, seconds, &sample);
        progress(&line);
        report.push_str(&line);
        failed += done.failed_reads + done.failed_commands;
        failures.extend(done.failures.iter().take(20usize.saturating_sub(failures.len())).cloned());
        orders.extend(done.orders.iter().copied());
        refunds.extend(done.refunds.iter().copied());
        exams += done.exams;
        samples.push(sample);
    }
    let data_key = std::sync::Arc::new(crate::secret::data_key(config.data_key.as_ref(), &config.data_dir)?);
    let checks = Checks::run(&store, &KeyRing::new(store.clone(), data_key), &orders, &refunds).await?;
    let memory = Memory::judge(&samples);
    let mut end = format!("requests failed: {failed}\nexam attempts and reveals: {exams}\n");
    for failure in &failures {
        end.push_str(&format!("  {failure}\n"));
    }
    end.push_str(&checks.describe());
    end.push_str(&memory.describe());
    let passed = failed == 0 && checks.passed() && memory.flat != Some(false);
    end.push_str(if passed { "soak: passed\n" } else { "soak: FAILED\n" });
    progress(&end);
    report.push_str(&end);
    Ok(Soak { report, passed, orders: orders.len(), refunds: refunds.len(), exams })
}

fn minute_line(minute: u32, done: &MixReport, seconds: f64, sample: &Sample) -> String {
    let requests: usize = done.latencies.values().map(Vec::len).sum();
    let p99: Vec<String> = KINDS
        .iter()
        .map(|kind| {
            let mut latencies = done.latencies.get(kind).cloned().unwrap_or_default();
            format!("{:.0}", super::percentiles_ms(&mut latencies).1)
        })
        .collect();
    format!(
        "{minute} | {:.1} | {} | {} | {:.0} | {:.0} | {}\n",
        requests as f64 / seconds.max(0.001),
        p99.join(" / "),
        done.failed_reads + done.failed_commands,
        sample.own_kib as f64 / 1024.0,
        sample.backends_kib as f64 / 1024.0,
        sample.connections
    )
}

/// Memory and connections at the end of a minute.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// This process's resident memory: every role, and the clients.
    own_kib: u64,
    /// The private (anonymous) resident memory of the database's backends: their shared buffers are left out,
    /// since every backend counts the pages it touched.
    backends_kib: u64,
    /// Connections to the database, the one taking the sample left out.
    connections: usize,
}

impl Sample {
    async fn take(store: &Database) -> Result<Sample, Error> {
        let client = store.pool().get().await?;
        let backends = client
            .query(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .await?;
        let pids: Vec<i32> = backends.iter().map(|row| row.get(0)).collect();
        let backends_kib = pids.iter().filter_map(|pid| status_kib(&format!("/proc/{pid}/status"), "RssAnon:")).sum();
        Ok(Sample {
            own_kib: status_kib("/proc/self/status", "VmRSS:").unwrap_or(0),
            backends_kib,
            connections: pids.len(),
        })
    }
}

/// A field of a `/proc/<pid>/status` file, in KiB (`None` where it cannot be read: another system's process).
fn status_kib(path: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(path).ok()?;
    status.lines().find_map(|line| line.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse().ok())
}

/// Whether memory stayed flat after the warm-up (the first sixth of the run, at least a minute).
#[derive(Debug)]
struct Memory {
    /// `None` when the run has no minute after its warm-up.
    flat: Option<bool>,
    text: String,
}

impl Memory {
    fn judge(samples: &[Sample]) -> Memory {
        let warm_up = (samples.len() / 6).max(1);
        let (Some(warm), Some(after)) = (samples.get(warm_up - 1), samples.get(warm_up..).filter(|s| !s.is_empty()))
        else {
            return Memory { flat: None, text: "memory: not judged (no minute after the warm-up)\n".to_owned() };
        };
        // Learnlog's process is held to its peak. The backends are held to their level at the end (the
        // median of the last three minutes): a backend's private memory comes and goes with a connection
        // opened or a maintenance worker, and what a leak leaves is a level that stays. Their peak is shown.
        let growth = |level: u64, of: fn(&Sample) -> u64| level as f64 / of(warm).max(1) as f64 - 1.0;
        let peak = |of: fn(&Sample) -> u64| after.iter().map(of).max().unwrap_or(0);
        let mut last: Vec<u64> = after.iter().rev().take(3).map(|sample| sample.backends_kib).collect();
        last.sort_unstable();
        let own = growth(peak(|sample| sample.own_kib), |sample| sample.own_kib);
        let backends_peak = growth(peak(|sample| sample.backends_kib), |sample| sample.backends_kib);
        let backends = growth(last[last.len() / 2], |sample| sample.backends_kib);
        let flat = own <= FLAT_WITHIN && backends <= FLAT_WITHIN;
        let text = format!(
            "memory after {warm_up} minute(s) of warm-up: learnlog at most {:+.1} %; db backends at the end \
             {:+.1} % (at most {:+.1} %); flat within {:.0} %: {}\n",
            own * 100.0,
            backends * 100.0,
            backends_peak * 100.0,
            FLAT_WITHIN * 100.0,
            if flat { "yes" } else { "NO" }
        );
        Memory { flat: Some(flat), text }
    }

    fn describe(&self) -> String {
        self.text.clone()
    }
}

/// What the end of a soak checks, with the clients stopped and the followers caught up.
#[derive(Debug)]
struct Checks {
    quiet: bool,
    orders: usize,
    fulfilled_once: i64,
    fulfilled_more: i64,
    refunds: usize,
    refunded_once: i64,
    refunded_more: i64,
    dead_letters: i64,
    /// The read-model tables that differ from a rebuild, with their row counts (live, rebuilt).
    differing: Vec<(String, i64, i64)>,
    tables: usize,
    /// The rows of the live read models compared.
    rows: i64,
}

impl Checks {
    async fn run(store: &Database, keyring: &KeyRing, orders: &[Uuid], refunds: &[Uuid]) -> Result<Checks, Error> {
        let client = store.pool().get().await?;
        let streams: Vec<String> = orders.iter().map(|id| events::stream::order_stream(*id)).collect();
        let refund_ids: Vec<String> = refunds.iter().map(Uuid::to_string).collect();
        let quiet = Self::until_quiet(&client, &streams, &refund_ids).await?;
        let refunded = client
            .query_one(
                "SELECT count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE n > 1) FROM (SELECT count(*) AS n \
                 FROM events WHERE event_type = 'RefundCompleted' AND payload->>'refund_id' = ANY($1) \
                 GROUP BY payload->>'refund_id') r",
                &[&refund_ids],
            )
            .await
            .map_err(checking("the refunds"))?;
        let fulfilled = client
            .query_one(
                "SELECT count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE n > 1) FROM (SELECT count(*) AS n \
                 FROM events WHERE event_type = 'OrderFulfilled' AND stream_id = ANY($1) GROUP BY stream_id) f",
                &[&streams],
            )
            .await
            .map_err(checking("the fulfilments"))?;
        let dead_letters: i64 = client
            .query_one(
                "SELECT (SELECT count(*) FROM dead_letters) + (SELECT count(*) FROM projector_dead_letters)",
                &[],
            )
            .await
            .map_err(checking("the dead letters"))?
            .get(0);
        let head: i64 = client.query_one("SELECT COALESCE(max(position), 0) FROM events", &[]).await?.get(0);
        let served: String = client
            .query_one("SELECT name FROM learnlog_meta.read_schema", &[])
            .await
            .map_err(checking("the served schema"))?
            .get(0);
        let options =
            ReplayOptions { schema: Some(REBUILT.to_owned()), position: Some(head), ..ReplayOptions::default() };
        crate::rebuild::build(store, store, keyring, &options).await?;
        let tables: Vec<&str> = projector::PROJECTIONS.iter().flat_map(|(_, tables)| tables.iter().copied()).collect();
        let (mut differing, mut rows) = (Vec::new(), 0);
        for table in &tables {
            let (live, live_rows) = table_digest(&client, &served, table).await?;
            rows += live_rows;
            let (rebuilt, rebuilt_rows) = table_digest(&client, REBUILT, table).await?;
            if live != rebuilt {
                differing.push(((*table).to_owned(), live_rows, rebuilt_rows));
            }
        }
        let dropped = format!("DROP SCHEMA \"{REBUILT}\" CASCADE");
        client.batch_execute(&dropped).await.map_err(checking("dropping the rebuild"))?;
        let forgotten = "DELETE FROM learnlog_meta.read_schemas WHERE name = $1";
        client.execute(forgotten, &[&REBUILT]).await.map_err(checking("dropping the rebuild"))?;
        Ok(Checks {
            quiet,
            orders: orders.len(),
            fulfilled_once: fulfilled.get(0),
            fulfilled_more: fulfilled.get(1),
            refunds: refunds.len(),
            refunded_once: refunded.get(0),
            refunded_more: refunded.get(1),
            dead_letters,
            differing,
            tables: tables.len(),
            rows,
        })
    }

    /// Waits until every order is fulfilled, every refund completed, and the projector and the sagas stand at
    /// the head of the feed, for a while; false when they never do.
    async fn until_quiet(
        client: &deadpool_postgres::Client,
        streams: &[String],
        refunds: &[String],
    ) -> Result<bool, Error> {
        let deadline = Instant::now() + QUIET_WITHIN;
        loop {
            let row = client
                .query_one(
                    "SELECT (SELECT count(DISTINCT stream_id) FROM events \
                     WHERE event_type = 'OrderFulfilled' AND stream_id = ANY($1)), \
                     (SELECT COALESCE(max(position), 0) FROM events), \
                     (SELECT COALESCE(min(position), 0) FROM projector_checkpoints), \
                     (SELECT COALESCE(min(position), 0) FROM saga_checkpoints), \
                     (SELECT count(DISTINCT payload->>'refund_id') FROM events \
                     WHERE event_type = 'RefundCompleted' AND payload->>'refund_id' = ANY($2))",
                    &[&streams, &refunds],
                )
                .await
                .map_err(checking("the followers' positions"))?;
            let (fulfilled, head, projected, sagas, refunded): (i64, i64, i64, i64, i64) =
                (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
            let all = |done: i64, of: &[String]| usize::try_from(done).ok() == Some(of.len());
            if all(fulfilled, streams) && all(refunded, refunds) && projected >= head && sagas >= head {
                return Ok(true);
            }
            if Instant::now() > deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    fn passed(&self) -> bool {
        self.quiet
            && usize::try_from(self.fulfilled_once).ok() == Some(self.orders)
            && self.fulfilled_more == 0
            && usize::try_from(self.refunded_once).ok() == Some(self.refunds)
            && self.refunded_more == 0
            && self.dead_letters == 0
            && self.differing.is_empty()
    }

    fn describe(&self) -> String {
        let mut text = format!(
            "followers caught up within {} s: {}\n\
             orders acknowledged {}: fulfilled once {}, more than once {}\n\
             refunds approved {}: completed once {}, more than once {}\n\
             dead letters: {}\n\
             read models against a rebuild from the first event: {} of {} tables differ ({} rows live)\n",
            QUIET_WITHIN.as_secs(),
            if self.quiet { "yes" } else { "NO" },
            self.orders,
            self.fulfilled_once,
            self.fulfilled_more,
            self.refunds,
            self.refunded_once,
            self.refunded_more,
            self.dead_letters,
            self.differing.len(),
            self.tables,
            self.rows
        );
        for (table, live, rebuilt) in &self.differing {
            text.push_str(&format!("  {table}: {live} rows live, {rebuilt} rebuilt\n"));
        }
        text
    }
}

/// A digest of a table's rows in `schema`, in a fixed order, and its row count.
async fn table_digest(client: &deadpool_postgres::Client, schema: &str, table: &str) -> Result<(String, i64), Error> {
    let row = client
        .query_one(
            &format!(
                "SELECT md5(COALESCE(string_agg(row_to_json(t)::text, E'\\n' ORDER BY row_to_json(t)::text), '')), \
                 count(*) FROM \"{schema}\".\"{table}\" t"
            ),
            &[],
        )
        .await
        .map_err(checking(&format!("{schema}.{table}")))?;
    Ok((row.get(0), row.get(1)))
}

/// An error of a check's statement, with the database's own words.
fn checking(what: &str) -> impl FnOnce(tokio_postgres::Error) -> Error + '_ {
    move |error| {
        let detail = error.as_db_error().map_or_else(|| error.to_string(), |db| db.message().to_owned());
        Error::Config(format!("checking {what}: {detail}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(own: &[u64], backends: &[u64]) -> Vec<Sample> {
        own.iter()
            .zip(backends)
            .map(|(&own_kib, &backends_kib)| Sample { own_kib, backends_kib, connections: 13 })
            .collect()
    }

    #[test]
    fn memory_is_flat_through_a_passing_spike_of_the_backends_but_not_through_growth() {
        let steady = [100; 12];
        let mut spiked = [50; 12];
        spiked[6] = 80;
        assert_eq!(Memory::judge(&minutes(&steady, &spiked)).flat, Some(true), "a spike that passes");

        let mut growing = [100; 12];
        growing[11] = 111;
        assert_eq!(Memory::judge(&minutes(&growing, &[50; 12])).flat, Some(false), "Learnlog held to its peak");

        let mut stays = [50; 12];
        stays[9..].fill(60);
        assert_eq!(Memory::judge(&minutes(&steady, &stays)).flat, Some(false), "a level that stays");

        assert_eq!(Memory::judge(&minutes(&[100], &[50])).flat, None, "a minute has no minute after its warm-up");
    }
}
