//! `learnlog bench learn`: lesson views through HTTP (`POST /enrollments/{course}/lessons/{lesson}/view`, the
//! first view of each lesson, so every view appends one event on the trainee's enrolment stream), with the
//! command API, query API, projector and sagas of `learnlog up` in this process. The baseline is `bench
//! append`'s raw append rate at the same client count (one event per append, one stream per client, version
//! checked), measured in the same run and interleaved with ours: a view is one append, so the ratio says what
//! HTTP, authentication, the state cache, the course's guard and the decider cost on top of the store.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use api_contract::TokenKeys;
use database::Database;
use event_store::PgEventStore;
use events::Role as UserRole;
use serde_json::json;
use uuid::Uuid;

use super::append::learnlog_run;
use super::checkout::{failed, post};
use super::{BenchApp, BenchCluster, percentiles_ms};
use crate::config::Config;
use crate::error::Error;

#[derive(Debug, Clone, clap::Args)]
pub struct LearnOptions {
    /// Concurrent clients, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    pub clients: Vec<usize>,
    /// Length of one run, in seconds.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Baseline/ours pairs per client count.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// Trainees each client views lessons as, one after the other, each enrolled in every course (960
    /// lessons to see). A client that runs out of lessons ends early, and the report says so.
    #[arg(long, default_value_t = 12)]
    pub trainees_per_client: usize,
    /// Also profile the SQL of the views at the most clients (pg_stat_statements), printed after the table.
    /// The counting costs a little: compare ratios of runs without it.
    #[arg(long)]
    pub statements: bool,
}

/// The benchmark's courses: 16 of 3 sections of 20 lessons, the size of a real course.
const COURSES: usize = 16;
const SECTIONS: usize = 3;
const LESSONS_PER_SECTION: usize = 20;

pub async fn learn(config: &Config, options: &LearnOptions) -> Result<String, Error> {
    let bench = BenchCluster::start_profiled(options.statements).await?;
    let result = run_all(&bench, config, options).await;
    bench.stop().await?;
    result
}

async fn run_all(bench: &BenchCluster, config: &Config, options: &LearnOptions) -> Result<String, Error> {
    let max_clients = options.clients.iter().copied().max().unwrap_or(1).max(1);
    let appends = PgEventStore::start(Database::connect(&bench.database("bench_appends", None).await?, max_clients)?);
    let url = bench.database("bench_learn", None).await?;
    let app = BenchApp::start(config, &url, max_clients).await?;
    // Every client count gets clients of its own, so that no run finds its lessons viewed by an earlier one.
    let slots = options.clients.iter().map(|&clients| clients.max(1)).sum();
    let classroom = Classroom::open(&app.base, &app.keys, slots, options.trainees_per_client.max(1)).await;
    let report = match classroom {
        Ok(classroom) => measure(&classroom, &appends, &url, options).await,
        Err(error) => Err(error),
    };
    app.stop().await;
    report
}

async fn measure(
    classroom: &Classroom,
    appends: &PgEventStore,
    url: &str,
    options: &LearnOptions,
) -> Result<String, Error> {
    let max_clients = options.clients.iter().copied().max().unwrap_or(1).max(1);
    let mut profile = String::new();
    let run_for = Duration::from_secs_f64(options.seconds.max(0.1));
    let mut report = String::from(
        "first lesson views through HTTP (one append each); baseline: raw appends per second, same clients\n\
         clients | views/s | p50 ms | p99 ms | appends/s | ratio | refused | ran out\n",
    );
    let mut first_slot = 0;
    for &clients in &options.clients {
        let clients = clients.max(1);
        let slots = first_slot..first_slot + clients;
        first_slot += clients;
        let profiled = options.statements && clients == max_clients;
        if profiled {
            super::statements::reset(url).await?;
        }
        let (mut views, mut appended, mut refused, mut ran_out) = (0, 0.0, 0, false);
        let mut latencies = Vec::new();
        for _ in 0..options.rounds.max(1) {
            appended += learnlog_run(appends, clients, run_for).await.per_second();
            let run = classroom.run(slots.clone(), run_for).await;
            views += run.latencies.len();
            refused += run.refused;
            ran_out |= run.ran_out;
            latencies.extend(run.latencies);
        }
        let rounds = options.rounds.max(1) as f64;
        let rate = views as f64 / (run_for.as_secs_f64() * rounds);
        let append_rate = appended / rounds;
        let (p50, p99) = percentiles_ms(&mut latencies);
        report.push_str(&format!(
            "{clients:>7} | {rate:>7.0} | {p50:>6.1} | {p99:>6.1} | {append_rate:>9.0} | {:>4.2}x | {refused:>7} | {}\n",
            rate / append_rate.max(f64::EPSILON),
            if ran_out { "yes: raise --trainees-per-client" } else { "no" },
        ));
        if profiled {
            let title = format!("\nlesson views, {clients} clients, {views} views");
            profile = super::statements::top(url, &title, 15).await?;
        }
    }
    report.push_str(&profile);
    Ok(report)
}

/// A view to make: a trainee's token, a course and one of its lessons.
type View = (String, Uuid, Uuid);

