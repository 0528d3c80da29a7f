//! `learnlog bench checkout`: wallet orders end to end through HTTP, from `POST /orders` until the course
//! shows in `GET /me/enrollments/{course}` (read with the order's consistency token), with every role of
//! `learnlog up` but the mailer and the sandbox in this process. Each client is a trainee who puts a course
//! into the cart and orders it, again and again. The baseline is `bench append`'s raw append rate at the same
//! client count, measured in the same run, divided by the events one order appends (counted, not assumed):
//! the ratio says how close a whole checkout comes to the store's own speed. Three cases: courses of 16
//! instructors; every course of one instructor; and wallets and an instructor's earnings with a long history.

use std::time::{Duration, Instant};

use api_contract::TokenKeys;
use database::Database;
use event_store::{AppendRequest, ExpectedVersion, PgEventStore};
use events::commerce::{CreditReason, InstructorEarningRecorded, WalletCredited};
use events::{Event, Metadata, NewEvent, Role as UserRole};
use serde_json::{Value, json};
use uuid::Uuid;

use super::append::learnlog_run;
use super::{BenchApp, BenchCluster, percentiles_ms};
use crate::config::Config;
use crate::error::Error;

#[derive(Debug, Clone, clap::Args)]
pub struct CheckoutOptions {
    /// Concurrent clients, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    pub clients: Vec<usize>,
    /// Length of each run, in seconds.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Entries already in each wallet and in one instructor's earnings, for the long-history case.
    #[arg(long, default_value_t = 100_000)]
    pub history: usize,
    /// Also profile the SQL of each case's run with the most clients (pg_stat_statements), printed after the
    /// table. The counting costs a little: compare ratios of runs without it.
    #[arg(long)]
    pub statements: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Fresh,
    OneInstructor,
    LongHistory,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::Fresh => "fresh",
            Case::OneInstructor => "one instructor",
            Case::LongHistory => "long history",
        }
    }
}

/// Courses on sale per case: more than one client can buy in a run.
const COURSES: usize = 400;

pub(crate) fn failed(error: impl std::fmt::Display) -> Error {
    Error::Demo(error.to_string())
}

pub async fn checkout(config: &Config, options: &CheckoutOptions) -> Result<String, Error> {
    let bench = BenchCluster::start_profiled(options.statements).await?;
    let result = run_all(&bench, config, options).await;
    bench.stop().await?;
    result
}

async fn run_all(bench: &BenchCluster, config: &Config, options: &CheckoutOptions) -> Result<String, Error> {
    let max_clients = options.clients.iter().copied().max().unwrap_or(1).max(1);
    let appends = PgEventStore::start(Database::connect(&bench.database("bench_appends", None).await?, max_clients)?);
    let run_for = Duration::from_secs_f64(options.seconds.max(0.1));
    let mut report = String::from(
        "wallet checkout, POST /orders until the enrolment is readable; baseline: raw appends per second / events per order\n\
         case           | clients | orders/s | p50 ms | p99 ms | events/order | appends/s | ratio\n",
    );
    let mut append_rates = std::collections::HashMap::new();
    let mut profiles = String::new();
    for (n, case) in [Case::Fresh, Case::OneInstructor, Case::LongHistory].into_iter().enumerate() {
        let url = bench.database(&format!("bench_checkout_{n}"), None).await?;
        let app = BenchApp::start(config, &url, max_clients).await?;
        let shop = Shop::open(&app.base, &app.keys, &url, case, max_clients, options.history).await?;
        for &clients in &options.clients {
            let clients = clients.max(1);
            let profiled = options.statements && clients == max_clients;
            if profiled {
                super::statements::reset(&url).await?;
            }
            let before = shop.events().await?;
            let (orders, mut latencies) = shop.run(clients, run_for).await;
            let events = shop.events().await? - before;
            if profiled {
                let title = format!("\n{}, {clients} clients, {orders} orders", case.name());
                profiles.push_str(&super::statements::top(&url, &title, 15).await?);
            }
            let rate = orders as f64 / run_for.as_secs_f64();
            let per_order = events as f64 / (orders.max(1) as f64);
            let append_rate = match append_rates.get(&clients) {
                Some(rate) => *rate,
                None => {
                    let rate = learnlog_run(&appends, clients, run_for).await.per_second();
                    append_rates.insert(clients, rate);
                    rate
                }
            };
            let (p50, p99) = percentiles_ms(&mut latencies);
            report.push_str(&format!(
                "{:<14} | {clients:>7} | {rate:>8.1} | {p50:>6.1} | {p99:>6.1} | {per_order:>12.1} | {append_rate:>9.0} | {:>4.2}x\n",
                case.name(),
                rate / (append_rate / per_order.max(1.0)).max(f64::EPSILON),
            ));
        }
        app.stop().await;
    }
    report.push_str(&profiles);
    Ok(report)
}

