//! The services of `learnlog up`, started in-process on port 0 against a test database: command API, query
//! API and a projector that a test can stop and start again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use api_contract::{Readiness, TokenKeys};
use database::Database;
use events::Role;
use projector::{Projector, READ_MODELS};
use relay::{KafkaSettings, Relay, ensure_topics};
use secrecy::SecretString;
use serde_json::Value;
use subscriptions::{FeedSource, KafkaSource, KafkaSourceSettings};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::database::{TestDatabase, test_database};

/// Sign-ups one client may make in an hour in the scenarios: they sign many people up from one address, as an
/// office behind one address would (an operator raises the limit for it). The default is tested behind a proxy.
const SIGN_UPS_PER_HOUR: u32 = 100_000;
const SECRET: &str = "test-secret-test-secret-test-secret-0123";
/// The data key of every test app: a test may open what the app sealed.
pub const DATA_KEY: &str = "test-data-key-test-data-key-test-data-key";

/// Where the projector reads from.
#[derive(Debug, Clone)]
pub enum Mode {
    /// The store's feed, directly.
    Embedded,
    /// A relay publishes to Kafka topics with this test's prefix; the projector consumes them in this group.
    Kafka { brokers: String, topic_prefix: String, group_id: String, session_timeout_ms: u32 },
}

type Running = Option<(oneshot::Sender<()>, JoinHandle<()>)>;

/// A running Learnlog on its own database.
#[derive(Debug)]
pub struct TestApp {
    pub database: TestDatabase,
    pub store: Database,
    /// The read models, from the schema they are served from (as every role of `learnlog` reads them).
    pub read: Database,
    pub address: SocketAddr,
    pub http: reqwest::Client,
    pub keys: Arc<TokenKeys>,
    pub mode: Mode,
    /// The payment sandbox this app's card orders are paid in (its checkout pages are served here).
    pub sandbox_url: String,
    card_payments: command_api::CardPayments,
    /// The write side of this "process": its command API and its sagas share it, as in `learnlog serve`.
    write: write_side::WriteSide<write_side::PgStore>,
    server: Running,
    sandbox: Running,
    projector: Running,
    /// Behind a lock so that a test can kill and restart it while requests are in flight.
    relay: std::sync::Mutex<Running>,
    /// Where this app keeps pictures: a folder of its own, removed with the app.
    pub media_dir: std::path::PathBuf,
    pictures: media::Pictures,
}

/// One HTTP answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    /// The body's bytes as they came.
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `consistency_token` of a command's answer.
    pub fn token(&self) -> String {
        self.body["consistency_token"].as_str().expect("a consistency token").to_owned()
    }

    /// `data.id` of a command's answer.
    pub fn id(&self) -> Uuid {
        self.body["data"]["id"].as_str().and_then(|id| id.parse().ok()).expect("an id")
    }
}

impl TestApp {
    /// Starts every role in embedded mode, with a consistency wait of 5 s (generous, for slow machines).
    pub async fn start() -> TestApp {
        Self::start_in(Mode::Embedded, api_contract::Edge::default(), SIGN_UPS_PER_HOUR).await
    }

    /// Like [`TestApp::start`], for a browser frontend served from `origin` (allowed by CORS besides the default).
    pub async fn start_for_frontend(origin: &str) -> TestApp {
        let mut edge = api_contract::Edge::default();
        edge.allowed_origins.push(origin.to_owned());
        Self::start_in(Mode::Embedded, edge, SIGN_UPS_PER_HOUR).await
    }

    /// The APIs behind a proxy at `trusted` (`LEARNLOG_TRUSTED_PROXIES`): its `X-Forwarded-For` names the client,
    /// and each client may sign up as often as by default.
    pub async fn start_behind_proxy(trusted: &str) -> TestApp {
        let trusted_proxies = api_contract::TrustedProxies::parse(trusted).expect("valid proxies");
        let edge = api_contract::Edge { trusted_proxies, ..Default::default() };
        Self::start_in(Mode::Embedded, edge, command_api::DEFAULT_SIGN_UPS_PER_HOUR).await
    }

