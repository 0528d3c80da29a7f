//! The first slice end to end through HTTP: create, publish, read back with the consistency token.

use events::Role;
use tests::TestApp;

#[tokio::test]
async fn an_instructor_creates_and_publishes_a_course_and_reads_it_back_with_the_token() {
    let app = TestApp::start().await;
    let (instructor, token) = app.user(Role::Instructor);

    let created = app.create_course(&token, "Rust for web services").await;
    let course_id = created.id();
    assert_eq!(created.header("x-consistency-token"), Some(created.token().as_str()));
    assert_eq!(created.body["data"]["version"], 1);
    assert_eq!(created.header("etag"), Some("\"1\""));

    // A draft is not in the public catalogue, even once the projector has it.
    let draft = app.get(&format!("/api/v1/courses/{course_id}"), Some(&created.token())).await;
    assert_eq!(draft.status, 404);
    assert_eq!(draft.header("x-consistency"), Some("fresh"));

    let published = app.publish(&token, course_id).await;
    assert_eq!(published.status, 200, "{:?}", published.body);
    assert_eq!(published.body["data"]["version"], 4, "created, a section, a lesson, published");

    let course = app.get(&format!("/api/v1/courses/{course_id}"), Some(&published.token())).await;
    assert_eq!(course.status, 200);
    assert_eq!(course.header("x-consistency"), Some("fresh"));
    let data = &course.body["data"];
    assert_eq!(data["title"], "Rust for web services");
    assert_eq!(data["status"], "published");
    assert_eq!(data["price"]["amount_cents"], 1999);
    assert_eq!(data["price"]["currency"], "USD");
    assert_eq!(data["instructor"]["id"], instructor.to_string());
    assert_eq!(data["level"], "beginner");

    let list = app.get("/api/v1/courses", Some(&published.token())).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["total_results"], 1);
    assert_eq!(list.body["data"][0]["id"], course_id.to_string());
}

#[tokio::test]
async fn the_catalogue_pages_with_the_list_envelope() {
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    for n in 0..5 {
        let id = app.create_course(&token, &format!("Course {n}")).await.id();
        assert_eq!(app.publish(&token, id).await.status, 200);
    }
    // Published with no lesson: reached by its link, never listed, and its price bounds no slider.
    let mut body = TestApp::course_body("Nothing to learn yet");
    body["price"]["amount_cents"] = serde_json::json!(99_999);
    let empty = app.post("/api/v1/courses", &token, Some(&body)).await.id();
    let published = app.post(&format!("/api/v1/courses/{empty}/publish"), &token, None).await;
    assert_eq!(published.status, 200, "{:?}", published.body);
    let last = published.token();
    assert_eq!(app.get(&format!("/api/v1/courses/{empty}"), Some(&last)).await.status, 200);
    let max = app.get("/api/v1/courses/price/max", Some(&last)).await;
    assert_eq!(max.body["data"]["max"]["amount_cents"], 1999, "{:?}", max.body);
    let page = app.get("/api/v1/courses?page=2&limit=2", Some(&last)).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body["page"], 2);
    assert_eq!(page.body["page_size"], 2);
    assert_eq!(page.body["total_pages"], 3);
    assert_eq!(page.body["total_results"], 5);
    // Newest first: page 2 holds the third and second most recent.
    assert_eq!(page.body["data"][0]["title"], "Course 2");
    let beyond = app.get("/api/v1/courses?page=9&limit=2", None).await;
    assert_eq!((beyond.body["page_size"].as_i64(), beyond.body["total_results"].as_i64()), (Some(0), Some(5)));
    let capped = app.get("/api/v1/courses?limit=1000", None).await;
    assert_eq!(capped.status, 200);
    assert_eq!(capped.body["total_pages"], 1);
}

#[tokio::test]
async fn a_read_whose_write_is_not_projected_yet_answers_stale_after_the_wait() {
    let mut app = TestApp::start().await;
    app.stop_projector().await;
    let (_, token) = app.user(Role::Instructor);
    let created = app.create_course(&token, "Not yet projected").await;
    let answer = app.get("/api/v1/courses", Some(&created.token())).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("x-consistency"), Some("stale"));
    assert_eq!(answer.body["total_results"], 0);

    app.start_projector().await;
    let fresh = app.get(&format!("/api/v1/courses/{}", created.id()), Some(&created.token())).await;
    assert_eq!(fresh.header("x-consistency"), Some("fresh"));
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::start().await;
    assert_eq!(app.get("/healthz", None).await.status, 200);
    assert_eq!(app.get("/readyz", None).await.status, 200);
    let unknown = app.get("/api/v1/nothing-here", None).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["code"], "not_found");
}

