//! Limits are counted where every command API process counts them (PostgreSQL's `rate_limits`): two processes
//! behind one proxy allow what one allows, per client and, where that is the attack, per account or per mailed
//! address. The proxy names the client (`LEARNLOG_TRUSTED_PROXIES`).

use std::time::Duration;

use serde_json::{Value, json};
use tests::TestApp;
use tests::process::LearnlogProcess;

/// One command API in the harness and one more as a process, on the same database, both trusting the proxy at
/// 127.0.0.1, each with the default sign-up limit.
struct TwoApis {
    app: TestApp,
    _process: LearnlogProcess,
    bases: [String; 2],
}

impl TwoApis {
    async fn start() -> TwoApis {
        let app = TestApp::start_behind_proxy("127.0.0.1").await;
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let mut environment = app.process_environment();
        environment.push(("LEARNLOG_TRUSTED_PROXIES", "127.0.0.1".to_owned()));
        let default_sign_ups = command_api::DEFAULT_SIGN_UPS_PER_HOUR.to_string();
        environment.retain(|(name, _)| *name != "LEARNLOG_SIGN_UPS_PER_HOUR");
        environment.push(("LEARNLOG_SIGN_UPS_PER_HOUR", default_sign_ups));
        let pairs: Vec<(&str, &str)> = environment.iter().map(|(name, value)| (*name, value.as_str())).collect();
        let listen = format!("127.0.0.1:{port}");
        let process = LearnlogProcess::serve_on(&["command-api"], &listen, &pairs);
        process.wait_ready(&listen, Duration::from_secs(30)).await;
        let bases = [app.url(""), format!("http://{listen}")];
        TwoApis { app, _process: process, bases }
    }

    /// `POST path` at the `n`th API (taking turns), as the proxy forwards it for `client`.
    async fn post(&self, n: usize, client: &str, path: &str, body: &Value) -> (u16, Value) {
        self.post_with_key(n, client, path, body, None).await
    }

    /// [`TwoApis::post`] with an Idempotency-Key.
    async fn post_with_key(&self, n: usize, client: &str, path: &str, body: &Value, key: Option<&str>) -> (u16, Value) {
        let url = format!("{}{path}", self.bases[n % 2].trim_end_matches('/'));
        let mut request = self.app.http.post(url).header("x-forwarded-for", client).json(body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let answer = request.send().await;
        let answer = answer.expect("the API answers");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }
}

fn sign_up(n: usize) -> Value {
    json!({ "email": format!("person{n}@example.com"), "username": format!("person{n}"),
            "password": "correct horse battery", "name": "Person" })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_command_apis_allow_together_what_one_allows() {
    let apis = TwoApis::start().await;

    // Sign-ups: one client, taking turns between the two processes, gets the hour's 20 and no more.
    let mut first = Value::Null;
    for n in 0..command_api::DEFAULT_SIGN_UPS_PER_HOUR as usize {
        let key = (n == 0).then_some("first sign-up");
        let (status, body) = apis.post_with_key(n, "203.0.113.9", "/api/v1/auth/register", &sign_up(n), key).await;
        assert_eq!(status, 201, "sign-up {n}: {body}");
        if n == 0 {
            first = body;
        }
    }
    let (status, body) = apis.post(0, "203.0.113.9", "/api/v1/auth/register", &sign_up(100)).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")), "{body}");
    let (status, body) = apis.post(1, "203.0.113.9", "/api/v1/auth/register", &sign_up(101)).await;
    assert_eq!(status, 429, "the other process knows it too: {body}");
    let (status, body) = apis.post(1, "203.0.113.10", "/api/v1/auth/register", &sign_up(102)).await;
    assert_eq!(status, 201, "another client is not held back: {body}");
    let retried =
        apis.post_with_key(1, "203.0.113.9", "/api/v1/auth/register", &sign_up(0), Some("first sign-up")).await;
    assert_eq!(retried, (201, first), "a retry of a sign-up that went through is answered as it was, limit or not");

    // Failed logins: one client's five failures, split between the processes, hold it back at both.
    let wrong = json!({ "login": "person0", "password": "a wrong guess" });
    for n in 0..5 {
        assert_eq!(apis.post(n, "198.51.100.7", "/api/v1/auth/login", &wrong).await.0, 401, "failure {n}");
    }
    for n in 0..2 {
        let (status, body) = apis.post(n, "198.51.100.7", "/api/v1/auth/login", &wrong).await;
        assert_eq!(status, 429, "at API {n}: {body}");
    }

    // Guessing one account's password from many addresses: 30 failures in all, then the account is held. Each
    // guess is a password check (slow in a debug build), and the bucket drains one failure every 6 s meanwhile:
    // the guesses go on from new addresses until one is held back, and no more may pass than 30 and what drained.
    let guess = json!({ "login": "person1", "password": "a wrong guess" });
    let started = std::time::Instant::now();
    let mut passed = 0;
    let mut held = None;
    for n in 0..60 {
        let (status, body) = apis.post(n, &format!("192.0.2.{n}"), "/api/v1/auth/login", &guess).await;
        match status {
            401 => passed += 1,
            _ => {
                held = Some((status, body));
                break;
            }
        }
    }
    let drained = started.elapsed().as_secs() / 6 + 1;
    let (status, body) = held.expect("guesses from ever new addresses are held back");
    assert_eq!(status, 429, "the account's failures are counted across addresses and processes: {body}");
    assert!((30..=30 + drained).contains(&passed), "{passed} failures passed; 30 fit, and {drained} drained");

    // Mail to one address at a guest's request: three an hour, whoever asks and wherever.
    let resend = json!({ "email": "person2@example.com" });
    for n in 0..3 {
        let client = format!("192.0.2.{}", 100 + n);
        let (status, body) = apis.post(n, &client, "/api/v1/auth/verify-email/resend", &resend).await;
        assert_eq!(status, 202, "request {n}: {body}");
    }
    let (status, body) = apis.post(1, "192.0.2.199", "/api/v1/auth/verify-email/resend", &resend).await;
    assert_eq!(status, 429, "{body}");
    let (status, body) = apis.post(0, "192.0.2.199", "/api/v1/newsletter/subscriptions", &resend).await;
    assert_eq!(status, 429, "a subscription mails the same address: {body}");

    // The buckets name no address and no account in clear.
    let rows = apis.app.database.count("SELECT count(*) FROM rate_limits").await;
    assert!(rows > 30, "one bucket per client, account and address: {rows}");
    let clear = apis
        .app
        .database
        .count(
            "SELECT count(*) FROM rate_limits WHERE key LIKE '%203.0.113%' OR key LIKE '%192.0.2%' \
             OR key LIKE '%person%' OR key LIKE '%example%'",
        )
        .await;
    assert_eq!(clear, 0, "keys are labels");
}