    /// The APIs with these timeouts for slow clients and slow answers.
    pub async fn start_with_timeouts(timeouts: api_contract::Timeouts) -> TestApp {
        Self::start_in(Mode::Embedded, api_contract::Edge { timeouts, ..Default::default() }, SIGN_UPS_PER_HOUR).await
    }

    /// Starts every role with Kafka between the store and the projector: the test run's broker, topics and a
    /// consumer group of this test's own.
    pub async fn start_kafka() -> TestApp {
        Self::start_kafka_on(&crate::kafka::broker().await.address, 6000).await
    }

    /// Like [`TestApp::start_kafka`], on the broker at `brokers`, with a consumer session timeout of
    /// `session_timeout_ms` (6 s in most tests, so that a lost consumer is noticed quickly).
    pub async fn start_kafka_on(brokers: &str, session_timeout_ms: u32) -> TestApp {
        let (topic_prefix, group_id) = crate::kafka::unique_names();
        let settings = KafkaSettings {
            brokers: brokers.to_owned(),
            topic_prefix: topic_prefix.clone(),
            partitions: 3,
            replication_factor: 1,
            security: Vec::new(),
        };
        ensure_topics(&settings).await.expect("topics are created");
        let mode = Mode::Kafka { brokers: brokers.to_owned(), topic_prefix, group_id, session_timeout_ms };
        Self::start_in(mode, api_contract::Edge::default(), SIGN_UPS_PER_HOUR).await
    }

