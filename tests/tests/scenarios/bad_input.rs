//! Bad input gets problem JSON and changes nothing: every test checks the status, the problem code, and
//! that the number of stored events did not move.

use events::Role;
use serde_json::{Value, json};
use tests::TestApp;
use tests::app::Answer;

async fn assert_refused(app: &TestApp, before: i64, answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{:?}", answer.body);
    assert_eq!(answer.body["code"], code, "{:?}", answer.body);
    assert_eq!(answer.body["status"], status);
    assert_eq!(answer.header("content-type"), Some("application/problem+json"));
    assert_eq!(app.event_count().await, before, "a refused request must not append");
}

async fn post_raw(
    app: &TestApp,
    path: &str,
    token: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> Answer {
    let request = app.http.post(app.url(path)).bearer_auth(token).header("content-type", content_type).body(body);
    app.send(request, None).await
}

#[tokio::test]
async fn malformed_json_wrong_types_and_unknown_fields_are_400() {
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    let before = app.event_count().await;

    let not_json = post_raw(&app, "/api/v1/courses", &token, "application/json", "{\"title\": ").await;
    assert_refused(&app, before, &not_json, 400, "malformed_request").await;

    let mut wrong_type = TestApp::course_body("t");
    wrong_type["price"]["amount_cents"] = json!("1999");
    let answer = app.post("/api/v1/courses", &token, Some(&wrong_type)).await;
    assert_refused(&app, before, &answer, 400, "malformed_request").await;
    assert_eq!(answer.body["errors"][0]["field"], "price.amount_cents");

    let mut unknown = TestApp::course_body("t");
    unknown["instructor_id"] = json!("00000000-0000-0000-0000-000000000000");
    let answer = app.post("/api/v1/courses", &token, Some(&unknown)).await;
    assert_refused(&app, before, &answer, 400, "malformed_request").await;

    let mut missing = TestApp::course_body("t");
    missing.as_object_mut().map(|body| body.remove("price"));
    let answer = app.post("/api/v1/courses", &token, Some(&missing)).await;
    assert_refused(&app, before, &answer, 400, "malformed_request").await;

    let answer = app.post("/api/v1/courses", &token, Some(&json!([1, 2]))).await;
    assert_refused(&app, before, &answer, 400, "malformed_request").await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415_and_one_over_a_mebibyte_is_413() {
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    let before = app.event_count().await;
    let text = post_raw(&app, "/api/v1/courses", &token, "text/plain", "hello").await;
    assert_refused(&app, before, &text, 415, "unsupported_media_type").await;

    let mut huge = TestApp::course_body("t");
    huge["summary"] = Value::String("x".repeat(1024 * 1024 + 1));
    let answer = app.post("/api/v1/courses", &token, Some(&huge)).await;
    assert_refused(&app, before, &answer, 413, "payload_too_large").await;
}

#[tokio::test]
async fn a_missing_or_forged_token_is_401() {
    let app = TestApp::start().await;
    let before = app.event_count().await;
    let body = TestApp::course_body("t");
    let anonymous = app.send(app.http.post(app.url("/api/v1/courses")), Some(&body)).await;
    assert_refused(&app, before, &anonymous, 401, "unauthenticated").await;
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));

    let (_, token) = app.user(Role::Instructor);
    let mut forged = token.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    let answer = app.post("/api/v1/courses", &forged, Some(&body)).await;
    assert_refused(&app, before, &answer, 401, "unauthenticated").await;

    let basic =
        app.send(app.http.post(app.url("/api/v1/courses")).header("authorization", "Basic abc"), Some(&body)).await;
    assert_refused(&app, before, &basic, 401, "unauthenticated").await;
}

#[tokio::test]
async fn only_instructors_create_and_only_the_owner_publishes() {
    let app = TestApp::start().await;
    let before = app.event_count().await;
    for role in [Role::IndividualTrainee, Role::CorporateTrainee, Role::Admin] {
        let (_, token) = app.user(role);
        let answer = app.post("/api/v1/courses", &token, Some(&TestApp::course_body("t"))).await;
        assert_refused(&app, before, &answer, 403, "forbidden").await;
    }

    let (_, owner) = app.user(Role::Instructor);
    let course = app.create_course(&owner, "Mine").await.id();
    let before = app.event_count().await;
    for role in [Role::Instructor, Role::Admin, Role::IndividualTrainee] {
        let (_, other) = app.user(role);
        let answer = app.post(&format!("/api/v1/courses/{course}/publish"), &other, None).await;
        assert_refused(&app, before, &answer, 403, "forbidden").await;
    }
}

