//! The OpenAPI document describes what the API really takes and answers: a walk through the main scenarios
//! (sign-up, login, courses and their content, discounts, catalogue reads, refusals of every kind) records
//! each request body and answer, and a JSON Schema validator (Python's jsonschema, JSON Schema 2020-12 as
//! OpenAPI 3.1 uses) checks every one against the served document.

use reqwest::Method;
use serde_json::{Value, json};
use tests::TestApp;

/// One exchange: the route as documented, what was sent and what came back.
struct Sample {
    method: Method,
    path: &'static str,
    status: u16,
    request: Option<Value>,
    response: Value,
}

struct Recorder<'a> {
    app: &'a TestApp,
    samples: Vec<Sample>,
}

impl Recorder<'_> {
    /// Sends `body` to `url` (a concrete path) as `token`, and records it under `template`.
    async fn call(
        &mut self,
        method: Method,
        template: &'static str,
        url: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> tests::app::Answer {
        let mut request = self.app.http.request(method.clone(), self.app.url(url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let answer = self.app.send(request, body.as_ref()).await;
        self.samples.push(Sample {
            method,
            path: template,
            status: answer.status,
            request: body,
            response: answer.body.clone(),
        });
        answer
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_requests_and_answers_match_the_openapi_document() {
    let app = TestApp::start().await;
    let (_, admin) = app.user(events::Role::Admin);
    let mut r = Recorder { app: &app, samples: Vec::new() };

    let sign_up = json!({ "email": "contract@example.com", "username": "contract", "password": "a long password",
                          "name": "Contract", "country": "EG" });
    r.call(Method::POST, "/api/v1/auth/register", "/api/v1/auth/register", None, Some(sign_up.clone())).await;
    r.call(Method::POST, "/api/v1/auth/register", "/api/v1/auth/register", None, Some(sign_up)).await; // 409
    let bad = json!({ "email": "nope", "username": "x y", "password": "short", "name": "" });
    r.call(Method::POST, "/api/v1/auth/register", "/api/v1/auth/register", None, Some(bad)).await; // 422
    let instructor = json!({ "kind": "instructor", "email": "teacher@example.com", "username": "teacher",
                             "password": "a long password", "name": "Teacher" });
    r.call(Method::POST, "/api/v1/admin/users", "/api/v1/admin/users", Some(&admin), Some(instructor)).await;
    let login = json!({ "login": "teacher", "password": "a long password" });
    let session = r.call(Method::POST, "/api/v1/auth/login", "/api/v1/auth/login", None, Some(login)).await;
    let teacher = session.body["data"]["access_token"].as_str().expect("a token").to_owned();
    let wrong = json!({ "login": "teacher", "password": "not the password" });
    r.call(Method::POST, "/api/v1/auth/login", "/api/v1/auth/login", None, Some(wrong)).await; // 401

    let course = r
        .call(
            Method::POST,
            "/api/v1/courses",
            "/api/v1/courses",
            Some(&teacher),
            Some(TestApp::course_body("Contract")),
        )
        .await;
    let id = course.id();
    let base = format!("/api/v1/courses/{id}");
    let patch = json!({ "title": "Contract, renamed", "level": "advanced" });
    r.call(Method::PATCH, "/api/v1/courses/{id}", &base, Some(&teacher), Some(patch)).await;
    let section = r
        .call(
            Method::POST,
            "/api/v1/courses/{id}/sections",
            &format!("{base}/sections"),
            Some(&teacher),
            Some(json!({ "title": "Basics" })),
        )
        .await;
    let section_id = section.id();
    let lesson = json!({ "title": "Hello", "video_url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                         "duration_min": 12 });
    r.call(
        Method::POST,
        "/api/v1/courses/{id}/sections/{section_id}/lessons",
        &format!("{base}/sections/{section_id}/lessons"),
        Some(&teacher),
        Some(lesson),
    )
    .await;
    let discount = json!({ "percent": 20, "starts_on": "2026-01-01", "ends_on": "2026-01-31" });
    r.call(
        Method::POST,
        "/api/v1/courses/{id}/discounts",
        &format!("{base}/discounts"),
        Some(&teacher),
        Some(discount),
    )
    .await;
    let published =
        r.call(Method::POST, "/api/v1/courses/{id}/publish", &format!("{base}/publish"), Some(&teacher), None).await;
    r.call(Method::POST, "/api/v1/courses/{id}/publish", &format!("{base}/publish"), Some(&teacher), None).await; // 422
    r.call(Method::POST, "/api/v1/courses", "/api/v1/courses", None, Some(TestApp::course_body("Guest"))).await; // 401
    let nul = TestApp::course_body("Nul\u{0}");
    r.call(Method::POST, "/api/v1/courses", "/api/v1/courses", Some(&teacher), Some(nul)).await; // 422 invalid_text

    // Reads, once the projector caught up with the publication.
    let token = published.token();
    let page = app.get(&format!("{base}?country=DE"), Some(&token)).await;
    r.samples.push(Sample {
        method: Method::GET,
        path: "/api/v1/courses/{id}",
        status: page.status,
        request: None,
        response: page.body,
    });
    r.call(Method::GET, "/api/v1/courses", "/api/v1/courses?search=contract&sort=newest", None, None).await;
    r.call(Method::GET, "/api/v1/courses", "/api/v1/courses?page=zero", None, None).await; // 400
    r.call(Method::GET, "/api/v1/courses/{id}", "/api/v1/courses/not-an-id", None, None).await; // 400
    r.call(Method::GET, "/api/v1/me", "/api/v1/me", Some(&teacher), None).await;
    // A published course without any content reads in the same shape as one with content.
    let bare = app.create_course(&teacher, "Bare").await.id();
    let bare_published = app.post(&format!("/api/v1/courses/{bare}/publish"), &teacher, None).await;
    let bare_page = app.get(&format!("/api/v1/courses/{bare}"), Some(&bare_published.token())).await;
    assert_eq!(bare_page.body["data"]["exam"], json!({ "question_count": 0 }), "{:?}", bare_page.body);
    r.samples.push(Sample {
        method: Method::GET,
        path: "/api/v1/courses/{id}",
        status: bare_page.status,
        request: None,
        response: bare_page.body,
    });
    r.call(Method::GET, "/api/v1/categories", "/api/v1/categories", None, None).await;
    r.call(Method::GET, "/api/v1/admin/dead-letters", "/api/v1/admin/dead-letters", Some(&admin), None).await;

    // Every part of a course, as its instructor and an enrolled trainee read it.
    let exercises = format!("{base}/sections/{section_id}/exercises");
    let exercise_id = app.post(&exercises, &teacher, Some(&json!({ "title": "Try" }))).await.id();
    let question = json!({ "question": "Which one?", "options": ["this", "that"], "answer": "that" });
    app.post(&format!("{base}/sections/{section_id}/exercises/{exercise_id}/questions"), &teacher, Some(&question))
        .await;
    let exam = json!({ "questions": [question] });
    assert_eq!(app.call(Method::PUT, &format!("{base}/exam"), &teacher, Some(&exam)).await.status, 200);
    app.post(&format!("{base}/faq"), &teacher, Some(&json!({ "question": "Why?", "answer": "Because." }))).await;
    let posted = json!({ "title": "Welcome", "description": "Glad you came" });
    let last = app.post(&format!("{base}/announcements"), &teacher, Some(&posted)).await.token();
    let owned_url = app.url(&format!("/api/v1/me/instructor/courses/{id}"));
    let owned = app.send(app.http.get(owned_url).bearer_auth(&teacher).header("x-consistency-token", last), None).await;
    assert_eq!(owned.status, 200, "{:?}", owned.body);
    r.samples.push(Sample {
        method: Method::GET,
        path: "/api/v1/me/instructor/courses/{id}",
        status: owned.status,
        request: None,
        response: owned.body,
    });
    let (learner_id, learner) = crate::commerce::trainee(&app, "learner").await;
    let grant = json!({ "course_id": id, "trainee_id": learner_id });
    let granted = app.post("/api/v1/admin/enrollments", &admin, Some(&grant)).await;
    assert!(granted.status < 300, "{:?}", granted.body);
    let opened = app.post(&format!("/api/v1/enrollments/{id}/open"), &learner, None).await;
    assert!(opened.status < 300, "{:?}", opened.body);
    for (template, url) in [
        ("/api/v1/me/enrollments/{id}", format!("/api/v1/me/enrollments/{id}")),
        ("/api/v1/me/last-viewed-course", "/api/v1/me/last-viewed-course".to_owned()),
    ] {
        let read = app
            .send(app.http.get(app.url(&url)).bearer_auth(&learner).header("x-consistency-token", opened.token()), None)
            .await;
        assert_eq!(read.status, 200, "{template}: {:?}", read.body);
        r.samples.push(Sample {
            method: Method::GET,
            path: template,
            status: read.status,
            request: None,
            response: read.body,
        });
    }
    r.call(Method::GET, "/api/v1/me/orders", "/api/v1/me/orders", Some(&learner), None).await;
    r.call(Method::GET, "/api/v1/me/reports", "/api/v1/me/reports", Some(&learner), None).await;
    r.call(Method::GET, "/api/v1/admin/users/activity", "/api/v1/admin/users/activity", Some(&admin), None).await;

    let statuses: Vec<u16> = r.samples.iter().map(|s| s.status).collect();
    for expected in [200, 201, 400, 401, 409, 422] {
        assert!(statuses.contains(&expected), "the walk covers {expected}: {statuses:?}");
    }

    let document = app.get("/api/v1/openapi.json", None).await.body;
    let folder = std::env::temp_dir().join(format!("learnlog-openapi-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&folder).expect("a folder");
    let document_path = folder.join("openapi.json");
    std::fs::write(&document_path, document.to_string()).expect("the document is written");
    let lines: Vec<String> = r
        .samples
        .iter()
        .map(|s| {
            json!({ "method": s.method.as_str(), "path": s.path, "status": s.status, "request": s.request,
                    "response": if s.response.is_null() { None } else { Some(&s.response) } })
            .to_string()
        })
        .collect();
    let samples_path = folder.join("samples.jsonl");
    std::fs::write(&samples_path, lines.join("\n")).expect("the samples are written");
    let script = tests::package_dir().join("python/validate_openapi.py");
    let output = tokio::process::Command::new(tests::kafka::python())
        .arg(script)
        .arg(&document_path)
        .arg(&samples_path)
        .output()
        .await
        .expect("the validator runs");
    let report = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    let _ = std::fs::remove_dir_all(&folder);
    assert!(output.status.success(), "{report}");
    assert!(report.contains(" 0 failures"), "{report}");
}

/// How the server refuses a request outside the document (schemathesis' list, and 408 and 413 of the edge).
const REFUSALS: [&str; 14] =
    ["400", "401", "403", "404", "405", "406", "408", "409", "413", "415", "422", "428", "429", "5xx"];

/// Schemathesis generates requests from the served document, as an admin, an instructor, a trainee, an analyst
/// and a guest (each over the operations open to them, with a course of real parts to aim at), and every check
/// holds: no server error, every answer as documented (status, media type, headers, body schema), every request
/// outside the document refused, and no request the document allows refused as malformed
/// (tests/python/schemathesis_hooks.py).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_broken_promise() {
    let app = TestApp::start().await;
    let (_, admin) = app.user(events::Role::Admin);
    let (_, instructor) = app.instructor("generated", "Schema Thesis").await;
    let (_, trainee) = crate::commerce::trainee(&app, "fuzzed").await;
    let course = app.create_course(&instructor, "A course to aim at").await.id();
    let base = format!("/api/v1/courses/{course}");
    let part = |path: String, body: Value| {
        let (app, instructor) = (&app, &instructor);
        async move {
            let answer = app.post(&path, instructor, Some(&body)).await;
            assert!(answer.status < 300, "{path}: {:?}", answer.body);
            answer.id()
        }
    };
    let section = part(format!("{base}/sections"), json!({ "title": "One" })).await;
    let lesson = json!({ "title": "Clip", "video_url": "https://youtu.be/dQw4w9WgXcQ", "duration_min": 5 });
    let lesson = part(format!("{base}/sections/{section}/lessons"), lesson).await;
    let exercise = part(format!("{base}/sections/{section}/exercises"), json!({ "title": "Try it" })).await;
    let faq = part(format!("{base}/faq"), json!({ "question": "Why?", "answer": "Because." })).await;
    let announcement = part(format!("{base}/announcements"), json!({ "title": "Hi", "description": "Welcome" })).await;

    let folder = std::env::temp_dir().join(format!("learnlog-schemathesis-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&folder).expect("a folder for the run");
    let config = folder.join("schemathesis.toml");
    let parameters = [
        ("id", course),
        ("section_id", section),
        ("lesson_id", lesson),
        ("exercise_id", exercise),
        ("faq_id", faq),
        ("announcement_id", announcement),
    ];
    let lines: Vec<String> = parameters.iter().map(|(name, id)| format!("\"path.{name}\" = \"{id}\"")).collect();
    // An order read with `until` waits for the order up to `wait` seconds (ten by default): one is enough here.
    // A body over the limit is refused with 413, which schemathesis does not count as a refusal by default.
    let config_text = format!(
        "[checks.negative_data_rejection]\nexpected-statuses = [{}]\n\n[parameters]\n{}\n\"query.wait\" = 1\n",
        REFUSALS.map(|status| format!("\"{status}\"")).join(", "),
        lines.join("\n")
    );
    std::fs::write(&config, config_text).expect("the config is written");

    let script = tests::package_dir().join("python/contract_run.py");
    let output = tokio::process::Command::new(tests::kafka::python())
        .arg(script)
        .arg(app.url(""))
        .arg(&config)
        .arg("4")
        .arg(format!("admin={admin}"))
        .arg(format!("instructor={instructor}"))
        .arg(format!("individual_trainee={trainee}"))
        .arg(format!("analyst={}", app.user(events::Role::Analyst).1))
        .arg("guest=")
        .output()
        .await
        .expect("schemathesis runs");
    let report = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    let _ = std::fs::remove_dir_all(&folder);
    assert!(output.status.success(), "{report}");
    assert!(report.contains("every run passed"), "{report}");
}

/// A TypeScript client generated from the served document (npm's openapi-typescript) compiles with a small client
/// over it (tests/typescript/client.ts, tsc in strict mode): what a frontend's generator gets is valid and typed.
#[tokio::test]
async fn a_typescript_client_generated_from_the_document_compiles() {
    let app = TestApp::start().await;
    let folder = std::env::temp_dir().join(format!("learnlog-typescript-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&folder).expect("a folder for the document");
    let document = folder.join("openapi.json");
    let served = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(served.status, 200);
    std::fs::write(&document, served.body.to_string()).expect("the document is written");
    let script = tests::package_dir().join("typescript/check.sh");
    let output = tokio::process::Command::new("bash").arg(script).arg(&document).output().await.expect("check.sh runs");
    let report = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    let _ = std::fs::remove_dir_all(&folder);
    assert!(output.status.success(), "{report}");
    assert!(report.contains("compiles"), "{report}");
}
