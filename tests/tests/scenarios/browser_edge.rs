//! What a browser frontend on another origin meets: CORS preflights answered for the allowed origin only,
//! the consistency and ETag headers readable, gzip when asked for, and the security headers of an API.

use events::Role;
use reqwest::Method;
use serde_json::json;
use tests::TestApp;

const FRONTEND: &str = "http://localhost:8000";

#[tokio::test]
async fn a_preflight_from_the_frontend_is_answered_and_other_origins_are_not_allowed() {
    let app = TestApp::start().await;
    let preflight = |origin: &'static str| {
        app.http
            .request(Method::OPTIONS, app.url("/api/v1/courses"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type, idempotency-key")
    };
    let allowed = app.send(preflight(FRONTEND), None).await;
    assert_eq!(allowed.status, 200, "{:?}", allowed.body);
    assert_eq!(allowed.header("access-control-allow-origin"), Some(FRONTEND));
    let methods = allowed.header("access-control-allow-methods").unwrap_or_default().to_ascii_uppercase();
    assert!(methods.contains("POST") && methods.contains("PATCH"), "{methods}");
    let headers = allowed.header("access-control-allow-headers").unwrap_or_default().to_ascii_lowercase();
    for header in ["authorization", "content-type", "idempotency-key"] {
        assert!(headers.contains(header), "{header} not in {headers}");
    }
    assert!(allowed.header("access-control-max-age").is_some());

    let stranger = app.send(preflight("https://evil.example"), None).await;
    assert_eq!(stranger.header("access-control-allow-origin"), None, "{:?}", stranger.headers);

    // A real cross-origin command: the browser may read the token it needs for its next read.
    let (_, instructor) = app.user(Role::Instructor);
    let created = app
        .send(
            app.http.post(app.url("/api/v1/courses")).bearer_auth(&instructor).header("origin", FRONTEND),
            Some(&TestApp::course_body("Cross-origin")),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.header("access-control-allow-origin"), Some(FRONTEND));
    let exposed = created.header("access-control-expose-headers").unwrap_or_default().to_ascii_lowercase();
    for header in ["x-consistency-token", "x-consistency", "etag", "x-request-id"] {
        assert!(exposed.contains(header), "{header} not in {exposed}");
    }
}

#[tokio::test]
async fn answers_are_compressed_when_asked_and_carry_the_security_headers() {
    let app = TestApp::start().await;
    let (_, instructor) = app.user(Role::Instructor);
    let mut last = String::new();
    for n in 0..12 {
        let course = app.create_course(&instructor, &format!("A course with a long enough title {n}")).await;
        let published = app.publish(&instructor, course.id()).await;
        last = published.token();
    }
    let response = app
        .http
        .get(app.url("/api/v1/courses?limit=12"))
        .header("accept-encoding", "gzip")
        .header("x-consistency-token", &last)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers.get("content-encoding").and_then(|v| v.to_str().ok()), Some("gzip"));
    let compressed = response.bytes().await.expect("a body");
    assert_eq!(&compressed[..2], &[0x1f, 0x8b], "a gzip stream");
    let plain = app.get("/api/v1/courses?limit=12", Some(&last)).await;
    assert_eq!(plain.header("content-encoding"), None, "no compression unless asked");
    assert_eq!(plain.body["data"].as_array().map(Vec::len), Some(12));

    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
    ] {
        assert_eq!(headers.get(name).and_then(|v| v.to_str().ok()), Some(value), "{name}");
        assert_eq!(plain.header(name), Some(value), "{name}");
    }
    let problem = app.get("/api/v1/no-such-route", None).await;
    assert_eq!(problem.status, 404);
    assert_eq!(problem.header("x-content-type-options"), Some("nosniff"), "errors carry them too");
}

