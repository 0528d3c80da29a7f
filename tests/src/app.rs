//! The services of `learnlog up`, started in-process on port 0 against a test database: command API, query
//! API and a projector that a test can stop and start again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use api_contract::{Readiness, TokenKeys};
use command_api::CommandApiState;
use event_store::{Database, PgEventStore};
use events::Role;
use projector::{FeedSource, PROJECTIONS_CHANNEL, Projector, READ_MODELS};
use query_api::{QueryApiState, Watermark};
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::database::{TestDatabase, test_database};

const SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// A running Learnlog on its own database.
#[derive(Debug)]
pub struct TestApp {
    pub database: TestDatabase,
    pub store: Database,
    pub address: SocketAddr,
    pub http: reqwest::Client,
    pub keys: Arc<TokenKeys>,
    server: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
    projector: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

/// One HTTP answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
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
    /// Starts every role, with a consistency wait of 5 s (generous, for slow machines).
    pub async fn start() -> TestApp {
        crate::init_tracing();
        let database = test_database().await;
        let store = database.connect(16);
        let keys = Arc::new(TokenKeys::new(&SecretString::from(SECRET.to_owned())).expect("valid secret"));
        let command =
            command_api::router(CommandApiState { store: PgEventStore::start(store.clone()), keys: Arc::clone(&keys) });
        let query = query_api::router(QueryApiState {
            read: store.clone(),
            watermark: Watermark::follow(store.clone(), READ_MODELS, PROJECTIONS_CHANNEL),
            consistency_wait: Duration::from_secs(5),
        });
        let routes = api_contract::finish(
            command.merge(query),
            api_contract::DEFAULT_BODY_LIMIT,
            Readiness::new(|| async { Ok(()) }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds port 0");
        let address = listener.local_addr().expect("bound address");
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, routes)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        let mut app = TestApp {
            database,
            store,
            address,
            http: reqwest::Client::new(),
            keys,
            server: Some((stop, server)),
            projector: None,
        };
        app.start_projector().await;
        app
    }

    /// Starts the projector from its stored checkpoint.
    pub async fn start_projector(&mut self) {
        assert!(self.projector.is_none(), "the projector is already running");
        let projector = Projector::new(self.store.clone(), READ_MODELS);
        let start = projector.checkpoint().await.expect("checkpoint readable");
        let source = FeedSource::new(self.store.clone(), start);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(projector.run(source, async {
            let _ = stopped.await;
        }));
        self.projector = Some((stop, task));
    }

    /// Stops the projector, letting a batch in flight finish.
    pub async fn stop_projector(&mut self) {
        if let Some((stop, task)) = self.projector.take() {
            let _ = stop.send(());
            task.await.expect("projector task ends cleanly");
        }
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
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("a JSON body") };
        Answer { status, headers, body }
    }

    pub async fn post(&self, path: &str, token: &str, body: Option<&Value>) -> Answer {
        self.send(self.http.post(self.url(path)).bearer_auth(token), body).await
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

    pub async fn event_count(&self) -> i64 {
        self.database.count("SELECT count(*) FROM events").await
    }

    /// Waits (bounded) until the projector has applied every event in the store.
    pub async fn wait_until_projected(&self) {
        let head = self.database.count("SELECT COALESCE(max(position), 0) FROM events").await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let applied = projector::load_checkpoint(&self.store, READ_MODELS).await.expect("checkpoint");
            if applied >= head {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "the projector did not catch up: {applied} of {head}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        for (stop, task) in [self.server.take(), self.projector.take()].into_iter().flatten() {
            let _ = stop.send(());
            task.abort();
        }
    }
}