    async fn start_in(mode: Mode, edge: api_contract::Edge, sign_ups_per_hour: u32) -> TestApp {
        crate::init_tracing();
        let header_read_timeout = edge.timeouts.header_read;
        let database = test_database().await;
        let store = database.connect(16);
        let read = Database::connect_read_models(&database.url, 16).expect("valid test URL");
        let keys = Arc::new(TokenKeys::new(&SecretString::from(SECRET.to_owned())).expect("valid secret"));
        let data_key = Arc::new(event_store::keys::DataKey::from_secret(DATA_KEY.as_bytes()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds port 0");
        let address = listener.local_addr().expect("bound address");
        let (sandbox, card_payments) = payment_sandbox(address).await;
        let write = learnlog::app::write_side(&store, &data_key);
        let media_dir = std::env::temp_dir().join(format!("learnlog-media-{}", database.name));
        let pictures = media::Pictures::in_folder(&media_dir).expect("a folder for pictures");
        let services = learnlog::app::HttpServices {
            pictures: pictures.clone(),
            card_payments: Some(card_payments.clone()),
            write: Some(write.clone()),
            store: store.clone(),
            read: read.clone(),
            keys: Arc::clone(&keys),
            data_key: Arc::clone(&data_key),
            frontend_url: command_api::DEFAULT_FRONTEND_URL.to_owned(),
            consistency_wait: Duration::from_secs(5),
            edge,
            sign_ups_per_hour,
            read_replicas: Vec::new(),
            read_replica_max_lag: query_api::DEFAULT_MAX_LAG,
        };
        let routes = learnlog::app::http_routes(
            &[learnlog::Role::CommandApi, learnlog::Role::QueryApi],
            &services,
            Readiness::new(|| async { Ok(()) }),
            // The harness runs the other roles itself, in this process: report them all.
            learnlog::metrics::samplers(
                &[learnlog::Role::Projector, learnlog::Role::Relay, learnlog::Role::Sagas, learnlog::Role::Mailer],
                &store,
                &read,
                matches!(mode, Mode::Kafka { .. }),
            ),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = api_contract::serve(listener, routes, header_read_timeout, async {
                let _ = stopped.await;
            })
            .await;
        });
        let mut app = TestApp {
            database,
            store,
            read,
            address,
            http: reqwest::Client::new(),
            keys,
            mode,
            server: Some((stop, server)),
            sandbox_url: sandbox.public_url(),
            sandbox: Some(run_sandbox(sandbox)),
            card_payments,
            write,
            projector: None,
            relay: std::sync::Mutex::new(None),
            media_dir,
            pictures,
        };
        app.start_relay();
        app.start_projector().await;
        app
    }

    /// Starts the relay (Kafka mode only), from its stored checkpoint.
    pub fn start_relay(&self) {
        let Mode::Kafka { brokers, topic_prefix, .. } = &self.mode else { return };
        let mut running = self.relay.lock().expect("relay handle");
        assert!(running.is_none(), "the relay is already running");
        let settings = KafkaSettings {
            brokers: brokers.clone(),
            topic_prefix: topic_prefix.clone(),
            partitions: 3,
            replication_factor: 1,
            security: Vec::new(),
        };
        let relay = Relay::new(self.store.clone(), settings).expect("relay producer");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(relay.run(async {
            let _ = stopped.await;
        }));
        *running = Some((stop, task));
    }

    /// The environment a `learnlog serve` process needs to join this app: its database and keys, and in Kafka
    /// mode its brokers, topic prefix and consumer group.
    pub fn process_environment(&self) -> Vec<(&'static str, String)> {
        let mut environment = vec![
            ("DATABASE_URL", self.database.url.clone()),
            // This app's keys: tokens it mints are good at the process, and personal data opens alike.
            ("LEARNLOG_JWT_SECRET", SECRET.to_owned()),
            ("LEARNLOG_DATA_KEY", DATA_KEY.to_owned()),
            ("LEARNLOG_SIGN_UPS_PER_HOUR", SIGN_UPS_PER_HOUR.to_string()),
        ];
        if let Mode::Kafka { brokers, topic_prefix, group_id, session_timeout_ms } = &self.mode {
            environment.extend([
                ("KAFKA_BROKERS", brokers.clone()),
                ("LEARNLOG_KAFKA_TOPIC_PREFIX", topic_prefix.clone()),
                ("LEARNLOG_KAFKA_GROUP", group_id.clone()),
                ("LEARNLOG_KAFKA_SESSION_TIMEOUT_MS", session_timeout_ms.to_string()),
                ("LEARNLOG_KAFKA_PARTITIONS", "3".to_owned()),
            ]);
        }
        environment
    }

    /// Kills the relay as a crash would, wherever it is: whatever it had not recorded as acknowledged is
    /// published again on the next start.
    pub async fn kill_relay(&self) {
        let running = self.relay.lock().expect("relay handle").take();
        if let Some((_, task)) = running {
            task.abort();
            let _ = task.await;
        }
    }

    /// The read model's catalogue (courses, their content and discounts), one JSON row per line, ordered:
    /// for comparing two builds of it.
    pub async fn catalogue(database: &TestDatabase) -> String {
        Self::tables(database, &["catalog_course", "course_document", "course_discount"]).await
    }

    /// Every table of every projection (`projector::PROJECTIONS`), one JSON row per line after its table's
    /// name, ordered: for comparing the live read models with a rebuild.
    pub async fn read_models(database: &TestDatabase) -> String {
        Self::read_models_in(&database.client().await).await
    }

    /// [`TestApp::read_models`] of the database `client` is connected to.
    pub async fn read_models_in(client: &tokio_postgres::Client) -> String {
        let tables: Vec<&str> = projector::PROJECTIONS.iter().flat_map(|(_, tables)| tables.iter().copied()).collect();
        Self::tables_in(client, &tables).await
    }

    async fn tables(database: &TestDatabase, tables: &[&str]) -> String {
        Self::tables_in(&database.client().await, tables).await
    }

    async fn tables_in(client: &tokio_postgres::Client, tables: &[&str]) -> String {
        let mut rows = String::new();
        for table in tables {
            let row = client
                .query_one(
                    &format!(
                        "SELECT COALESCE(string_agg('{table} ' || row_to_json(t)::text, E'\\n' \
                         ORDER BY row_to_json(t)::text), '') FROM {table} t"
                    ),
                    &[],
                )
                .await
                .expect("read models readable");
            let table_rows: &str = row.get(0);
            if !table_rows.is_empty() {
                rows.push_str(table_rows);
                rows.push('\n');
            }
        }
        rows
    }

    /// Builds the read models again from the first event of the store into a fresh database, as a rebuild
    /// would, and returns that database.
    pub async fn rebuild(&self) -> TestDatabase {
        rebuild_from(&self.store, self.keyring()).await
    }

    /// Starts the projector from its stored checkpoints; in Kafka mode, returns once it holds partitions.
    pub async fn start_projector(&mut self) {
        assert!(self.projector.is_none(), "the projector is already running");
        let projector = Projector::new(self.read.clone(), READ_MODELS, self.keyring());
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        match &self.mode {
            Mode::Embedded => {
                let start = projector.checkpoint().await.expect("checkpoint readable");
                let source = FeedSource::new(self.store.clone(), start);
                self.projector = Some((stop, tokio::spawn(projector.run(source, stopped))));
            }
            Mode::Kafka { brokers, topic_prefix, group_id, session_timeout_ms } => {
                let settings = KafkaSourceSettings {
                    subscriber: "projector".to_owned(),
                    brokers: brokers.clone(),
                    topic_prefix: topic_prefix.clone(),
                    group_id: group_id.clone(),
                    session_timeout_ms: *session_timeout_ms,
                    debug: None,
                    security: Vec::new(),
                    fetch_wait_ms: subscriptions::kafka::DEFAULT_FETCH_WAIT_MS,
                };
                let marks = Arc::new(projector::PartitionMarks::new(self.read.clone(), READ_MODELS));
                let source = KafkaSource::new(&settings, self.store.clone(), marks).expect("consumer joins");
                let assignment = source.assignment();
                self.projector = Some((stop, tokio::spawn(projector.run(source, stopped))));
                let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
                while assignment.partitions() == 0 {
                    assert!(tokio::time::Instant::now() < deadline, "the consumer got no partitions");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// Stops the projector, letting a batch in flight finish.
    pub async fn stop_projector(&mut self) {
        if let Some((stop, task)) = self.projector.take() {
            let _ = stop.send(());
            task.await.expect("projector task ends cleanly");
        }
    }

    /// Sends the outbox's emails to `delivery` until the returned sender is dropped.
    pub fn start_mailer(&self, delivery: mailer::Delivery) -> tokio::sync::watch::Sender<bool> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mailer = mailer::Mailer::new(self.store.clone(), delivery, "Learnlog <no-reply@learnlog.test>")
            .expect("a valid mailer");
        tokio::spawn(async move { mailer.run(stopped).await.expect("the mailer runs") });
        stop
    }

    /// Starts the sagas on this app's store; they stop when the returned sender says so (or is dropped).
    pub fn start_sagas(&self) -> tokio::sync::watch::Sender<bool> {
        self.start_sagas_measuring(None)
    }

    /// [`TestApp::start_sagas`], measuring lessons without minutes with `lengths` when given (R15).
    pub fn start_sagas_measuring(
        &self,
        lengths: Option<sagas::lessons::VideoLengths>,
    ) -> tokio::sync::watch::Sender<bool> {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let data_key = Arc::new(event_store::keys::DataKey::from_secret(DATA_KEY.as_bytes()));
        let payments = Some(self.card_payments.clone());
        let write = self.write.clone();
        let pictures = self.pictures.clone();
        let mut sagas = learnlog::app::sagas(write, &self.read, Arc::clone(&self.keys), data_key, payments, pictures);
        if let Some(lengths) = lengths {
            sagas = sagas.measuring_videos(lengths);
        }
        let stopping = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        match &self.mode {
            Mode::Embedded => drop(tokio::spawn(sagas.run(stopping))),
            // Through Kafka, in a consumer group of their own, as `learnlog serve --role sagas` does.
            Mode::Kafka { brokers, topic_prefix, group_id, session_timeout_ms } => {
                let settings = KafkaSourceSettings {
                    subscriber: "sagas".to_owned(),
                    brokers: brokers.clone(),
                    topic_prefix: topic_prefix.clone(),
                    group_id: format!("{group_id}-sagas"),
                    session_timeout_ms: *session_timeout_ms,
                    debug: None,
                    security: Vec::new(),
                    fetch_wait_ms: subscriptions::kafka::DEFAULT_FETCH_WAIT_MS,
                };
                let checkpoints = Arc::new(sagas::SagaCheckpoints::new(self.store.clone()));
                let source =
                    KafkaSource::new(&settings, self.store.clone(), checkpoints).expect("the sagas' consumer joins");
                drop(tokio::spawn(sagas.run_on(source, stopping)));
            }
        }
        stop
    }

    /// The people's keys of this app's store, under the test data key.
    pub fn keyring(&self) -> event_store::keys::KeyRing {
        let data_key = event_store::keys::DataKey::from_secret(DATA_KEY.as_bytes());
        event_store::keys::KeyRing::new(self.store.clone(), Arc::new(data_key))
    }

    /// A token for a new user of `role`.
    pub fn user(&self, role: Role) -> (Uuid, String) {
        let user = Uuid::now_v7();
        (user, self.keys.issue(user, role, Duration::from_secs(600)).expect("signs"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn send(&self, request: reqwest::RequestBuilder, body: Option<&Value>) -> Answer {
        let request = match body {
            Some(body) => request.json(body),
            None => request,
        };
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body");
        let json = headers
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .is_none_or(|value| value.starts_with("application/json") || value.starts_with("application/problem+json"));
        let body = match (bytes.is_empty(), json) {
            (true, _) => Value::Null,
            (false, true) => serde_json::from_slice(&bytes).expect("a JSON body"),
            // NDJSON and other text, as it came.
            (false, false) => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
        };
        Answer { status, headers, body, bytes: bytes.to_vec() }
    }

    pub async fn post(&self, path: &str, token: &str, body: Option<&Value>) -> Answer {
        self.send(self.http.post(self.url(path)).bearer_auth(token), body).await
    }

    /// Any method with the bearer `token`, and `body` as JSON when given.
    pub async fn call(&self, method: reqwest::Method, path: &str, token: &str, body: Option<&Value>) -> Answer {
        self.send(self.http.request(method, self.url(path)).bearer_auth(token), body).await
    }

    /// A real instructor account named `name` (created by an admin), logged in: its id and access token.
    pub async fn instructor(&self, username: &str, name: &str) -> (Uuid, String) {
        let (_, admin) = self.user(Role::Admin);
        let body = serde_json::json!({ "kind": "instructor", "email": format!("{username}@example.com"),
            "username": username, "password": "a long password", "name": name });
        let created = self.post("/api/v1/admin/users", &admin, Some(&body)).await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        let login = serde_json::json!({ "login": username, "password": "a long password" });
        let session = self.send(self.http.post(self.url("/api/v1/auth/login")), Some(&login)).await;
        assert_eq!(session.status, 200, "{:?}", session.body);
        let token = session.body["data"]["access_token"].as_str().expect("an access token").to_owned();
        (created.id(), token)
    }

    pub async fn get(&self, path: &str, consistency_token: Option<&str>) -> Answer {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = consistency_token {
            request = request.header("x-consistency-token", token);
        }
        self.send(request, None).await
    }

    /// A valid course body.
    pub fn course_body(title: &str) -> Value {
        serde_json::json!({
            "title": title,
            "summary": "Build and run HTTP services",
            "category": "Web Development",
            "subcategories": ["Backend"],
            "level": "beginner",
            "language": "English",
            "price": { "amount_cents": 1999, "currency": "USD" }
        })
    }

    /// Creates a draft course as the instructor behind `token`; returns its id and the answer.
    pub async fn create_course(&self, token: &str, title: &str) -> Answer {
        let answer = self.post("/api/v1/courses", token, Some(&Self::course_body(title))).await;
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        answer
    }

    /// Publishes draft `course_id` with a section of one lesson added first (a course with no lesson is kept out of
    /// the public lists); returns the publication's answer.
    pub async fn publish(&self, token: &str, course_id: Uuid) -> Answer {
        let title = serde_json::json!({ "title": "Start" });
        let section = self.post(&format!("/api/v1/courses/{course_id}/sections"), token, Some(&title)).await;
        assert_eq!(section.status, 201, "{:?}", section.body);
        let lesson = serde_json::json!({ "title": "First steps", "video_url": "https://youtu.be/dQw4w9WgXcQ",
                                         "duration_min": 10 });
        let lessons = format!("/api/v1/courses/{course_id}/sections/{}/lessons", section.id());
        let added = self.post(&lessons, token, Some(&lesson)).await;
        assert_eq!(added.status, 201, "{:?}", added.body);
        self.post(&format!("/api/v1/courses/{course_id}/publish"), token, None).await
    }

    pub async fn event_count(&self) -> i64 {
        self.database.count("SELECT count(*) FROM events").await
    }

    /// Waits (bounded) until the relay has published every event the store holds now; returns how many.
    pub async fn wait_until_relayed(&self) -> i64 {
        let head = self.event_count().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.database.count("SELECT COALESCE(max(position), 0) FROM relay_checkpoints").await < head {
            assert!(tokio::time::Instant::now() < deadline, "the relay did not publish in time");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        head
    }

    /// The schema the read models are served from.
    pub async fn served_schema(&self) -> String {
        let client = self.database.client().await;
        client.query_one("SELECT name FROM learnlog_meta.read_schema", &[]).await.expect("migrated").get(0)
    }

    /// Waits (bounded) until the read models include the newest version of every stream in the store,
    /// whichever way the events travelled, but for the streams the relay parked (they have no topic).
    pub async fn wait_until_projected(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            // In the schema the read models are served from (`learnlog replay` switches it).
            let served = self.served_schema().await;
            let behind = format!(
                "SELECT count(*) FROM (SELECT stream_id, max(stream_version) AS version FROM events GROUP BY stream_id) e \
                 LEFT JOIN \"{served}\".projected_stream_versions p USING (stream_id) \
                 WHERE p.version IS DISTINCT FROM e.version \
                 AND e.stream_id NOT IN (SELECT stream_id FROM dead_letters WHERE subscriber = 'relay')"
            );
            let missing = self.database.count(&behind).await;
            if missing == 0 {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                let head = self.database.count("SELECT COALESCE(max(position), 0) FROM events").await;
                let relayed = self.database.count("SELECT COALESCE(max(position), 0) FROM relay_checkpoints").await;
                let consumed = self
                    .database
                    .count("SELECT COALESCE(sum(kafka_offset + 1), 0)::bigint FROM projector_partition_checkpoints")
                    .await;
                panic!(
                    "the projector did not catch up: {missing} streams behind; feed head {head}, relay at {relayed}, \
                     {consumed} records consumed"
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits (bounded) until the sagas have handled every event the store holds, those their own commands
    /// appended too: whatever they would still do about the history so far is done. On the feed their
    /// checkpoint tells (a test may move it back); on Kafka, the stream versions they record ([`sagas_behind`]).
    pub async fn wait_until_sagas_caught_up(&self) {
        // One statement, one snapshot: the events a batch's commands append commit before its checkpoint moves.
        let on_feed = "SELECT COALESCE(max(position), 0) \
                       - COALESCE((SELECT position FROM saga_checkpoints WHERE saga = $1), 0) FROM events";
        let client = self.database.client().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let behind: i64 = match &self.mode {
                Mode::Embedded => {
                    client.query_one(on_feed, &[&sagas::SAGAS]).await.expect("the sagas' checkpoint readable").get(0)
                }
                Mode::Kafka { .. } => sagas_behind(&client).await,
            };
            if behind <= 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the sagas did not catch up with the store: {behind} behind"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits (bounded) until the sagas have handled every event the store holds and the read models include
    /// it, the events the sagas appended too: nothing more comes of the history so far.
    pub async fn wait_until_caught_up(&self) {
        self.wait_until_sagas_caught_up().await;
        self.wait_until_projected().await;
    }
}

/// How many streams of the store `client` is connected to hold an event the sagas have not handled (nor parked)
/// yet, by the newest version of each stream they record after every batch, on the feed and on Kafka alike; the
/// streams the relay parked reach no topic and are left out. The events a batch's commands append commit before
/// its versions do, so 0 leaves the sagas nothing to do.
pub async fn sagas_behind(client: &tokio_postgres::Client) -> i64 {
    let behind = "SELECT count(*) FROM (SELECT stream_id, max(stream_version) AS version FROM events \
                  GROUP BY stream_id) e LEFT JOIN saga_stream_versions s ON s.saga = $1 AND s.stream_id = e.stream_id \
                  WHERE (s.version IS NULL OR s.version < e.version) \
                  AND e.stream_id NOT IN (SELECT stream_id FROM dead_letters WHERE subscriber = 'relay')";
    client.query_one(behind, &[&sagas::SAGAS]).await.expect("the sagas' stream versions readable").get(0)
}

/// The test's API key and webhook secret of the payment sandbox.
pub const SANDBOX_SECRET_KEY: &str = "sk_test_learnlog";
pub const SANDBOX_WEBHOOK_SECRET: &str = "whsec_learnlog_test";

/// A payment sandbox on port 0 that delivers its webhooks to the app at `app`, and the app's card payments
/// pointed at it (checkout sessions expire after 30 minutes unless a test says otherwise).
async fn payment_sandbox(app: std::net::SocketAddr) -> (payments_sandbox::Sandbox, command_api::CardPayments) {
    let mut settings = payments_sandbox::SandboxConfig::new(
        "127.0.0.1:0".parse().expect("an address"),
        SecretString::from(SANDBOX_SECRET_KEY.to_owned()),
        format!("http://{app}/api/v1/payments/webhook"),
        SecretString::from(SANDBOX_WEBHOOK_SECRET.to_owned()),
    );
    settings.retry_first = Duration::from_millis(100);
    settings.retry_at_most = Duration::from_secs(1);
    let sandbox = payments_sandbox::Sandbox::build(settings).await.expect("the sandbox binds");
    let secrets =
        (SecretString::from(SANDBOX_SECRET_KEY.to_owned()), SecretString::from(SANDBOX_WEBHOOK_SECRET.to_owned()));
    let payments = learnlog::app::card_payments(
        &format!("http://{}", sandbox.local_addr()),
        secrets,
        "http://127.0.0.1:8000",
        Duration::from_secs(30 * 60),
    );
    (sandbox, payments)
}

fn run_sandbox(sandbox: payments_sandbox::Sandbox) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = sandbox
            .run(async {
                let _ = stopped.await;
            })
            .await;
    });
    (stop, task)
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let relay = self.relay.get_mut().ok().and_then(Option::take);
        for (stop, task) in
            [self.server.take(), self.sandbox.take(), self.projector.take(), relay].into_iter().flatten()
        {
            let _ = stop.send(());
            task.abort();
        }
        let _ = std::fs::remove_dir_all(&self.media_dir);
    }
}

/// Builds the read models from the first event of the event store `store` into a fresh database, as a rebuild
/// would, opening personal data with `keyring`, and returns that database.
pub async fn rebuild_from(store: &Database, keyring: event_store::keys::KeyRing) -> TestDatabase {
    let rebuilt = test_database().await;
    let rebuild = Projector::new(rebuilt.connect(2), READ_MODELS, keyring);
    let client = store.pool().get().await.expect("the store answers");
    let head: i64 = client.query_one("SELECT COALESCE(max(position), 0) FROM events", &[]).await.expect("head").get(0);
    drop(client);
    let mut source = FeedSource::new(store.clone(), 0);
    let mut applied = 0;
    while applied < head {
        let batch = subscriptions::EventSource::next_batch(&mut source, 500).await.expect("feed readable");
        rebuild.apply(&batch).await.expect("rebuild applies");
        applied = batch.last().map_or(applied, |e| e.event.position);
    }
    rebuilt
}