/// The courses and their trainees, each client with its own queue of views not made yet.
struct Classroom {
    base: String,
    http: reqwest::Client,
    queues: Vec<Mutex<VecDeque<View>>>,
}

struct Run {
    latencies: Vec<Duration>,
    refused: usize,
    /// A client had no lesson left to view before the run ended.
    ran_out: bool,
}

impl Classroom {
    async fn open(base: &str, keys: &TokenKeys, clients: usize, trainees_per_client: usize) -> Result<Self, Error> {
        let http = reqwest::Client::new();
        let instructor = keys.issue(Uuid::now_v7(), UserRole::Instructor, Duration::from_secs(3600))?;
        let mut courses = Vec::with_capacity(COURSES);
        for c in 0..COURSES {
            courses.push(course(&http, base, &instructor, c).await?);
        }
        let admin = keys.issue(Uuid::now_v7(), UserRole::Admin, Duration::from_secs(3600))?;
        let mut queues = Vec::with_capacity(clients);
        for client in 0..clients {
            let mut queue = VecDeque::new();
            for n in 0..trainees_per_client {
                let name = format!("learner{client}x{n}");
                let body = json!({ "email": format!("{name}@example.com"), "username": name,
                    "password": "a long password", "name": "Learner", "country": "US" });
                let trainee = id_of(&post(&http, &format!("{base}/api/v1/auth/register"), "", &body).await?)?;
                let token = keys.issue(trainee, UserRole::IndividualTrainee, Duration::from_secs(3600))?;
                for (course, lessons) in &courses {
                    let grant = json!({ "trainee_id": trainee, "course_id": course });
                    post(&http, &format!("{base}/api/v1/admin/enrollments"), &admin, &grant).await?;
                    queue.extend(lessons.iter().map(|lesson| (token.clone(), *course, *lesson)));
                }
            }
            queues.push(Mutex::new(queue));
        }
        Ok(Classroom { base: base.to_owned(), http, queues })
    }

    /// The clients of `slots` viewing lessons for `length`.
    async fn run(&self, slots: std::ops::Range<usize>, length: Duration) -> Run {
        let deadline = Instant::now() + length;
        let loops = self.queues[slots].iter().map(|queue| async move {
            let (mut latencies, mut refused, mut ran_out) = (Vec::new(), 0, false);
            while Instant::now() < deadline {
                let Some((token, course, lesson)) = queue.lock().ok().and_then(|mut left| left.pop_front()) else {
                    ran_out = true;
                    break;
                };
                let started = Instant::now();
                let url = format!("{}/api/v1/enrollments/{course}/lessons/{lesson}/view", self.base);
                match self.http.post(url).bearer_auth(&token).send().await {
                    Ok(answer) if answer.status().is_success() => latencies.push(started.elapsed()),
                    _ => refused += 1,
                }
            }
            (latencies, refused, ran_out)
        });
        let results = futures_util::future::join_all(loops).await;
        Run {
            refused: results.iter().map(|(_, refused, _)| refused).sum(),
            ran_out: results.iter().any(|(_, _, ran_out)| *ran_out),
            latencies: results.into_iter().flat_map(|(latencies, _, _)| latencies).collect(),
        }
    }
}

/// Draft course number `n` of the instructor behind `instructor`: its id.
pub(crate) async fn draft_course(
    http: &reqwest::Client,
    base: &str,
    instructor: &str,
    n: usize,
) -> Result<Uuid, Error> {
    let body = json!({ "title": format!("Course {n}"), "summary": "A course", "category": "Web Development",
        "subcategories": ["Backend"], "level": "beginner", "price": { "amount_cents": 1999, "currency": "USD" } });
    id_of(&post(http, &format!("{base}/api/v1/courses"), instructor, &body).await?)
}

/// Publishes `course`.
pub(crate) async fn publish(http: &reqwest::Client, base: &str, instructor: &str, course: Uuid) -> Result<(), Error> {
    post(http, &format!("{base}/api/v1/courses/{course}/publish"), instructor, &serde_json::Value::Null).await?;
    Ok(())
}

/// Published course number `n`, and its lessons.
pub(crate) async fn course(
    http: &reqwest::Client,
    base: &str,
    instructor: &str,
    n: usize,
) -> Result<(Uuid, Vec<Uuid>), Error> {
    let course = draft_course(http, base, instructor, n).await?;
    let mut lessons = Vec::with_capacity(SECTIONS * LESSONS_PER_SECTION);
    for s in 0..SECTIONS {
        let path = format!("{base}/api/v1/courses/{course}/sections");
        let section = id_of(&post(http, &path, instructor, &json!({ "title": format!("Part {s}") })).await?)?;
        for l in 0..LESSONS_PER_SECTION {
            let body = json!({ "title": format!("Lesson {s}.{l}"), "video_url": "https://youtu.be/dQw4w9WgXcQ",
                "duration_min": 5 });
            let path = format!("{base}/api/v1/courses/{course}/sections/{section}/lessons");
            lessons.push(id_of(&post(http, &path, instructor, &body).await?)?);
        }
    }
    publish(http, base, instructor, course).await?;
    Ok((course, lessons))
}

pub(crate) fn id_of(answer: &serde_json::Value) -> Result<Uuid, Error> {
    answer["data"]["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()).ok_or_else(|| failed(answer))
}
