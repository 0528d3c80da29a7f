//! `learnlog bench replay`: how fast `learnlog replay` fills a fresh read-model schema from a large store,
//! against a pure-SQL projection of the same events (one `INSERT ... SELECT` over the `events` table into
//! a fresh copy of the same tables, with the same indexes), in the same run, alternating. The store holds
//! course events only, so that the SQL can be written by hand: `--history created`, `CourseCreated` events;
//! `--history lifecycle`, courses created, repriced and published, a third of the events each, so that most
//! events update a row another event made. The replay runs every projection over them, as it does over any
//! history, and must build the same rows as the SQL.

use std::sync::Arc;
use std::time::Instant;

use database::Database;
use event_store::keys::{DataKey, KeyRing};
use projector::replay::{Until, fill};

use super::BenchCluster;
use crate::config::Config;
use crate::error::Error;

#[derive(Debug, Clone, clap::Args)]
pub struct ReplayBenchOptions {
    /// Events in the store.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: i64,
    /// Baseline/replay pairs.
    #[arg(long, default_value_t = 1)]
    pub rounds: usize,
    /// The events in the store.
    #[arg(long, value_enum, default_value_t = History::Created)]
    pub history: History,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum History {
    /// `CourseCreated` only: every event makes a row.
    Created,
    /// Each course created, repriced, then published: two events in three update a row.
    Lifecycle,
}

impl History {
    /// Events per course.
    fn per_course(self) -> i64 {
        match self {
            History::Created => 1,
            History::Lifecycle => 3,
        }
    }
}

/// Makes `count` courses after the `done` first, of `courses` in all: their `CourseCreated` at positions
/// 1..=courses, and in a lifecycle history their price change and publication in the second and third
/// thirds of the store. The payloads are those of version 1, field for field; 500 instructors.
const GENERATE: &str = "WITH courses AS MATERIALIZED (SELECT $1 + g AS n, gen_random_uuid() AS c, \
     ('00000000-0000-7000-8000-' || lpad((g % 500)::text, 12, '0'))::uuid AS i \
     FROM generate_series(1, $2::bigint) g) \
     INSERT INTO events (position, stream_id, stream_version, event_id, event_type, schema_version, payload, \
     metadata, occurred_at) \
     SELECT (k - 1) * $3::bigint + n, 'course-' || c, k, gen_random_uuid(), \
     (ARRAY['CourseCreated', 'CoursePriceChanged', 'CoursePublished'])[k], 1, \
     CASE k WHEN 1 THEN json_build_object('course_id', c, 'instructor_id', i, 'title', 'Course ' || n, \
     'summary', 'A generated course', 'category', 'Web Development', 'subcategories', json_build_array('Backend'), \
     'level', 'beginner', 'language', 'English', 'base_price_cents', 1000 + n % 9000) \
     WHEN 2 THEN json_build_object('course_id', c, 'base_price_cents', 500 + n % 7000) \
     ELSE json_build_object('course_id', c) END, '{}'::json, now() + k * interval '1 minute' \
     FROM courses, generate_series(1, $4::int) k";

/// The pure-SQL projection of either history into `{schema}.catalog_course`.
const PROJECT: &str = "INSERT INTO {schema}.catalog_course (id, instructor_id, title, summary, category, \
     subcategories, level, language, base_price_cents, status, version, created_at, updated_at, published_at, \
     instructor_name) \
     SELECT (c.payload->>'course_id')::uuid, (c.payload->>'instructor_id')::uuid, c.payload->>'title', \
     c.payload->>'summary', c.payload->>'category', ARRAY(SELECT json_array_elements_text(c.payload->'subcategories')), \
     c.payload->>'level', c.payload->>'language', \
     COALESCE(later.price, (c.payload->>'base_price_cents')::bigint), \
     CASE WHEN later.published_at IS NULL THEN 'draft' ELSE 'published' END, later.version, c.occurred_at, \
     later.updated_at, later.published_at, '' \
     FROM events c JOIN (SELECT stream_id, max(stream_version) AS version, max(occurred_at) AS updated_at, \
     (array_agg((payload->>'base_price_cents')::bigint ORDER BY position DESC) \
     FILTER (WHERE event_type = 'CoursePriceChanged'))[1] AS price, \
     max(occurred_at) FILTER (WHERE event_type = 'CoursePublished') AS published_at \
     FROM events GROUP BY stream_id) later USING (stream_id) \
     WHERE c.event_type = 'CourseCreated' ORDER BY c.position";

/// Events generated per statement.
const GENERATE_CHUNK: i64 = 100_000;

pub async fn replay(_config: &Config, options: &ReplayBenchOptions) -> Result<String, Error> {
    let bench = BenchCluster::start().await?;
    let result = run(&bench, options).await;
    bench.stop().await?;
    result
}

fn failed(error: impl std::fmt::Display) -> Error {
    Error::Config(error.to_string())
}

async fn run(bench: &BenchCluster, options: &ReplayBenchOptions) -> Result<String, Error> {
    let url = bench.database_for_raw_inserts("bench_replay").await?;
    let database = Database::connect(&url, 4)?;
    let client = database.connect_single().await?;
    let started = Instant::now();
    let courses = (options.events + options.history.per_course() - 1) / options.history.per_course();
    let mut done = 0;
    while done < courses {
        let count = (GENERATE_CHUNK / options.history.per_course()).min(courses - done);
        let per_course = options.history.per_course() as i32;
        client.execute(GENERATE, &[&done, &count, &courses, &per_course]).await?;
        done += count;
    }
    client.batch_execute("VACUUM ANALYZE events").await?;
    let generated = started.elapsed().as_secs_f64();
    let keyring = KeyRing::new(database.clone(), Arc::new(DataKey::random()));
    let mut lines = vec![format!(
        "{history:?} history: {events} events of {courses} courses generated in {generated:.1} s; rates in events/s",
        history = options.history,
        events = courses * options.history.per_course()
    )];
    lines.push("round | pure SQL | replay | ratio".to_owned());
    let mut ratios = Vec::new();
    for round in 0..options.rounds {
        // The baseline: the same table, made by the same migrations, filled by one statement.
        let baseline = format!("bench_sql_{round}");
        let mut single = database.connect_single().await?;
        migrations::create_read_schema(&mut single, &baseline).await?;
        let started = Instant::now();
        single.execute(&PROJECT.replace("{schema}", &baseline), &[]).await?;
        let events = courses * options.history.per_course();
        let sql_rate = events as f64 / started.elapsed().as_secs_f64();

        let ours = format!("bench_replay_{round}");
        migrations::create_read_schema(&mut single, &ours).await?;
        // As `learnlog replay` fills: the GIN indexes built after the rows, the time counted.
        let started = Instant::now();
        let deferred = migrations::defer_gin_indexes(&single, &ours).await?;
        let filled =
            fill(&database, &database, &keyring, &ours, Until::Head, projector::Selection::ALL, &mut |_, _| {})
                .await
                .map_err(failed)?;
        migrations::build_indexes(&single, deferred).await?;
        let seconds = started.elapsed().as_secs_f64();
        // The same rows, column for column.
        let rows = database.pool().get().await?;
        let same: i64 = rows
            .query_one(
                &format!(
                    "SELECT count(*) FROM {ours}.catalog_course o JOIN {baseline}.catalog_course b USING (id) \
                     WHERE (o.instructor_id, o.title, o.subcategories, o.base_price_cents, o.status, o.version, \
                     o.created_at, o.updated_at, o.published_at) IS NOT DISTINCT FROM (b.instructor_id, b.title, \
                     b.subcategories, b.base_price_cents, b.status, b.version, b.created_at, b.updated_at, \
                     b.published_at)"
                ),
                &[],
            )
            .await?
            .get(0);
        if same != courses || filled.events != events as u64 {
            return Err(Error::Config(format!(
                "the schemas differ: {same} of {courses} courses alike, {} events of {events} replayed",
                filled.events
            )));
        }
        let replay_rate = filled.events as f64 / seconds.max(0.001);
        let ratio = replay_rate / sql_rate;
        ratios.push(ratio);
        lines.push(format!("{round:>5} | {sql_rate:>8.0} | {replay_rate:>6.0} | {ratio:.2}x"));
        for schema in [baseline, ours] {
            migrations::drop_read_schema(&mut single, &schema).await?;
        }
    }
    let mean = ratios.iter().sum::<f64>() / ratios.len().max(1) as f64;
    lines.push(format!("replay / pure SQL: {mean:.2}x (goal 0.5x)"));
    Ok(lines.join("\n"))
}
