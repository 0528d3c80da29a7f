//! A steady mix of what a marketplace's clients do, through one base URL (a balancer, in `learnlog bench
//! cluster` and the fault scenario): anonymous catalogue reads, a trainee's own reads, sign-ups, wallet orders
//! and lesson views. Every command carries an `Idempotency-Key` and is sent again, with the same key, when it
//! gets no answer, `5xx`, `408`, `429` or a lost race (`409 conflict`), for up to 30 s, as a careful client
//! does. Reads are sent once: a failed read is counted, so a balancer's own retries are what keep it at zero.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use api_contract::TokenKeys;
use events::Role as UserRole;
use serde_json::{Value, json};
use uuid::Uuid;

use super::checkout::post;
use super::learn::{course, draft_course, id_of, publish};
use crate::error::Error;

/// How long a client keeps sending one command again.
const PATIENCE: Duration = Duration::from_secs(30);
const RETRY_AFTER: Duration = Duration::from_millis(250);
/// How long the clients' tokens last: longer than a soak.
const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Failures kept word for word in a report.
const KEPT_FAILURES: usize = 20;

/// The clients' world: a course with lessons every trainee may watch, courses to buy, and trainees with
/// money in their wallets.
#[derive(Debug)]
pub struct Mix {
    base: String,
    http: reqwest::Client,
    /// A browser's requests to the checkout page: a redirect back to the frontend is where it stops.
    browser: reqwest::Client,
    lessons: (Uuid, Vec<Uuid>),
    trainees: Vec<Trainee>,
    /// Approves refunds.
    admin: String,
    /// Names sign-ups apart from earlier runs.
    tag: String,
    sign_ups: AtomicUsize,
}

#[derive(Debug)]
struct Trainee {
    token: String,
    /// Courses this trainee has not ordered yet.
    unbought: Mutex<Vec<Uuid>>,
    /// Courses this trainee ordered and has not asked to refund.
    bought: Mutex<Vec<Uuid>>,
    /// The consistency token of the trainee's last exam command: the exam page is read as of it, as a
    /// frontend reads its own writes.
    exam_token: Mutex<Option<String>>,
}

/// What the clients saw.
#[derive(Debug, Default)]
pub struct MixReport {
    pub reads: u64,
    pub failed_reads: u64,
    pub commands: u64,
    /// Sends of a command after its first.
    pub resent: u64,
    /// Commands that got no success within their patience, or a refusal.
    pub failed_commands: u64,
    pub failures: Vec<String>,
    /// What was acknowledged: the accounts signed up, the orders placed, the lesson views recorded.
    pub signed_up: Vec<Uuid>,
    pub orders: Vec<Uuid>,
    /// The refunds asked for and approved.
    pub refunds: Vec<Uuid>,
    pub views: u64,
    pub reviews: u64,
    /// Exam attempts and reveals of the answers.
    pub exams: u64,
    /// Latencies by kind of request, from the first send to the success.
    pub latencies: BTreeMap<&'static str, Vec<Duration>>,
}

impl MixReport {
    fn merge(&mut self, other: MixReport) {
        self.reads += other.reads;
        self.failed_reads += other.failed_reads;
        self.commands += other.commands;
        self.resent += other.resent;
        self.failed_commands += other.failed_commands;
        for failure in other.failures {
            if self.failures.len() < KEPT_FAILURES {
                self.failures.push(failure);
            }
        }
        self.signed_up.extend(other.signed_up);
        self.orders.extend(other.orders);
        self.refunds.extend(other.refunds);
        self.views += other.views;
        self.reviews += other.reviews;
        self.exams += other.exams;
        for (kind, mut latencies) in other.latencies {
            self.latencies.entry(kind).or_default().append(&mut latencies);
        }
    }

    fn fail(&mut self, what: String) {
        if self.failures.len() < KEPT_FAILURES {
            self.failures.push(what);
        }
    }