#[tokio::test]
async fn invalid_fields_are_422_with_every_field_named() {
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    let before = app.event_count().await;
    let mut body = TestApp::course_body("  ");
    body["price"]["amount_cents"] = json!(-1);
    body["category"] = json!("Cooking");
    let answer = app.post("/api/v1/courses", &token, Some(&body)).await;
    assert_refused(&app, before, &answer, 422, "validation_failed").await;
    let fields: Vec<&str> =
        answer.body["errors"].as_array().into_iter().flatten().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["title", "category", "price.amount_cents"]);

    let mut level = TestApp::course_body("t");
    level["level"] = json!("expert");
    let answer = app.post("/api/v1/courses", &token, Some(&level)).await;
    assert_refused(&app, before, &answer, 400, "malformed_request").await;
}

#[tokio::test]
async fn unknown_ids_are_404_and_malformed_ids_are_400() {
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    let before = app.event_count().await;
    let unknown = app.post(&format!("/api/v1/courses/{}/publish", uuid::Uuid::now_v7()), &token, None).await;
    assert_refused(&app, before, &unknown, 404, "not_found").await;
    let malformed = app.post("/api/v1/courses/not-a-uuid/publish", &token, None).await;
    assert_refused(&app, before, &malformed, 400, "malformed_request").await;

    assert_eq!(app.get(&format!("/api/v1/courses/{}", uuid::Uuid::now_v7()), None).await.status, 404);
    assert_eq!(app.get("/api/v1/courses/42", None).await.status, 400);
    let bad_page = app.get("/api/v1/courses?page=zero", None).await;
    assert_eq!((bad_page.status, bad_page.body["code"].as_str()), (400, Some("malformed_request")));
    let bad_token = app.get("/api/v1/courses", Some("not-a-token")).await;
    assert_eq!((bad_token.status, bad_token.body["code"].as_str()), (400, Some("malformed_request")));
}

#[tokio::test]
async fn publishing_twice_is_refused_with_its_rule() {
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    let course = app.create_course(&token, "Once").await.id();
    assert_eq!(app.post(&format!("/api/v1/courses/{course}/publish"), &token, None).await.status, 200);
    let before = app.event_count().await;
    let again = app.post(&format!("/api/v1/courses/{course}/publish"), &token, None).await;
    assert_refused(&app, before, &again, 422, "course_already_published").await;
}

/// Text PostgreSQL cannot store (U+0000) or that holds control characters is refused at the edge with the
/// field named, in bodies (sign-up and course creation by anyone), paths and query strings, and nothing is
/// appended; the projector never sees it, so no guest can stall the read models.
#[tokio::test]
async fn text_the_database_cannot_hold_is_422_with_the_field_named_and_never_appended() {
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    let before = app.event_count().await;

    let sign_up = json!({"email": "nul@example.com", "username": "nul", "password": "long enough",
                         "name": "Ada\u{0}Lovelace"});
    let answer = app.send(app.http.post(app.url("/api/v1/auth/register")), Some(&sign_up)).await;
    assert_refused(&app, before, &answer, 422, "invalid_text").await;
    assert_eq!(answer.body["errors"][0]["field"], "name");

    let answer = app.post("/api/v1/courses", &token, Some(&TestApp::course_body("Rust\u{0}"))).await;
    assert_refused(&app, before, &answer, 422, "invalid_text").await;
    assert_eq!(answer.body["errors"][0]["field"], "title");

    let mut nested = TestApp::course_body("Fine");
    nested["subcategories"] = json!(["Backend", "bell\u{7}"]);
    let answer = app.post("/api/v1/courses", &token, Some(&nested)).await;
    assert_refused(&app, before, &answer, 422, "invalid_text").await;
    assert_eq!(answer.body["errors"][0]["field"], "subcategories[1]");

    let answer = app.get("/api/v1/courses?search=a%00b", None).await;
    assert_refused(&app, before, &answer, 422, "invalid_text").await;
    assert_eq!(answer.body["errors"][0]["field"], "query.search");

    let answer = app.get("/api/v1/instructors/%00", None).await;
    assert_refused(&app, before, &answer, 422, "invalid_text").await;
    assert_eq!(answer.body["errors"][0]["field"], "path");

    // Everyday text in any script, with line breaks, still goes through.
    let created = app.create_course(&token, "Rust für Anfänger — 入门 — مقدمة").await;
    assert_eq!(created.status, 201);
}