/// A catalogue and its buyers, ready for a run.
struct Shop {
    base: String,
    http: reqwest::Client,
    store: Database,
    /// Each buyer's token, and the courses they have not bought yet.
    buyers: Vec<(String, std::sync::Mutex<Vec<Uuid>>)>,
}

impl Shop {
    async fn open(
        base: &str,
        keys: &TokenKeys,
        url: &str,
        case: Case,
        buyers: usize,
        history: usize,
    ) -> Result<Shop, Error> {
        let http = reqwest::Client::new();
        let store = Database::connect(url, 4)?;
        let instructors: Vec<(Uuid, String)> = (0..if case == Case::OneInstructor { 1 } else { 16 })
            .map(|_| {
                let id = Uuid::now_v7();
                keys.issue(id, UserRole::Instructor, Duration::from_secs(3600)).map(|token| (id, token))
            })
            .collect::<Result<_, _>>()?;
        let mut courses = Vec::with_capacity(COURSES);
        for n in 0..COURSES {
            let (_, token) = &instructors[n % instructors.len()];
            let id = super::learn::draft_course(&http, base, token, n).await?;
            super::learn::publish(&http, base, token, id).await?;
            courses.push(id);
        }
        let admin = keys.issue(Uuid::now_v7(), UserRole::Admin, Duration::from_secs(3600))?;
        let events = PgEventStore::start(store.clone());
        let mut shop = Vec::with_capacity(buyers);
        for n in 0..buyers {
            let name = format!("buyer{n}");
            let body = json!({ "email": format!("{name}@example.com"), "username": name, "password": "a long password",
                "name": "Buyer", "country": "US" });
            let registered = post(&http, &format!("{base}/api/v1/auth/register"), "", &body).await?;
            let id = registered["data"]["id"]
                .as_str()
                .and_then(|id| Uuid::parse_str(id).ok())
                .ok_or_else(|| failed(&registered))?;
            if case == Case::LongHistory {
                prefill_wallet(&events, id, history).await?;
            }
            let credit = json!({ "amount_cents": 100_000_000, "reason": "Benchmark" });
            post(&http, &format!("{base}/api/v1/admin/wallets/{id}/credits"), &admin, &credit).await?;
            let token = keys.issue(id, UserRole::IndividualTrainee, Duration::from_secs(3600))?;
            shop.push((token, std::sync::Mutex::new(courses.iter().rev().copied().collect())));
        }
        if case == Case::LongHistory {
            prefill_earnings(&events, instructors[0].0, history).await?;
        }
        let shop = Shop { base: base.to_owned(), http, store, buyers: shop };
        shop.wait_projected().await?;
        Ok(shop)
    }

    async fn events(&self) -> Result<i64, Error> {
        let client = self.store.pool().get().await.map_err(failed)?;
        Ok(client.query_one("SELECT COALESCE(max(position), 0) FROM events", &[]).await?.get(0))
    }

    /// Waits until the read models include every event appended so far.
    async fn wait_projected(&self) -> Result<(), Error> {
        let head = self.events().await?;
        while projector::load_checkpoint(&self.store, projector::READ_MODELS).await.map_err(failed)? < head {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// `clients` buyers ordering for `length`: the orders completed and their latencies.
    async fn run(&self, clients: usize, length: Duration) -> (usize, Vec<Duration>) {
        let deadline = Instant::now() + length;
        let loops = self.buyers.iter().take(clients).map(|(token, courses)| async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let Some(course) = courses.lock().ok().and_then(|mut left| left.pop()) else { break };
                if let Some(latency) = self.buy(token, course).await {
                    latencies.push(latency);
                }
            }
            latencies
        });
        let latencies: Vec<Duration> = futures_util::future::join_all(loops).await.into_iter().flatten().collect();
        (latencies.len(), latencies)
    }