#[tokio::test]
async fn a_client_correlation_id_or_the_request_id_follows_a_command_into_its_events() {
    let app = TestApp::start().await;
    let (_, instructor) = app.user(Role::Instructor);
    let correlation = uuid::Uuid::now_v7();
    let created = app
        .send(
            app.http
                .post(app.url("/api/v1/courses"))
                .bearer_auth(&instructor)
                .header("x-correlation-id", correlation.to_string()),
            Some(&TestApp::course_body("Correlated")),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let stored = app
        .database
        .count(&format!("SELECT count(*) FROM events WHERE metadata::jsonb ->> 'correlation_id' = '{correlation}'"))
        .await;
    assert_eq!(stored, 1, "the event carries the client's correlation id");

    let plain = app.create_course(&instructor, "Uncorrelated").await;
    let request_id = plain.header("x-request-id").expect("every answer has a request id").to_owned();
    let stored = app
        .database
        .count(&format!("SELECT count(*) FROM events WHERE metadata::jsonb ->> 'correlation_id' = '{request_id}'"))
        .await;
    assert_eq!(stored, 1, "without one, the request's id correlates");
}

/// A page on the frontend's origin, in headless Chromium with its own HTTP cache: it reads a course page (kept up
/// to 30 s), adds an FAQ entry (another URL, so the browser does not drop its copy), and reads the page again
/// with the change's consistency token. The browser must not answer that read from its cache: it shows the
/// entry, fresh. (Before `Vary` named the token, Chromium answered it from its copy: no entry, no `X-Consistency`.)
#[tokio::test]
async fn a_browser_never_answers_a_consistency_token_from_its_cache() {
    let page = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port for the page");
    let origin = format!("http://localhost:{}", page.local_addr().expect("an address").port());
    let frontend = axum::Router::new().route(
        "/",
        axum::routing::get(|| async { axum::response::Html("<!doctype html><title>Learnlog frontend</title>") }),
    );
    let serving = tokio::spawn(async move { axum::serve(page, frontend).await });
    let app = TestApp::start_for_frontend(&origin).await;
    let (_, teacher) = app.instructor("cacheteacher", "Cache Teacher").await;
    let course = app.create_course(&teacher, "Caches that forget").await.id();
    let published = app.post(&format!("/api/v1/courses/{course}/publish"), &teacher, None).await;
    assert_eq!(published.status, 200, "{:?}", published.body);
    app.wait_until_projected().await;

    let browser = tests::browser::Browser::start().await;
    browser.open(&format!("{origin}/")).await;
    let script = r#"
        const [api, course, teacher, done] = arguments;
        const url = `${api}/api/v1/courses/${course}`;
        const read = async (headers) => {
            const answer = await fetch(url, { headers });
            return { status: answer.status, faq: (await answer.json()).data.faq.length,
                     consistency: answer.headers.get("x-consistency") };
        };
        (async () => {
            const before = await read({});
            const change = await fetch(`${url}/faq`, { method: "POST",
                body: JSON.stringify({ question: "Is it cached?", answer: "Not with a token." }),
                headers: { "Authorization": `Bearer ${teacher}`, "Content-Type": "application/json" } });
            const token = change.headers.get("x-consistency-token");
            const withToken = await read({ "X-Consistency-Token": token });
            return { before, changed: change.status, token, withToken };
        })().then(done, (error) => done({ error: String(error) }));
    "#;
    let seen = browser.run_async(script, json!([app.url(""), course, teacher])).await;
    browser.close().await;
    serving.abort();
    assert_eq!(seen["before"]["faq"], 0, "{seen}");
    assert_eq!(seen["changed"], 201, "{seen}");
    assert!(seen["token"].is_string(), "the frontend reads the token: {seen}");
    assert_eq!(seen["withToken"]["faq"], 1, "the token's read is not the cached one: {seen}");
    assert_eq!(seen["withToken"]["consistency"], "fresh", "{seen}");
}

/// The interactive API documentation renders in a real browser from what the server itself serves: the page, its
/// script and the document, under a content security policy that lets it load nothing from anywhere else.
#[tokio::test]
async fn the_api_documentation_renders_in_a_browser_with_nothing_from_elsewhere() {
    let app = TestApp::start().await;
    let page = app.send(app.http.get(app.url("/api/v1/docs")), None).await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap_or_default().starts_with("text/html"), "{:?}", page.headers);
    let policy = page.header("content-security-policy").unwrap_or_default().to_owned();
    for directive in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "font-src 'self' data:"] {
        assert!(policy.contains(directive), "{directive} not in {policy}");
    }

    let browser = tests::browser::Browser::start().await;
    browser.open(&app.url("/api/v1/docs")).await;
    // The page is done once RapiDoc has read the document and lists an operation by its summary.
    let script = r#"
        const done = arguments[arguments.length - 1];
        const deadline = Date.now() + 20000;
        const look = () => {
            const doc = document.querySelector('rapi-doc');
            const text = doc && doc.shadowRoot ? doc.shadowRoot.textContent : '';
            if (text.includes("Order the courses in one's cart") || Date.now() > deadline) {
                const elsewhere = performance.getEntriesByType('resource').map(e => e.name)
                    .filter(name => !name.startsWith(location.origin));
                done({ rendered: text.includes("Order the courses in one's cart"), elsewhere });
            } else {
                setTimeout(look, 200);
            }
        };
        look();
    "#;
    let seen = browser.run_async(script, json!([])).await;
    browser.close().await;
    assert_eq!(seen["rendered"], true, "{seen}");
    assert_eq!(seen["elsewhere"], json!([]), "{seen}");
}