    /// One line per kind: count and p99 in milliseconds.
    pub fn summary(&self) -> String {
        let mut lines = Vec::new();
        for (kind, latencies) in &self.latencies {
            let (_, p99) = super::percentiles_ms(&mut latencies.clone());
            lines.push(format!("{kind}: {} done, p99 {p99:.1} ms", latencies.len()));
        }
        lines.push(format!(
            "reads {} (failed {}), commands {} (resent {}, failed {}), sign-ups {}, orders {}, refunds {}, views {}, \
             reviews {}, exams {}",
            self.reads,
            self.failed_reads,
            self.commands,
            self.resent,
            self.failed_commands,
            self.signed_up.len(),
            self.orders.len(),
            self.refunds.len(),
            self.views,
            self.reviews,
            self.exams
        ));
        lines.join("\n")
    }
}

/// What one client does next, in turn.
pub const TURNS: &[&str] = &["catalogue", "my courses", "catalogue", "lesson view", "order", "sign-up"];

/// The whole journey, for a soak: the same, with orders by card too (the checkout page loaded and the test
/// card paid on it, as a browser does; the provider's webhook then marks the order paid), reviews, refunds
/// (of a course bought earlier, approved by an admin; the refund saga then credits the wallet, claws the
/// earning back and revokes the access) and the exam of the course with lessons (three attempts, then the
/// answers revealed, then only its page read).
pub const JOURNEY: &[&str] = &[
    "catalogue",
    "my courses",
    "catalogue",
    "lesson view",
    "order",
    "sign-up",
    "review",
    "card order",
    "refund",
    "exam",
];

/// The exam of the course with lessons: two questions of two options each.
fn exam() -> Value {
    let question = |n: usize| json!({ "question": format!("Question {n}"), "options": ["Yes", "No"], "answer": "Yes" });
    json!({ "questions": [question(1), question(2)] })
}

impl Mix {
    /// Sets the world up through `base`, with tokens signed by `keys`: `trainees` trainees (each a client of
    /// its own) and `courses` courses to buy.
    pub async fn prepare(base: &str, keys: &TokenKeys, trainees: usize, courses: usize) -> Result<Mix, Error> {
        let http = reqwest::Client::new();
        let base = base.trim_end_matches('/').to_owned();
        let tag = Uuid::now_v7().simple().to_string()[20..].to_owned();
        let instructor = keys.issue(Uuid::now_v7(), UserRole::Instructor, TOKEN_LIFETIME)?;
        let admin = keys.issue(Uuid::now_v7(), UserRole::Admin, TOKEN_LIFETIME)?;
        let lessons = course(&http, &base, &instructor, 0).await?;
        let exam_url = format!("{base}/api/v1/courses/{}/exam", lessons.0);
        super::checkout::send(&http, reqwest::Method::PUT, &exam_url, &instructor, &exam()).await?;
        let mut catalogue = Vec::with_capacity(courses);
        for n in 1..=courses {
            let id = draft_course(&http, &base, &instructor, n).await?;
            publish(&http, &base, &instructor, id).await?;
            catalogue.push(id);
        }
        let mut people = Vec::with_capacity(trainees);
        for n in 0..trainees {
            let name = format!("mix{tag}t{n}");
            let body = json!({ "email": format!("{name}@example.com"), "username": name,
                "password": "a long password", "name": "Trainee", "country": "US" });
            let id = id_of(&post(&http, &format!("{base}/api/v1/auth/register"), "", &body).await?)?;
            let credit = json!({ "amount_cents": 100_000_000, "reason": "Load" });
            post(&http, &format!("{base}/api/v1/admin/wallets/{id}/credits"), &admin, &credit).await?;
            let grant = json!({ "trainee_id": id, "course_id": lessons.0 });
            post(&http, &format!("{base}/api/v1/admin/enrollments"), &admin, &grant).await?;
            let token = keys.issue(id, UserRole::IndividualTrainee, TOKEN_LIFETIME)?;
            people.push(Trainee {
                token,
                unbought: Mutex::new(catalogue.clone()),
                bought: Mutex::default(),
                exam_token: Mutex::default(),
            });
        }
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(super::checkout::failed)?;
        Ok(Mix { base, http, browser, lessons, trainees: people, admin, tag, sign_ups: AtomicUsize::new(0) })
    }