    /// One purchase: the time from the order to the readable enrolment, if it completed.
    async fn buy(&self, token: &str, course: Uuid) -> Option<Duration> {
        let base = &self.base;
        post(&self.http, &format!("{base}/api/v1/cart/items"), token, &json!({ "course_id": course })).await.ok()?;
        let started = Instant::now();
        let order = self
            .http
            .post(format!("{base}/api/v1/orders"))
            .bearer_auth(token)
            .json(&json!({ "method": "wallet" }))
            .send()
            .await
            .ok()?;
        let consistency = order.headers().get("x-consistency-token")?.to_str().ok()?.to_owned();
        if order.status().as_u16() != 201 {
            return None;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let read = self
                .http
                .get(format!("{base}/api/v1/me/enrollments/{course}"))
                .bearer_auth(token)
                .header("x-consistency-token", &consistency)
                .send()
                .await
                .ok()?;
            if read.status().as_u16() == 200 {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        None
    }
}

pub(crate) async fn post(http: &reqwest::Client, url: &str, token: &str, body: &Value) -> Result<Value, Error> {
    send(http, reqwest::Method::POST, url, token, body).await
}

/// Sends `body` to `url` by `method` as `token`'s holder, and returns the answer's JSON; an answer other than
/// a success is an error.
pub(crate) async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: &Value,
) -> Result<Value, Error> {
    let mut request = http.request(method, url);
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    if !body.is_null() {
        request = request.json(body);
    }
    let answer = request.send().await.map_err(failed)?;
    let status = answer.status();
    let body: Value = answer.json().await.map_err(failed)?;
    if !status.is_success() {
        return Err(failed(format!("{url}: {status} {body}")));
    }
    Ok(body)
}

/// Appends `count` one-cent credits to a wallet, a thousand per append.
async fn prefill_wallet(store: &PgEventStore, trainee_id: Uuid, count: usize) -> Result<(), Error> {
    let mut balance = 0;
    for chunk in (0..count).collect::<Vec<_>>().chunks(1000) {
        let events = chunk
            .iter()
            .map(|n| {
                balance += 1;
                Event::WalletCredited(WalletCredited {
                    trainee_id,
                    operation_id: format!("history-{n}"),
                    amount_cents: 1,
                    reason: CreditReason::AdminCredit,
                    note: Some("History".into()),
                    balance_cents: balance,
                })
            })
            .collect::<Vec<_>>();
        append(store, &events::stream::wallet_stream(trainee_id), &events).await?;
    }
    Ok(())
}

/// Records `count` earnings of one instructor, a thousand per order stream.
async fn prefill_earnings(store: &PgEventStore, instructor_id: Uuid, count: usize) -> Result<(), Error> {
    for chunk in (0..count).collect::<Vec<_>>().chunks(1000) {
        let order_id = Uuid::now_v7();
        let events = chunk
            .iter()
            .map(|_| {
                Event::InstructorEarningRecorded(InstructorEarningRecorded {
                    order_id,
                    course_id: Uuid::now_v7(),
                    instructor_id,
                    price_cents: 1999,
                    amount_cents: 1599,
                })
            })
            .collect::<Vec<_>>();
        append(store, &events::stream::order_stream(order_id), &events).await?;
    }
    Ok(())
}

async fn append(store: &PgEventStore, stream_id: &str, events: &[Event]) -> Result<(), Error> {
    let now = time::OffsetDateTime::now_utc();
    let request = AppendRequest {
        stream_id: stream_id.to_owned(),
        expected: ExpectedVersion::Any,
        events: events.iter().map(|event| NewEvent::new(event, Metadata::default(), now)).collect(),
        idempotency: None,
        side_writes: Vec::new(),
        guards: Vec::new(),
    };
    store.append(request).await.map(drop).map_err(failed)
}
