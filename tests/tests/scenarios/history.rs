//! The event history for analysts (`GET /api/v1/events`): NDJSON in global order, for analysts and admins
//! only, paged by position, filtered by type and stream, upcast to current schema versions, and never with
//! personal data in clear; an erased person's data reads as erased.

use event_store::{AppendRequest, ExpectedVersion, PgEventStore};
use events::identity::UserLoggedOut;
use events::{Event, Metadata, NewEvent, Role};
use serde_json::{Value, json};
use tests::TestApp;
use uuid::Uuid;

const TRAINEE_EMAIL: &str = "history.trainee.qpz@example.com";
const LEGACY_EMAIL: &str = "ada@example.com";

struct Lines {
    status: u16,
    content_type: String,
    lines: Vec<Value>,
    text: String,
}

async fn history(app: &TestApp, query: &str, token: &str) -> Lines {
    let response = app
        .http
        .get(app.url(&format!("/api/v1/events{query}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = response.text().await.expect("a body");
    let lines = if status == 200 {
        text.lines().map(|line| serde_json::from_str(line).expect("each line is one JSON object")).collect()
    } else {
        Vec::new()
    };
    Lines { status, content_type, lines, text }
}

fn positions(lines: &[Value]) -> Vec<i64> {
    lines.iter().map(|line| line["position"].as_i64().expect("a position")).collect()
}

async fn append(app: &TestApp, stream_id: String, events: Vec<NewEvent>) {
    let appended = PgEventStore::start(app.store.clone())
        .append(AppendRequest {
            stream_id,
            expected: ExpectedVersion::Any,
            events,
            idempotency: None,
            side_writes: Vec::new(),
            guards: Vec::new(),
        })
        .await;
    assert!(appended.is_ok(), "{appended:?}");
}

/// `count` logouts of one new user, in one append: more history than a page holds.
async fn quiet_logouts(app: &TestApp, count: usize) {
    let quiet = Uuid::now_v7();
    let logouts: Vec<NewEvent> = (0..count)
        .map(|_| {
            let event = Event::UserLoggedOut(UserLoggedOut { user_id: quiet });
            NewEvent::new(&event, Metadata::default(), time::OffsetDateTime::now_utc())
        })
        .collect();
    append(app, events::stream::user_stream(quiet), logouts).await;
}

#[tokio::test]
async fn analysts_read_the_whole_history_in_order_without_personal_data() {
    let app = TestApp::start().await;
    let (_, admin) = app.user(Role::Admin);

    // An admin creates an analyst, who logs in like anyone else.
    let analyst = json!({ "kind": "analyst", "email": "analyst.qpz@example.com", "username": "analystqpz",
                          "password": "a long password", "name": "Ana Lyst" });
    let created = app.post("/api/v1/admin/users", &admin, Some(&analyst)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let login = json!({ "login": "analystqpz", "password": "a long password" });
    let session = app.send(app.http.post(app.url("/api/v1/auth/login")), Some(&login)).await;
    assert_eq!(session.status, 200, "{:?}", session.body);
    let analyst = session.body["data"]["access_token"].as_str().expect("a token").to_owned();

    // Some history: a course, a trainee who signs up and then deletes their account, an identity event of
    // schema version 1 (written before sealing existed, its personal data in clear), and more events than one
    // page of the stream holds.
    let (_, teacher) = app.instructor("historyteacher", "Hist Teacher").await;
    let course = app.create_course(&teacher, "History of everything").await.id();
    let sign_up = json!({ "email": TRAINEE_EMAIL, "username": "historytrainee", "password": "a long password",
                          "name": "Hist Trainee" });
    let registered = app.send(app.http.post(app.url("/api/v1/auth/register")), Some(&sign_up)).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let trainee_login = json!({ "login": TRAINEE_EMAIL, "password": "a long password" });
    let trainee_session = app.send(app.http.post(app.url("/api/v1/auth/login")), Some(&trainee_login)).await;
    let trainee = trainee_session.body["data"]["access_token"].as_str().expect("a token").to_owned();
    let deleted = app.call(reqwest::Method::DELETE, "/api/v1/me", &trainee, None).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    let legacy_user = Uuid::now_v7();
    let legacy = NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "IndividualTraineeRegistered",
        schema_version: 1,
        payload: json!({ "user_id": legacy_user, "email": LEGACY_EMAIL, "username": "ada", "name": "Ada Lovelace",
                         "country": "GB" })
        .to_string(),
        metadata: Metadata::default(),
        occurred_at: time::OffsetDateTime::now_utc(),
    };
    append(&app, events::stream::user_stream(legacy_user), vec![legacy]).await;
    quiet_logouts(&app, 1_100).await;
    let stored = app.event_count().await;
    assert!(stored > 1_100);

    // Everything, in order, with no gap, streamed over several pages.
    let all = history(&app, "?limit=10000", &analyst).await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(all.content_type, "application/x-ndjson");
    assert_eq!(positions(&all.lines), (1..=stored).collect::<Vec<_>>(), "every event once, in order");
    let first = &all.lines[0];
    for field in ["stream_id", "stream_version", "event_id", "event_type", "schema_version", "occurred_at", "metadata"]
    {
        assert!(!first[field].is_null(), "{field} is missing: {first}");
    }
    let created_course = all.lines.iter().find(|line| line["event_type"] == "CourseCreated").expect("the course");
    assert_eq!(created_course["payload"]["course_id"], course.to_string());
    assert_eq!(created_course["stream_id"], format!("course-{course}"));

    // Personal data: sealed while its owner's key exists, erased once it is gone, never in clear.
    for secret in [TRAINEE_EMAIL, "Hist Trainee", "historytrainee", LEGACY_EMAIL, "Ada Lovelace", "Hist Teacher"] {
        assert!(!all.text.contains(secret), "{secret} is in the history in clear");
    }
    let signed_up = all
        .lines
        .iter()
        .find(|line| line["event_type"] == "IndividualTraineeRegistered" && line["schema_version"] == 2)
        .expect("the trainee's sign-up");
    assert_eq!(signed_up["payload"]["email"], json!({ "erased": true }), "{signed_up}");
    let instructor = all.lines.iter().find(|line| line["event_type"] == "InstructorCreated").expect("an instructor");
    assert!(instructor["payload"]["name"]["sealed"].is_string(), "{instructor}");
    let upcast = all
        .lines
        .iter()
        .find(|line| line["stream_id"] == events::stream::user_stream(legacy_user))
        .expect("the version 1 event");
    assert_eq!(upcast["schema_version"], 2, "read as the current version: {upcast}");
    assert_eq!(upcast["payload"]["name"], json!({ "erased": true }));
    assert_eq!(upcast["payload"]["country"], "GB");

    // Paging by position, and filters.
    let page = history(&app, "?limit=5", &analyst).await;
    assert_eq!(positions(&page.lines), [1, 2, 3, 4, 5]);
    let next = history(&app, "?after=5&limit=5", &analyst).await;
    assert_eq!(positions(&next.lines), [6, 7, 8, 9, 10]);
    let beyond = history(&app, &format!("?after={stored}"), &analyst).await;
    assert_eq!((beyond.status, beyond.lines.len()), (200, 0), "nothing after the head");
    let typed = history(&app, "?types=UserLoggedOut,CourseCreated&limit=10000", &analyst).await;
    assert_eq!(typed.lines.len(), 1_101, "1,100 logouts and one course");
    assert!(
        typed
            .lines
            .iter()
            .all(|line| ["UserLoggedOut", "CourseCreated"].contains(&line["event_type"].as_str().unwrap_or("")))
    );
    let course_stream = history(&app, &format!("?stream_prefix=course-{course}"), &analyst).await;
    assert!(!course_stream.lines.is_empty());
    assert!(course_stream.lines.iter().all(|line| line["stream_id"] == format!("course-{course}")));
    let default = history(&app, "", &admin).await;
    assert_eq!((default.status, default.lines.len()), (200, 1_000), "admins too; 1,000 by default");

    // Bad input is a problem, and only analysts and admins read the history.
    for (query, what) in [
        ("?limit=10001", "limit"),
        ("?limit=0", "limit"),
        ("?after=-1", "after"),
        ("?types=OrderPaid,NoSuchEvent", "NoSuchEvent"),
    ] {
        let refused = history(&app, query, &analyst).await;
        assert_eq!(refused.status, 400, "{query}: {}", refused.text);
        assert!(refused.content_type.starts_with("application/problem+json"), "{query}");
        assert!(refused.text.contains(what), "{query}: {}", refused.text);
    }
    app.wait_until_projected().await;
    let me = app.call(reqwest::Method::GET, "/api/v1/me", &analyst, None).await;
    assert_eq!((me.status, me.body["data"]["role"].as_str()), (200, Some("analyst")), "{:?}", me.body);
    for path in ["/api/v1/admin/users", "/api/v1/me/cart", "/api/v1/me/instructor/courses"] {
        assert_eq!(
            app.call(reqwest::Method::GET, path, &analyst, None).await.status,
            403,
            "an analyst reads the history only: {path}"
        );
    }
    let authoring = app.post("/api/v1/courses", &analyst, Some(&TestApp::course_body("Not theirs"))).await;
    assert_eq!(authoring.status, 403, "{:?}", authoring.body);
    let forbidden = history(&app, "", &teacher).await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.text);
    let anonymous = app.http.get(app.url("/api/v1/events")).send().await.expect("answers");
    assert_eq!(anonymous.status().as_u16(), 401);
}

/// What an analyst's own tools get: every page of the feed read with Python `requests` (which asks for gzip) and
/// with DuckDB over HTTP, each with its default settings, line for line what the store holds, in order, with
/// the same payloads our own reader gets.
#[tokio::test]
async fn python_requests_and_duckdb_read_every_page_as_the_store_holds_it() {
    let app = TestApp::start().await;
    let (_, admin) = app.user(Role::Admin);
    let teacher = app.instructor("feedteacher", "Feed Teacher").await.1;
    app.create_course(&teacher, "Feeds for analysts").await;
    quiet_logouts(&app, 2_300).await;

    let stored: Vec<Value> = app
        .database
        .client()
        .await
        .query(
            "SELECT position, event_id::text, stream_id, stream_version, event_type FROM events ORDER BY position",
            &[],
        )
        .await
        .expect("the store reads")
        .iter()
        .map(|row| {
            json!({ "position": row.get::<_, i64>(0), "event_id": row.get::<_, String>(1),
                    "stream_id": row.get::<_, String>(2), "stream_version": row.get::<_, i64>(3),
                    "event_type": row.get::<_, String>(4) })
        })
        .collect();
    assert!(stored.len() > 2_300);
    let ours = history(&app, "?limit=10000", &admin).await;
    assert_eq!(ours.lines.len(), stored.len(), "{}", ours.status);
    let base = app.url("");
    for client in ["requests", "duckdb"] {
        // Pages of 1,000 lines, each streamed in two chunks, the last one short.
        let read: Vec<Value> = tests::python::json("read_feed.py", &[&base, &admin, client, "1000"], b"").await;
        assert_eq!(read.len(), stored.len(), "{client} reads every event once");
        for ((line, store), own) in read.iter().zip(&stored).zip(&ours.lines) {
            for field in ["position", "event_id", "stream_id", "stream_version", "event_type"] {
                assert_eq!(line[field], store[field], "{client}, {field}: {line} against {store}");
            }
            let payload: Value = serde_json::from_str(line["payload"].as_str().expect("text")).expect("JSON");
            assert_eq!(payload, own["payload"], "{client}: the payload at {}", store["position"]);
        }
    }
}
