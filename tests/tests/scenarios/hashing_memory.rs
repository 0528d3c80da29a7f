//! A sign-up flood does not take the memory of a command API: passwords are hashed on a few threads with their
//! argon2 memory kept (command-api `credentials::hashing`), so the process stays small however many sign-ups
//! come, and a flood beyond the queue is told to come back (`503` with `Retry-After`) instead.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use tests::TestApp;
use tests::process::LearnlogProcess;

/// The most a command API may hold after the flood, resident: the bound.
const RESIDENT_LIMIT_KIB: u64 = 200 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_hundred_sign_ups_leave_a_command_api_small() {
    let app = TestApp::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let environment = app.process_environment();
    let pairs: Vec<(&str, &str)> = environment.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let process = LearnlogProcess::serve_on(&["command-api"], &format!("127.0.0.1:{port}"), &pairs);
    let http = reqwest::Client::new();
    process.wait_ready(&format!("127.0.0.1:{port}"), Duration::from_secs(30)).await;
    let (before, _) = process.memory_kib().expect("the process's memory");

    let started = std::time::Instant::now();
    let statuses: Vec<u16> = futures_util::stream::iter(0..400)
        .map(|n| {
            let http = http.clone();
            async move {
                let body = json!({ "email": format!("flood{n}@example.com"), "username": format!("flood{n}"),
                                   "password": "correct horse battery", "name": "Flood" });
                let url = format!("http://127.0.0.1:{port}/api/v1/auth/register");
                http.post(url).json(&body).send().await.map(|answer| answer.status().as_u16()).unwrap_or(0)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let elapsed = started.elapsed();
    // Every sign-up is answered, so no password is hashed any more; the peak covers the whole flood.
    let (resident, peak) = process.memory_kib().expect("the process's memory");
    eprintln!(
        "400 sign-ups, 8 at once, in {elapsed:?}: resident {} MiB before, {} MiB after, peak {} MiB",
        before / 1024,
        resident / 1024,
        peak / 1024
    );
    let created = statuses.iter().filter(|status| **status == 201).count();
    assert_eq!(created, 400, "eight at a time fit the queue: {statuses:?}");
    assert!(resident < RESIDENT_LIMIT_KIB, "resident {} MiB after the flood", resident / 1024);
    assert!(peak < RESIDENT_LIMIT_KIB, "peak {} MiB during the flood", peak / 1024);
}