#[tokio::test]
async fn the_owner_changes_details_and_price_and_the_catalogue_follows() {
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    let course = app.create_course(&token, "First edition").await.id();
    app.post(&format!("/api/v1/courses/{course}/publish"), &token, None).await;
    let path = format!("/api/v1/courses/{course}");
    let body = serde_json::json!({ "title": "Second edition", "price": { "amount_cents": 2999, "currency": "USD" } });

    let request = app.http.patch(app.url(&path)).bearer_auth(&token).header("if-match", "\"2\"");
    let changed = app.send(request, Some(&body)).await;
    assert_eq!((changed.status, changed.body["data"]["version"].as_i64()), (200, Some(4)), "{:?}", changed.body);
    let read = app.get(&path, Some(&changed.token())).await;
    assert_eq!(read.body["data"]["title"], "Second edition");
    assert_eq!(read.body["data"]["price"]["amount_cents"], 2999);
    assert_eq!(read.body["data"]["summary"], "Build and run HTTP services", "fields left out stay");

    let before = app.event_count().await;
    let stale =
        app.send(app.http.patch(app.url(&path)).bearer_auth(&token).header("if-match", "\"2\""), Some(&body)).await;
    assert_eq!((stale.status, stale.body["code"].as_str()), (409, Some("conflict")));
    let (_, other) = app.user(Role::Instructor);
    assert_eq!(app.send(app.http.patch(app.url(&path)).bearer_auth(&other), Some(&body)).await.status, 403);
    let invalid = serde_json::json!({ "category": "Database" });
    let answer = app.send(app.http.patch(app.url(&path)).bearer_auth(&token), Some(&invalid)).await;
    assert_eq!((answer.status, answer.body["errors"][0]["field"].as_str()), (422, Some("subcategories")));
    let smuggled = serde_json::json!({ "instructor_id": uuid::Uuid::now_v7() });
    assert_eq!(app.send(app.http.patch(app.url(&path)).bearer_auth(&token), Some(&smuggled)).await.status, 400);
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn a_retired_course_leaves_the_catalogue_for_good() {
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    let draft = app.create_course(&token, "Never published").await.id();
    let not_yet = app.post(&format!("/api/v1/courses/{draft}/retire"), &token, None).await;
    assert_eq!((not_yet.status, not_yet.body["code"].as_str()), (422, Some("course_not_published")));

    let course = app.create_course(&token, "To be retired").await.id();
    app.post(&format!("/api/v1/courses/{course}/publish"), &token, None).await;
    let (_, other) = app.user(Role::Instructor);
    assert_eq!(app.post(&format!("/api/v1/courses/{course}/retire"), &other, None).await.status, 403);
    let retired = app.post(&format!("/api/v1/courses/{course}/retire"), &token, None).await;
    assert_eq!(retired.status, 200, "{:?}", retired.body);
    let list = app.get("/api/v1/courses", Some(&retired.token())).await;
    assert_eq!(list.body["total_results"], 0);
    assert_eq!(app.get(&format!("/api/v1/courses/{course}"), None).await.status, 404);
    for action in ["retire", "publish"] {
        let again = app.post(&format!("/api/v1/courses/{course}/{action}"), &token, None).await;
        assert_eq!((again.status, again.body["code"].as_str()), (422, Some("course_retired")), "{action}");
    }
}

/// A consistency token is signed: one altered to name a write far ahead, one of the old unsigned shape and one
/// signed by another server are refused at once with 400, not waited for; a real one is waited for.
#[tokio::test]
async fn a_forged_or_foreign_consistency_token_is_refused_at_once() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    let created = app.create_course(&token, "Signed tokens").await;
    let real = created.token();
    let (_, signature) = real.split_once('.').expect("a signed token");
    let stream = format!("course-{}", created.id());
    let ahead = format!("{}.{signature}", URL_SAFE_NO_PAD.encode(format!("2:99999999:1:{stream}")));
    let unsigned = URL_SAFE_NO_PAD.encode(format!("1:99999999:1:{stream}"));
    let other =
        api_contract::TokenKeys::new(&"another server's secret, long enough to sign".to_owned().into()).expect("keys");
    let foreign = other.consistency().seal(&api_contract::ConsistencyToken {
        position: 99_999_999,
        stream_id: stream,
        stream_version: 1,
    });
    for forged in [ahead, unsigned, foreign] {
        let started = std::time::Instant::now();
        let answer = app.get("/api/v1/courses", Some(&forged)).await;
        assert_eq!((answer.status, answer.body["code"].as_str()), (400, Some("malformed_request")), "{forged}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "{forged} was waited for");
    }
    let request = app
        .http
        .get(app.url(&format!("/api/v1/me/instructor/courses/{}", created.id())))
        .bearer_auth(&token)
        .header("x-consistency-token", &real);
    let own = app.send(request, None).await;
    assert_eq!((own.status, own.header("x-consistency")), (200, Some("fresh")), "{:?}", own.body);
}

/// A course's page shows its long description, its preview video (any YouTube link, kept as the embed URL), its
/// outline, keywords and captions; a change replaces what it names, and an empty preview removes it.
#[tokio::test]
async fn a_course_page_shows_its_description_preview_and_outline() {
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    let mut body = TestApp::course_body("Rust for web services");
    body["description"] = serde_json::json!("From a first route to a service in production.");
    body["preview_video_url"] = serde_json::json!("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=10");
    body["outline"] = serde_json::json!([" Routing ", "State", "Deployment"]);
    body["keywords"] = serde_json::json!(["rust", "axum"]);
    body["captions"] = serde_json::json!(["English"]);
    let created = app.post("/api/v1/courses", &token, Some(&body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let course_id = created.id();
    let published = app.post(&format!("/api/v1/courses/{course_id}/publish"), &token, None).await;
    let page = app.get(&format!("/api/v1/courses/{course_id}"), Some(&published.token())).await;
    let data = &page.body["data"];
    assert_eq!(data["description"], "From a first route to a service in production.");
    assert_eq!(data["preview_video_url"], "https://www.youtube.com/embed/dQw4w9WgXcQ");
    assert_eq!(data["outline"], serde_json::json!(["Routing", "State", "Deployment"]));
    assert_eq!(
        (&data["keywords"], &data["captions"]),
        (&serde_json::json!(["rust", "axum"]), &serde_json::json!(["English"]))
    );

    let not_youtube = serde_json::json!({ "preview_video_url": "https://vimeo.com/1" });
    let refused =
        app.call(reqwest::Method::PATCH, &format!("/api/v1/courses/{course_id}"), &token, Some(&not_youtube)).await;
    assert_eq!((refused.status, refused.body["errors"][0]["field"].as_str()), (422, Some("preview_video_url")));
    let change = serde_json::json!({ "preview_video_url": "", "outline": ["Routing", "Tracing"] });
    let changed =
        app.call(reqwest::Method::PATCH, &format!("/api/v1/courses/{course_id}"), &token, Some(&change)).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let page = app.get(&format!("/api/v1/courses/{course_id}"), Some(&changed.token())).await;
    let data = &page.body["data"];
    assert_eq!(
        (&data["preview_video_url"], &data["outline"]),
        (&serde_json::Value::Null, &serde_json::json!(["Routing", "Tracing"]))
    );
    assert_eq!(data["description"], "From a first route to a service in production.", "kept");
    let rebuilt = app.rebuild().await;
    assert_eq!(TestApp::catalogue(&rebuilt).await, TestApp::catalogue(&app.database).await, "a rebuild reads the same");
}

/// A price slider's end: the highest undiscounted price of a published course, in the caller's currency.
#[tokio::test]
async fn the_highest_price_of_the_catalogue_bounds_a_price_slider() {
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    let (_, admin) = app.user(Role::Admin);
    let empty = app.get("/api/v1/courses/price/max", None).await;
    assert_eq!(empty.body["data"]["max"], serde_json::json!({ "amount_cents": 0, "currency": "USD" }));
    let mut last = String::new();
    for (title, cents, publish) in [("Cheap", 999, true), ("Dear", 4_999, true), ("Draft", 99_999, false)] {
        let mut body = TestApp::course_body(title);
        body["price"]["amount_cents"] = serde_json::json!(cents);
        let created = app.post("/api/v1/courses", &token, Some(&body)).await;
        last = created.token();
        if publish {
            last = app.publish(&token, created.id()).await.token();
        }
    }
    let rate = app
        .call(reqwest::Method::PUT, "/api/v1/admin/fx-rates/EUR", &admin, Some(&serde_json::json!({ "rate": 0.5 })))
        .await;
    let max = app.get("/api/v1/courses/price/max", Some(&last)).await;
    assert_eq!(
        max.body["data"]["max"],
        serde_json::json!({ "amount_cents": 4_999, "currency": "USD" }),
        "drafts do not count"
    );
    let in_euros = app.get("/api/v1/courses/price/max?country=DE", Some(&rate.token())).await;
    assert_eq!(in_euros.body["data"]["max"], serde_json::json!({ "amount_cents": 2_500, "currency": "EUR" }));
}