    /// A lesson view the first trainee may make (the URL, and the trainee's token).
    pub fn lesson_view(&self) -> (String, String) {
        let (course, lessons) = &self.lessons;
        let url = format!("{}/api/v1/enrollments/{course}/lessons/{}/view", self.base, lessons[0]);
        (url, self.trainees.first().map(|trainee| trainee.token.clone()).unwrap_or_default())
    }

    /// Every trainee as a client, each doing the mix in turn until `length` is over (a command under way is
    /// finished, retries and all).
    pub async fn drive(&self, length: Duration) -> MixReport {
        self.drive_every(length, Duration::ZERO, 0, TURNS).await
    }

    /// Like [`Mix::drive`] with `turns` ([`TURNS`] or [`JOURNEY`]), each client taking a turn at most once
    /// `every` (a steady rate, as people are), from turn `first` of its own sequence (so that a run in steps
    /// goes on where it stopped).
    pub async fn drive_every(
        &self,
        length: Duration,
        every: Duration,
        first: usize,
        turns: &[&'static str],
    ) -> MixReport {
        let deadline = Instant::now() + length;
        let clients = self.trainees.iter().enumerate().map(|(n, trainee)| async move {
            let mut report = MixReport::default();
            let mut turn = n + first;
            // Clients start spread over the first interval, not all at once.
            let spread = every.mul_f64(n as f64 / self.trainees.len().max(1) as f64);
            let mut next = Instant::now() + spread;
            while Instant::now() < deadline {
                if !every.is_zero() {
                    tokio::time::sleep_until(next.into()).await;
                    if Instant::now() >= deadline {
                        break;
                    }
                    next += every;
                }
                self.take_turn(turns[turn % turns.len()], trainee, turn, &mut report).await;
                turn += 1;
            }
            report
        });
        let mut report = MixReport::default();
        for client in futures_util::future::join_all(clients).await {
            report.merge(client);
        }
        report
    }

    async fn take_turn(&self, kind: &'static str, trainee: &Trainee, turn: usize, report: &mut MixReport) {
        let base = &self.base;
        match kind {
            "catalogue" => self.read(kind, &format!("{base}/api/v1/courses?page={}", 1 + turn % 3), None, report).await,
            "my courses" => {
                self.read(kind, &format!("{base}/api/v1/me/enrollments"), Some(&trainee.token), report).await
            }
            "lesson view" => {
                let (course, lessons) = &self.lessons;
                let lesson = lessons[turn % lessons.len()];
                let url = format!("{base}/api/v1/enrollments/{course}/lessons/{lesson}/view");
                if self.command(kind, &url, &trainee.token, &Value::Null, report).await.is_some() {
                    report.views += 1;
                }
            }
            "exam" => {
                // The exam page, as of the trainee's last exam command; then an attempt while one is left, the
                // answers revealed after the last, and only the page from then on.
                let course = self.lessons.0;
                let url = format!("{base}/api/v1/me/enrollments/{course}");
                let since = trainee.exam_token.lock().ok().and_then(|token| token.clone());
                let Some(page) = self.read_as_of("exam page", &url, &trainee.token, since.as_deref(), report).await
                else {
                    return;
                };
                let state = &page["data"]["enrollment"]["exam"];
                let command = if state["attempts_left"].as_i64().unwrap_or(0) > 0 {
                    let questions = page["data"]["exam"].as_array().into_iter().flatten();
                    let answers: serde_json::Map<String, Value> = questions
                        .filter_map(|question| question["question_id"].as_str())
                        .map(|id| (id.to_owned(), json!(turn % 2)))
                        .collect();
                    let url = format!("{base}/api/v1/enrollments/{course}/exam-attempts");
                    Some((url, json!({ "answers": answers })))
                } else if state["answers_revealed"] == false {
                    Some((format!("{base}/api/v1/enrollments/{course}/exam/reveal"), Value::Null))
                } else {
                    None
                };
                let Some((url, body)) = command else { return };
                if let Some(answer) = self.command(kind, &url, &trainee.token, &body, report).await {
                    report.exams += 1;
                    let token = answer["consistency_token"].as_str().map(str::to_owned);
                    if let Ok(mut kept) = trainee.exam_token.lock() {
                        *kept = token;
                    }
                }
            }
            "review" => {
                let url = format!("{base}/api/v1/courses/{}/reviews/mine", self.lessons.0);
                let review = json!({ "rating": 1 + turn % 5, "comment": format!("Review number {turn}") });
                if self.send(reqwest::Method::PUT, kind, &url, &trainee.token, &review, report).await.is_some() {
                    report.reviews += 1;
                }
            }
            "refund" => {
                // The course bought longest ago: the order's answer says paid, and the enrolment follows from
                // the sagas; a course bought a moment ago may not be enrolled in yet, as on a busy machine.
                let oldest = |bought: &mut Vec<Uuid>| (!bought.is_empty()).then(|| bought.remove(0));
                let Some(course) = trainee.bought.lock().ok().and_then(|mut bought| oldest(&mut bought)) else {
                    return;
                };
                let url = format!("{base}/api/v1/enrollments/{course}/refund-request");
                let reason = json!({ "reason": "Not what I was looking for" });
                let Some(asked) = self.command(kind, &url, &trainee.token, &reason, report).await else { return };
                let Ok(refund) = id_of(&asked) else { return };
                let url = format!("{base}/api/v1/admin/refund-requests/{refund}/approve");
                if self.command("refund approval", &url, &self.admin, &Value::Null, report).await.is_some() {
                    report.refunds.push(refund);
                }
            }
            "order" | "card order" => {
                let Some(course) = trainee.unbought.lock().ok().and_then(|mut left| left.pop()) else { return };
                let cart = json!({ "course_id": course });
                if self
                    .command("cart", &format!("{base}/api/v1/cart/items"), &trainee.token, &cart, report)
                    .await
                    .is_none()
                {
                    return;
                }
                let method = if kind == "order" { "wallet" } else { "card" };
                let order = json!({ "method": method });
                let placed = self.command(kind, &format!("{base}/api/v1/orders"), &trainee.token, &order, report).await;
                let Some(placed) = placed else { return };
                if method == "card" {
                    let page = placed["data"]["checkout"]["url"].as_str().unwrap_or_default().to_owned();
                    if !self.pay_by_card(&page, report).await {
                        return;
                    }
                }
                if let Ok(id) = id_of(&placed) {
                    report.orders.push(id);
                    if let Ok(mut bought) = trainee.bought.lock() {
                        bought.push(course);
                    }
                }
            }
            _ => {
                let n = self.sign_ups.fetch_add(1, Ordering::Relaxed);
                let name = format!("mix{}s{n}", self.tag);
                let body = json!({ "email": format!("{name}@example.com"), "username": name,
                    "password": "a long password", "name": "Newcomer" });
                let answer = self.command(kind, &format!("{base}/api/v1/auth/register"), "", &body, report).await;
                if let Some(id) = answer.as_ref().and_then(|answer| id_of(answer).ok()) {
                    report.signed_up.push(id);
                }
            }
        }
    }

    /// Loads the checkout page at `page` and pays on it with the test card, as a browser does: the answer is
    /// the redirect back to the frontend. Whether it was paid.
    async fn pay_by_card(&self, page: &str, report: &mut MixReport) -> bool {
        if self.read_as_of("checkout page", page, "", None, report).await.is_none() {
            return false;
        }
        let started = Instant::now();
        report.commands += 1;
        let form = [("card_number", "4242 4242 4242 4242"), ("expiry", "12 / 40"), ("cvc", "123"), ("cardholder", "T")];
        let failure = match self.browser.post(page).form(&form).timeout(PATIENCE).send().await {
            Ok(answer) if answer.status() == reqwest::StatusCode::SEE_OTHER => {
                report.latencies.entry("card payment").or_default().push(started.elapsed());
                return true;
            }
            Ok(answer) => format!("{} {}", answer.status(), answer.text().await.unwrap_or_default()),
            Err(error) => error.to_string(),
        };
        report.failed_commands += 1;
        report.fail(format!("POST {page}: {failure}"));
        false
    }

    async fn read(&self, kind: &'static str, url: &str, token: Option<&str>, report: &mut MixReport) {
        self.read_as_of(kind, url, token.unwrap_or_default(), None, report).await;
    }

    /// GETs `url` (as `token`'s holder, if any; once the read models hold the write of `consistency`, if
    /// any) and returns its answer.
    async fn read_as_of(
        &self,
        kind: &'static str,
        url: &str,
        token: &str,
        consistency: Option<&str>,
        report: &mut MixReport,
    ) -> Option<Value> {
        report.reads += 1;
        let started = Instant::now();
        let mut request = self.http.get(url).timeout(PATIENCE);
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if let Some(consistency) = consistency {
            request = request.header("x-consistency-token", consistency);
        }
        match request.send().await {
            Ok(answer) if answer.status().is_success() => {
                let body = answer.json().await.unwrap_or(Value::Null);
                report.latencies.entry(kind).or_default().push(started.elapsed());
                return Some(body);
            }
            Ok(answer) => {
                report.failed_reads += 1;
                let status = answer.status();
                report.fail(format!("GET {url}: {status} {}", answer.text().await.unwrap_or_default()));
            }
            Err(error) => {
                report.failed_reads += 1;
                report.fail(format!("GET {url}: {error}"));
            }
        }
        None
    }

    /// POSTs `body` with one Idempotency-Key until it succeeds, is refused, or patience runs out.
    async fn command(
        &self,
        kind: &'static str,
        url: &str,
        token: &str,
        body: &Value,
        report: &mut MixReport,
    ) -> Option<Value> {
        self.send(reqwest::Method::POST, kind, url, token, body, report).await
    }

    /// Sends `body` by `method` with one Idempotency-Key until it succeeds, is refused, or patience runs out.
    async fn send(
        &self,
        method: reqwest::Method,
        kind: &'static str,
        url: &str,
        token: &str,
        body: &Value,
        report: &mut MixReport,
    ) -> Option<Value> {
        report.commands += 1;
        let key = Uuid::now_v7().to_string();
        let started = Instant::now();
        loop {
            let mut request = self.http.request(method.clone(), url).header("idempotency-key", &key).timeout(PATIENCE);
            if !token.is_empty() {
                request = request.bearer_auth(token);
            }
            if !body.is_null() {
                request = request.json(body);
            }
            let outcome = match request.send().await {
                Ok(answer) if answer.status().is_success() => {
                    let answer: Value = answer.json().await.unwrap_or(Value::Null);
                    report.latencies.entry(kind).or_default().push(started.elapsed());
                    return Some(answer);
                }
                Ok(answer) => {
                    let status = answer.status().as_u16();
                    let text = answer.text().await.unwrap_or_default();
                    let lost_race = status == 409 && text.contains("\"code\":\"conflict\"");
                    match status >= 500 || matches!(status, 408 | 429) || lost_race {
                        true => format!("{status} {text}"),
                        false => {
                            report.failed_commands += 1;
                            report.fail(format!("{method} {url}: {status} {text}"));
                            return None;
                        }
                    }
                }
                Err(error) => error.to_string(),
            };
            if started.elapsed() > PATIENCE {
                report.failed_commands += 1;
                report.fail(format!("{method} {url}: gave up after {PATIENCE:?}: {outcome}"));
                return None;
            }
            report.resent += 1;
            tokio::time::sleep(RETRY_AFTER).await;
        }
    }
}
