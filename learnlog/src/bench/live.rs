//! `learnlog bench live`: many open live streams (`GET /api/v1/me/live`) on one query API, a process of its own
//! (`learnlog serve --role query-api`, started by this one), with its resident memory before any opens, with
//! them open, and after a message was pushed to each; and how long a message takes to reach its streams once
//! its command answered, against the baseline of the same wait a polling client makes: a read of the
//! conversation that waits for the message's consistency token.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{BenchApp, BenchCluster, percentiles_ms};
use crate::config::Config;
use crate::error::Error;

#[derive(Debug, Clone, clap::Args)]
pub struct LiveOptions {
    /// Streams to open.
    #[arg(long, default_value_t = 1000)]
    pub streams: usize,
    /// Streams per user (a user's tabs and devices; at most 8).
    #[arg(long, default_value_t = 8)]
    pub per_user: usize,
}

/// The resident memory of process `pid`, in KiB.
fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

pub async fn live(config: &Config, options: &LiveOptions) -> Result<String, Error> {
    let per_user = options.per_user.clamp(1, query_api::STREAMS_PER_USER);
    let users = options.streams.div_ceil(per_user).max(1);
    let bench = BenchCluster::start().await?;
    let url = bench.database("bench_live", None).await?;
    let app = BenchApp::start(config, &url, 16).await?;
    let folder = std::env::temp_dir().join(format!("learnlog-bench-live-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&folder)?;
    let address = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--role", "query-api", "--listen", &address.to_string()])
        .env("DATABASE_URL", &url)
        .env("LEARNLOG_JWT_SECRET", secrecy::ExposeSecret::expose_secret(&app.secret))
        .env("LEARNLOG_DATA_DIR", &folder)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let measured = measure(&app, &format!("http://{address}"), child.id().unwrap_or(0), users, per_user).await;
    let _ = child.kill().await;
    app.stop().await;
    bench.stop().await?;
    let _ = std::fs::remove_dir_all(&folder);
    measured
}

async fn measure(app: &BenchApp, query_api: &str, pid: u32, users: usize, per_user: usize) -> Result<String, Error> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !http.get(format!("{query_api}/readyz")).send().await.is_ok_and(|answer| answer.status().is_success()) {
        if Instant::now() > deadline {
            return Err(Error::Config("the query API process never got ready".into()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let admin = app.keys.issue(Uuid::now_v7(), events::Role::Admin, Duration::from_secs(3600))?;
    let mut people = Vec::with_capacity(users);
    for n in 0..users {
        let body = json!({ "email": format!("live{n}@example.com"), "username": format!("live{n}"),
                           "password": "a long password", "name": format!("Live {n}") });
        let answer = http.post(format!("{}/api/v1/auth/register", app.base)).json(&body).send().await?;
        let answer: serde_json::Value = answer.error_for_status()?.json().await?;
        let id: Uuid =
            answer["data"]["id"].as_str().and_then(|id| id.parse().ok()).ok_or(Error::Config("an id".into()))?;
        people.push((id, app.keys.issue(id, events::Role::IndividualTrainee, Duration::from_secs(3600))?));
    }
    // Warm: every route the measurement uses, once.
    for _ in 0..20 {
        let _ = http.get(format!("{query_api}/api/v1/me/conversations")).bearer_auth(&people[0].1).send().await?;
    }
    let idle = resident_kib(pid);

    // Every stream forwards the arrival of each message event: (user, when).
    let (arrived, mut arrivals) = mpsc::unbounded_channel::<(usize, Instant)>();
    let opened_at = Instant::now();
    let mut readers = Vec::new();
    for (index, (_, token)) in people.iter().enumerate() {
        for _ in 0..per_user {
            let mut response = http.get(format!("{query_api}/api/v1/me/live")).bearer_auth(token).send().await?;
            if !response.status().is_success() {
                return Err(Error::Config(format!("a stream was refused: {}", response.status())));
            }
            let arrived = arrived.clone();
            let (ready, is_ready) = tokio::sync::oneshot::channel::<()>();
            readers.push(tokio::spawn(async move {
                let mut ready = Some(ready);
                let mut text = String::new();
                while let Ok(Some(chunk)) = response.chunk().await {
                    text.push_str(&String::from_utf8_lossy(&chunk));
                    while let Some(end) = text.find("\n\n") {
                        let event: String = text.drain(..end + 2).collect();
                        if event.contains("event: ready") {
                            ready.take().map(|ready| ready.send(()));
                        } else if event.contains("event: message") {
                            let _ = arrived.send((index, Instant::now()));
                        }
                    }
                }
            }));
            is_ready.await.map_err(|_| Error::Config("a stream closed before it was ready".into()))?;
        }
    }
    let opening = opened_at.elapsed();
    let streams = users * per_user;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let open = resident_kib(pid);

    // One message to each user: pushed to their streams, then the baseline read that waits for another.
    let mut pushed = Vec::with_capacity(streams);
    let mut waited = Vec::with_capacity(users);
    for (index, (id, token)) in people.iter().enumerate() {
        let path = format!("{}/api/v1/me/conversations/{id}/messages", app.base);
        let sent = http.post(&path).bearer_auth(&admin).json(&json!({ "text": "Pushed" })).send().await?;
        let answered = Instant::now();
        sent.error_for_status()?;
        let mut reached = 0;
        while reached < per_user {
            let arrival = tokio::time::timeout(Duration::from_secs(10), arrivals.recv()).await;
            let Ok(Some((user, at))) = arrival else {
                return Err(Error::Config("a pushed message did not reach its stream within 10 s".into()));
            };
            if user == index {
                pushed.push(at.saturating_duration_since(answered));
                reached += 1;
            }
        }
        let sent = http.post(&path).bearer_auth(&admin).json(&json!({ "text": "Polled" })).send().await?;
        let answered = Instant::now();
        let consistency = sent.headers().get("x-consistency-token").cloned();
        sent.error_for_status()?;
        let mut read = http.get(format!("{query_api}/api/v1/me/conversations")).bearer_auth(token);
        if let Some(consistency) = consistency {
            read = read.header("x-consistency-token", consistency);
        }
        read.send().await?.error_for_status()?;
        waited.push(answered.elapsed());
    }
    let after = resident_kib(pid);
    for reader in &readers {
        reader.abort();
    }

    let (push_p50, push_p99) = percentiles_ms(&mut pushed);
    let (wait_p50, wait_p99) = percentiles_ms(&mut waited);
    let per_stream = open.saturating_sub(idle) as f64 / streams as f64;
    let ratio = if push_p50 > 0.0 { wait_p50 / push_p50 } else { 0.0 };
    Ok(format!(
        "learnlog bench live: {streams} streams ({users} users x {per_user}) on one query API process\n\
         opened in {:.1} s\n\
         resident memory of the query API: {:.1} MiB with none open, {:.1} MiB with {streams} open \
         ({per_stream:.1} KiB a stream), {:.1} MiB after a message pushed to each\n\
         a message reaches its streams after its command answered: p50 {push_p50:.1} ms, p99 {push_p99:.1} ms\n\
         baseline, a read waiting for its consistency token: p50 {wait_p50:.1} ms, p99 {wait_p99:.1} ms\n\
         ratio (baseline p50 / push p50): {ratio:.2}x\n",
        opening.as_secs_f64(),
        idle as f64 / 1024.0,
        open as f64 / 1024.0,
        after as f64 / 1024.0,
    ))
}
