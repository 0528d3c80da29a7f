//! `learnlog bench replay`: how fast `learnlog replay` fills a fresh read-model schema from a large store,
//! against a pure-SQL projection of the same events (one `INSERT ... SELECT` over the `events` table into
//! a fresh copy of the same tables, with the same indexes), in the same run, alternating. The store holds
//! `CourseCreated` events only, so that the SQL can be written by hand; the replay runs every projection
//! over them, as it does over any history.

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
}

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
    let url = bench.database("bench_replay", None).await?;
    let database = Database::connect(&url, 4)?;
    let client = database.connect_single().await?;
    let started = Instant::now();
    let mut written = 0;
    while written < options.events {
        let count = GENERATE_CHUNK.min(options.events - written);
        // The payload of CourseCreated v1, field for field; 500 instructors.
        client
            .execute(
                "INSERT INTO events (position, stream_id, stream_version, event_id, event_type, schema_version, \
                 payload, metadata, occurred_at) \
                 SELECT $1 + g, 'course-' || c, 1, gen_random_uuid(), 'CourseCreated', 1, \
                 json_build_object('course_id', c, 'instructor_id', i, 'title', 'Course ' || ($1 + g), \
                 'summary', 'A generated course', 'category', 'Web Development', 'subcategories', json_build_array('Backend'), \
                 'level', 'beginner', 'language', 'English', 'base_price_cents', 1000 + g % 9000), '{}'::json, now() \
                 FROM generate_series(1, $2::bigint) g, LATERAL (SELECT gen_random_uuid() AS c, \
                 ('00000000-0000-7000-8000-' || lpad((g % 500)::text, 12, '0'))::uuid AS i) ids",
                &[&written, &count],
            )
            .await?;
        written += count;
    }
    client.batch_execute("VACUUM ANALYZE events").await?;
    let generated = started.elapsed().as_secs_f64();
    let keyring = KeyRing::new(database.clone(), Arc::new(DataKey::random()));
    let mut lines =
        vec![format!("{} CourseCreated events generated in {generated:.1} s; rates in events/s", options.events)];
    lines.push("round | pure SQL | replay | ratio".to_owned());
    let mut ratios = Vec::new();
    for round in 0..options.rounds {
        // The baseline: the same table, made by the same migrations, filled by one statement.
        let baseline = format!("bench_sql_{round}");
        let mut single = database.connect_single().await?;
        migrations::create_read_schema(&mut single, &baseline).await?;
        let started = Instant::now();
        let inserted = single
            .execute(
                &format!(
                    "INSERT INTO {baseline}.catalog_course (id, instructor_id, title, summary, category, subcategories, \
                     level, language, base_price_cents, status, version, created_at, updated_at, instructor_name) \
                     SELECT (payload->>'course_id')::uuid, (payload->>'instructor_id')::uuid, payload->>'title', \
                     payload->>'summary', payload->>'category', \
                     ARRAY(SELECT json_array_elements_text(payload->'subcategories')), payload->>'level', \
                     payload->>'language', (payload->>'base_price_cents')::bigint, 'draft', stream_version, \
                     occurred_at, occurred_at, '' FROM events WHERE event_type = 'CourseCreated' ORDER BY position"
                ),
                &[],
            )
            .await?;
        let sql_rate = inserted as f64 / started.elapsed().as_secs_f64();

        let ours = format!("bench_replay_{round}");
        migrations::create_read_schema(&mut single, &ours).await?;
        let filled =
            fill(&database, &database, &keyring, &ours, Until::Head, projector::Selection::ALL, &mut |_, _| {})
                .await
                .map_err(failed)?;
        let rows = database.pool().get().await?;
        let built: i64 = rows.query_one(&format!("SELECT count(*) FROM {ours}.catalog_course"), &[]).await?.get(0);
        if built != options.events || inserted != options.events as u64 {
            return Err(Error::Config(format!("the schemas differ: {built} and {inserted} of {}", options.events)));
        }
        let replay_rate = filled.events as f64 / filled.seconds.max(0.001);
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
