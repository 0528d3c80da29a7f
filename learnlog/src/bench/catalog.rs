//! `learnlog bench catalog`: catalogue reads through the query API (HTTP, parsing, the SQL, display prices,
//! ETag) against a baseline that runs the same SQL statements straight on a connection pool of the same
//! size, closed loop, on the demo catalogue (24 instructors, 216 courses) seeded through the command API.
//! The query API keeps public answers in memory while the read models stand still, as it does in service;
//! nothing is written during the runs, so most reads are answered from memory, after one small statement
//! that checks the read models have not moved. The baseline has no such cache.

use std::time::{Duration, Instant};

use api_contract::TokenKeys;
use database::Database;
use secrecy::SecretString;
use tokio::sync::watch;
use uuid::Uuid;

use super::{BenchCluster, percentiles_ms};
use crate::app::{App, Role};
use crate::config::Config;
use crate::error::Error;

#[derive(Debug, Clone, clap::Args)]
pub struct CatalogOptions {
    /// Concurrent clients, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    pub clients: Vec<usize>,
    /// Length of each run, in seconds.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
}

/// One read: its HTTP path, and the statements the query API runs for it (with the course id as `$1`
/// where there is one).
struct Workload {
    name: &'static str,
    path: String,
    statements: Vec<String>,
    with_id: bool,
}

fn workloads(course_id: Uuid) -> Vec<Workload> {
    let select = query_api::COURSE_SELECT;
    let published = "c.status = 'published' AND c.lesson_count > 0";
    let search = "(c.title ILIKE '%manage%' OR c.instructor_name ILIKE '%manage%')";
    vec![
        Workload {
            name: "newest page",
            path: "/api/v1/courses".into(),
            statements: vec![
                format!("SELECT count(*) FROM catalog_course c WHERE {published}"),
                format!("{select} WHERE {published} ORDER BY c.published_at DESC, c.id LIMIT 12 OFFSET 0"),
            ],
            with_id: false,
        },
        Workload {
            name: "search",
            path: "/api/v1/courses?search=manage".into(),
            statements: vec![
                format!("SELECT count(*) FROM catalog_course c WHERE {published} AND {search}"),
                format!(
                    "{select} WHERE {published} AND {search} ORDER BY (c.title ILIKE 'manage%') DESC, \
                     (c.title ILIKE '%manage%') DESC, word_similarity('manage', c.title) DESC, \
                     c.published_at DESC, c.id LIMIT 12 OFFSET 0"
                ),
            ],
            with_id: false,
        },
        Workload {
            name: "course page",
            path: format!("/api/v1/courses/{course_id}"),
            statements: vec![query_api::PUBLIC_PAGE.to_owned()],
            with_id: true,
        },
    ]
}

pub async fn catalog(config: &Config, options: &CatalogOptions) -> Result<String, Error> {
    let bench = BenchCluster::start().await?;
    let url = bench.database("bench_catalog", None).await?;
    let secret = SecretString::from(format!("{}{}", Uuid::now_v7().simple(), Uuid::now_v7().simple()));
    let max_clients = options.clients.iter().copied().max().unwrap_or(1).max(1);
    let config = Config {
        listen: "127.0.0.1:0".parse().map_err(|_| Error::Config("listen address".into()))?,
        jwt_secret: Some(secret.clone()),
        kafka: None,
        pool_size: max_clients,
        ..config.clone()
    };
    // No payment sandbox: these benchmarks place no card orders.
    let roles: Vec<Role> =
        Role::everything(&config).into_iter().filter(|role| *role != Role::PaymentsSandbox).collect();
    let app = App::build(&config, &url.as_str().into(), &roles).await?;
    let base = format!("http://{}", app.local_addr()?);
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(app.run(async move {
        let mut stopped = stopped;
        let _ = stopped.wait_for(|stop| *stop).await;
    }));
    crate::demo::seed(&base, &TokenKeys::new(&secret)?).await?;
    let http = reqwest::Client::new();
    let page: serde_json::Value = http
        .get(format!("{base}/api/v1/courses?limit=1"))
        .send()
        .await
        .map_err(|e| Error::Demo(e.to_string()))?
        .json()
        .await
        .map_err(|e| Error::Demo(e.to_string()))?;
    let course_id = page["data"][0]["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()).unwrap_or_default();
    let database = Database::connect(&url, max_clients)?;
    let mut report = String::from(
        "catalogue reads, closed loop, demo catalogue (216 courses)\n\
         read        | clients | baseline SQL/s | learnlog/s | ratio | p99 baseline ms | p99 learnlog ms\n",
    );
    for workload in workloads(course_id) {
        for &clients in &options.clients {
            let seconds = Duration::from_secs_f64(options.seconds.max(0.1));
            let (sql_rate, mut sql_latency) = run(clients, seconds, || sql(&database, &workload, course_id)).await;
            let (http_rate, mut http_latency) =
                run(clients, seconds, || read(&http, format!("{base}{}", workload.path))).await;
            let (_, sql_p99) = percentiles_ms(&mut sql_latency);
            let (_, http_p99) = percentiles_ms(&mut http_latency);
            report.push_str(&format!(
                "{:<11} | {clients:>7} | {sql_rate:>14.0} | {http_rate:>10.0} | {:>4.2}x | {sql_p99:>15.2} | {http_p99:>15.2}\n",
                workload.name,
                http_rate / sql_rate.max(1.0),
            ));
        }
    }
    let _ = stop.send(true);
    let _ = running.await;
    bench.stop().await?;
    Ok(report)
}

/// `clients` loops calling `once` for `length`: completed calls per second and every latency.
async fn run<F, Fut>(clients: usize, length: Duration, once: F) -> (f64, Vec<Duration>)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + length;
    let loops = (0..clients.max(1)).map(|_| async {
        let mut latencies = Vec::new();
        while Instant::now() < deadline {
            let started = Instant::now();
            if once().await {
                latencies.push(started.elapsed());
            }
        }
        latencies
    });
    let started = Instant::now();
    let latencies: Vec<Duration> = futures_util::future::join_all(loops).await.into_iter().flatten().collect();
    (latencies.len() as f64 / started.elapsed().as_secs_f64(), latencies)
}

async fn sql(database: &Database, workload: &Workload, course_id: Uuid) -> bool {
    let Ok(client) = database.pool().get().await else { return false };
    for statement in &workload.statements {
        let result = match workload.with_id {
            true => client.query(statement.as_str(), &[&course_id]).await,
            false => client.query(statement.as_str(), &[]).await,
        };
        if result.is_err() {
            return false;
        }
    }
    true
}

async fn read(http: &reqwest::Client, url: String) -> bool {
    match http.get(url).send().await {
        Ok(answer) => answer.status().is_success() && answer.bytes().await.is_ok(),
        Err(_) => false,
    }
}
