//! `learnlog bench append` measures append throughput and p99 latency at several
//! client counts against a baseline measured in the same run: the same INSERT into the same table, one
//! transaction per command, from one connection per client (no lock, no version check, no batching).
//! Runs are interleaved (baseline, ours, baseline, ours, ...) so machine noise hits both alike; the report
//! gives ratios. Both run against a throwaway, durable (fsync on) cluster of their own.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use database::Database;
use event_store::{AppendRequest, ExpectedVersion, PgEventStore};
use events::{CourseCreated, CourseLevel, Event, Metadata, NewEvent};
use tokio_postgres::NoTls;
use uuid::Uuid;

use super::BenchCluster;
use crate::config::Config;
use crate::error::Error;

#[derive(Debug, Clone, clap::Args)]
pub struct AppendOptions {
    /// Concurrent clients, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    pub clients: Vec<usize>,
    /// Length of one run, in seconds.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Baseline/ours pairs per client count.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct RunResult {
    operations: usize,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl RunResult {
    fn merge(&mut self, other: RunResult) {
        self.operations += other.operations;
        self.elapsed += other.elapsed;
        self.latencies_us.extend(other.latencies_us);
    }

    pub(crate) fn per_second(&self) -> f64 {
        self.operations as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    fn p99_ms(&mut self) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        self.latencies_us.sort_unstable();
        let index = (self.latencies_us.len() * 99).div_ceil(100).saturating_sub(1);
        f64::from(self.latencies_us[index]) / 1000.0
    }
}

pub async fn append(config: &Config, options: &AppendOptions) -> Result<String, Error> {
    let bench = BenchCluster::start().await?;
    let result = run_all(&bench, config, options).await;
    bench.stop().await?;
    result
}

async fn run_all(bench: &BenchCluster, config: &Config, options: &AppendOptions) -> Result<String, Error> {
    let ours = PgEventStore::start(Database::connect(&bench.database("bench_ours", None).await?, config.pool_size)?);
    let baseline_url = bench.database_for_raw_inserts("bench_baseline").await?;
    let run_for = Duration::from_secs_f64(options.seconds.max(0.1));
    let baseline_position = Arc::new(AtomicI64::new(0));

    let mut report = String::from(
        "append benchmark (one event per command; same table, same INSERT)\n\
         clients | baseline ops/s | baseline p99 ms | learnlog ops/s | learnlog p99 ms | throughput ratio | p99 ratio\n",
    );
    for &clients in &options.clients {
        let clients = clients.max(1);
        let mut base = RunResult::default();
        let mut mine = RunResult::default();
        for _ in 0..options.rounds.max(1) {
            base.merge(baseline_run(&baseline_url, clients, run_for, &baseline_position).await?);
            mine.merge(learnlog_run(&ours, clients, run_for).await);
        }
        let (base_p99, mine_p99) = (base.p99_ms(), mine.p99_ms());
        report.push_str(&format!(
            "{clients:>7} | {:>14.0} | {base_p99:>15.2} | {:>14.0} | {mine_p99:>15.2} | {:>15.2}x | {:>8.2}x\n",
            base.per_second(),
            mine.per_second(),
            mine.per_second() / base.per_second().max(f64::EPSILON),
            mine_p99 / base_p99.max(f64::EPSILON),
        ));
    }
    report.push_str(&format!("peak resident memory of this process: {} MiB\n", peak_memory_mib()));
    Ok(report)
}

pub(crate) fn sample_event() -> NewEvent {
    let event = Event::CourseCreated(CourseCreated {
        course_id: Uuid::now_v7(),
        instructor_id: Uuid::now_v7(),
        title: "Rust for web services".into(),
        summary: "Build and run HTTP services with axum, tokio and PostgreSQL, from the first route to production."
            .into(),
        category: "Web Development".into(),
        subcategories: vec!["Backend".into()],
        level: CourseLevel::Intermediate,
        language: "English".into(),
        base_price_cents: 1999,
        description: String::new(),
        preview_video_url: None,
        outline: Vec::new(),
        keywords: Vec::new(),
        captions: Vec::new(),
    });
    NewEvent::new(&event, Metadata::default(), time::OffsetDateTime::now_utc())
}

pub(crate) async fn learnlog_run(store: &PgEventStore, clients: usize, run_for: Duration) -> RunResult {
    let deadline = Instant::now() + run_for;
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let stream_id = format!("bench-{}", Uuid::now_v7());
                let mut result = RunResult::default();
                let mut version = 0;
                while Instant::now() < deadline {
                    let expected =
                        if version == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(version) };
                    let request = AppendRequest {
                        stream_id: stream_id.clone(),
                        expected,
                        events: vec![sample_event()],
                        idempotency: None,
                        side_writes: Vec::new(),
                        guards: Vec::new(),
                    };
                    let begun = Instant::now();
                    if store.append(request).await.is_ok() {
                        version += 1;
                        result.operations += 1;
                        result.latencies_us.push(micros(begun.elapsed()));
                    }
                }
                result
            })
        })
        .collect();
    collect(tasks, started).await
}

async fn baseline_run(
    url: &str,
    clients: usize,
    run_for: Duration,
    position: &Arc<AtomicI64>,
) -> Result<RunResult, Error> {
    let mut connections = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(connection);
        connections.push(client);
    }
    let deadline = Instant::now() + run_for;
    let started = Instant::now();
    let tasks: Vec<_> = connections
        .into_iter()
        .map(|client| {
            let position = Arc::clone(position);
            tokio::spawn(async move {
                let mut result = RunResult::default();
                let Ok(statement) = client
                    .prepare(
                        "INSERT INTO events (position, stream_id, stream_version, event_id, event_type, schema_version, \
                         payload, metadata, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7::text::json, $8::text::json, $9)",
                    )
                    .await
                else {
                    return result;
                };
                let stream_id = format!("bench-{}", Uuid::now_v7());
                let mut version = 0_i64;
                while Instant::now() < deadline {
                    let event = sample_event();
                    let metadata = serde_json::to_string(&event.metadata).unwrap_or_default();
                    let next = position.fetch_add(1, Ordering::Relaxed) + 1;
                    let begun = Instant::now();
                    let inserted = client
                        .execute(
                            &statement,
                            &[
                                &next,
                                &stream_id,
                                &(version + 1),
                                &event.event_id,
                                &event.event_type,
                                &event.schema_version,
                                &event.payload,
                                &metadata,
                                &event.occurred_at,
                            ],
                        )
                        .await;
                    if inserted.is_ok() {
                        version += 1;
                        result.operations += 1;
                        result.latencies_us.push(micros(begun.elapsed()));
                    }
                }
                result
            })
        })
        .collect();
    Ok(collect(tasks, started).await)
}

async fn collect(tasks: Vec<tokio::task::JoinHandle<RunResult>>, started: Instant) -> RunResult {
    let mut total = RunResult::default();
    for task in tasks {
        if let Ok(result) = task.await {
            total.operations += result.operations;
            total.latencies_us.extend(result.latencies_us);
        }
    }
    total.elapsed = started.elapsed();
    total
}

fn micros(duration: Duration) -> u32 {
    u32::try_from(duration.as_micros()).unwrap_or(u32::MAX)
}

/// VmHWM of this process, from /proc.
fn peak_memory_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib / 1024)
}