/// Every 400 names what was wrong, in one problem shape, whatever it was: a query parameter of the wrong shape,
/// one the route does not read, a value outside its list, a missing or unknown body field, a path id, a
/// header. Nothing is ignored silently.
#[tokio::test]
async fn every_bad_request_names_its_parameter_or_field() {
    let app = TestApp::start().await;
    let (_, instructor) = app.user(Role::Instructor);
    let (_, admin) = app.user(Role::Admin);
    let some_id = uuid::Uuid::now_v7();
    let mut missing_title = TestApp::course_body("No title");
    missing_title.as_object_mut().expect("an object").remove("title");
    let mut unknown_field = TestApp::course_body("Extra");
    unknown_field["price"]["cents"] = serde_json::json!(1);
    let get = |path: String, token: &str| app.http.get(app.url(&path)).bearer_auth(token.to_owned());
    let cases: Vec<(reqwest::RequestBuilder, Option<serde_json::Value>, &str)> = vec![
        (get("/api/v1/courses?limit=x".into(), &instructor), None, "limit"),
        (get("/api/v1/courses?colour=red".into(), &instructor), None, "colour"),
        (get("/api/v1/courses?category=Nope".into(), &instructor), None, "category"),
        (get("/api/v1/courses?page=0".into(), &instructor), None, "page"),
        (get(format!("/api/v1/me/orders/{some_id}?until=shipped"), &admin), None, "until"),
        (get("/api/v1/events?after=-1".into(), &admin), None, "after"),
        (get("/api/v1/admin/dead-letters?subscriber=mailer".into(), &admin), None, "subscriber"),
        (get("/api/v1/admin/users?role=wizard".into(), &admin), None, "role"),
        (get("/api/v1/courses/not-an-id".into(), &instructor), None, "id"),
        (
            get("/api/v1/courses".into(), &instructor).header("x-consistency-token", "forged"),
            None,
            "X-Consistency-Token",
        ),
        (app.http.post(app.url("/api/v1/courses")).bearer_auth(&instructor), Some(missing_title), "title"),
        (app.http.post(app.url("/api/v1/courses")).bearer_auth(&instructor), Some(unknown_field), "price.cents"),
        (
            app.http.post(app.url("/api/v1/courses?draft=true")).bearer_auth(&instructor),
            Some(TestApp::course_body("A query on a command")),
            "draft",
        ),
    ];
    let before = app.event_count().await;
    for (request, body, field) in cases {
        let answer = app.send(request, body.as_ref()).await;
        assert_eq!(answer.status, 400, "{field}: {:?}", answer.body);
        assert_eq!(answer.header("content-type"), Some("application/problem+json"), "{field}");
        assert_eq!(answer.body["code"], "malformed_request", "{field}");
        assert_eq!(answer.body["errors"][0]["field"], field, "{:?}", answer.body);
        assert!(answer.body["errors"][0]["message"].as_str().is_some_and(|m| !m.is_empty()), "{:?}", answer.body);
        assert!(answer.body["detail"].as_str().is_some_and(|d| d.contains(field)), "{:?}", answer.body);
    }
    assert_eq!(app.event_count().await, before, "nothing changed");
}

/// Slow clients cannot hold the server: a request head still arriving after the header timeout loses its
/// connection, a body still arriving after the body timeout is `408` and changes nothing, and an answer that is
/// not ready in time (here an order awaited longer than the answer timeout) is `503`, all as problem JSON.
#[tokio::test]
async fn slow_clients_and_slow_answers_are_cut_off() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let timeouts = api_contract::Timeouts {
        header_read: Duration::from_secs(1),
        body_read: Duration::from_secs(1),
        answer: Duration::from_secs(2),
    };
    let app = TestApp::start_with_timeouts(timeouts).await;
    let address = app.url("").trim_start_matches("http://").to_owned();
    let before = app.event_count().await;

    // A head that never ends: the connection is closed soon after the timeout, with nothing served.
    let mut trickle = tokio::net::TcpStream::connect(&address).await.expect("connects");
    trickle.write_all(b"GET /healthz HTTP/1.1\r\nHost: learnlog\r\n").await.expect("writes");
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), trickle.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection is still open after 10 s");
    assert!(started.elapsed() < Duration::from_secs(5), "closed after {:?}", started.elapsed());
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"), "{}", String::from_utf8_lossy(&answer));

    // A body that stops half-way: 408, as problem JSON, and no event.
    let mut slow = tokio::net::TcpStream::connect(&address).await.expect("connects");
    let head = "POST /api/v1/auth/register HTTP/1.1\r\nHost: learnlog\r\nContent-Type: application/json\r\n\
                Content-Length: 200\r\nConnection: close\r\n\r\n{\"email\":";
    slow.write_all(head.as_bytes()).await.expect("writes");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "no answer within 10 s");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json") && answer.contains("request_timeout"), "{answer}");

    // An answer that waits longer than the server allows: 503 problem JSON.
    let (_, trainee) = app.user(Role::IndividualTrainee);
    let order = uuid::Uuid::now_v7();
    let url = app.url(&format!("/api/v1/me/orders/{order}?until=paid&wait=10"));
    let waited = app.send(app.http.get(url).bearer_auth(&trainee), None).await;
    assert_eq!((waited.status, waited.body["code"].as_str()), (503, Some("unavailable")), "{:?}", waited.body);
    assert_eq!(app.event_count().await, before, "nothing was written");
}
