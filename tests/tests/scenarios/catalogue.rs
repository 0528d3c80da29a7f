//! The catalogue end to end through HTTP: an instructor authors a course with content and a discount and
//! publishes it; the public finds it by search with the converted, discounted price; nobody else touches it.

use events::Role;
use reqwest::Method;
use serde_json::{Value, json};
use tests::TestApp;
use tests::app::Answer;
use time::{Duration, OffsetDateTime};

fn today_plus(days: i64) -> String {
    (OffsetDateTime::now_utc().date() + Duration::days(days)).to_string()
}

fn course(title: &str, cents: i64) -> Value {
    json!({ "title": title, "summary": "From tokens to machine code", "category": "Programming Languages",
            "subcategories": ["C++"], "level": "intermediate", "language": "English",
            "price": { "amount_cents": cents, "currency": "USD" } })
}

fn question(answer: &str) -> Value {
    json!({ "question": "What turns text into tokens?", "options": ["a lexer", "a linker"], "answer": answer })
}

struct Authored {
    id: String,
    section: String,
    token: String,
}

/// Creates, fills and publishes a course as `token`; every step must succeed.
/// A public read is answered again from memory (with `Age`) while the read models stand still, and read afresh
/// once a projector batch has committed: a read after the projector applied a write sees it, with a token or
/// without. A read with a token is never answered from memory; a client holding the answer gets 304.
#[tokio::test]
async fn a_public_read_is_kept_in_memory_only_while_the_read_models_stand_still() {
    let app = TestApp::start().await;
    let (_, token) = app.instructor("keeper", "Kept Teacher").await;
    let course = author(&app, &token, "Kept engines").await;
    app.wait_until_projected().await;
    let path = format!("/api/v1/courses/{}", course.id);
    let read = |if_none_match: Option<&str>| {
        let mut request = app.http.get(app.url(&path));
        if let Some(etag) = if_none_match {
            request = request.header("if-none-match", etag);
        }
        app.send(request, None)
    };
    let first = read(None).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert!(first.header("age").is_none(), "read from the read models");
    // The route is known as public from its first answer on; an answer is kept from the next one on.
    let mut kept = read(None).await;
    for _ in 0..20 {
        if kept.header("age").is_some() {
            break;
        }
        kept = read(None).await;
    }
    assert_eq!(kept.header("age"), Some("0"), "answered from memory");
    assert_eq!((kept.status, &kept.body), (200, &first.body));
    let etag = kept.header("etag").expect("an ETag").to_owned();
    assert_eq!(read(Some(&etag)).await.status, 304);

    let rename = app
        .call(Method::PATCH, &format!("/api/v1/courses/{}", course.id), &token, Some(&json!({ "title": "Engines" })))
        .await;
    assert_eq!(rename.status, 200, "{:?}", rename.body);
    app.wait_until_projected().await;
    let renamed = read(Some(&etag)).await;
    assert_eq!((renamed.status, renamed.body["data"]["title"].as_str()), (200, Some("Engines")), "read afresh");
    let asked = app.send(app.http.get(app.url(&path)).header("x-consistency-token", rename.token()), None).await;
    assert_eq!((asked.status, asked.header("age")), (200, None), "a read with a token is never kept");
}

async fn author(app: &TestApp, token: &str, title: &str) -> Authored {
    let ok = |answer: &Answer, status: u16| assert_eq!(answer.status, status, "{:?}", answer.body);
    let created = app.post("/api/v1/courses", token, Some(&course(title, 2000))).await;
    ok(&created, 201);
    let id = created.id().to_string();
    let base = format!("/api/v1/courses/{id}");
    let section = app.post(&format!("{base}/sections"), token, Some(&json!({ "title": "Lexing" }))).await;
    ok(&section, 201);
    let section_id = section.id().to_string();
    let lesson = json!({ "title": "Tokens", "video_url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                         "duration_min": 90 });
    ok(&app.post(&format!("{base}/sections/{section_id}/lessons"), token, Some(&lesson)).await, 201);
    let exercise =
        app.post(&format!("{base}/sections/{section_id}/exercises"), token, Some(&json!({ "title": "Lex it" }))).await;
    ok(&exercise, 201);
    let questions = format!("{base}/sections/{section_id}/exercises/{}/questions", exercise.id());
    ok(&app.post(&questions, token, Some(&question("a lexer"))).await, 201);
    let exam = json!({ "questions": [question("a lexer")] });
    ok(&app.call(Method::PUT, &format!("{base}/exam"), token, Some(&exam)).await, 200);
    let faq = json!({ "question": "Do I need C++?", "answer": "A little." });
    ok(&app.post(&format!("{base}/faq"), token, Some(&faq)).await, 201);
    let discount = json!({ "percent": 25, "starts_on": today_plus(-1), "ends_on": today_plus(5) });
    ok(&app.post(&format!("{base}/discounts"), token, Some(&discount)).await, 201);
    let published = app.post(&format!("{base}/publish"), token, None).await;
    ok(&published, 200);
    Authored { id, section: section_id, token: published.token() }
}

#[tokio::test]
async fn a_published_course_is_found_by_instructor_name_with_its_discounted_price_in_euros() {
    let app = TestApp::start().await;
    let (_, admin) = app.user(Role::Admin);
    let rate = app.call(Method::PUT, "/api/v1/admin/fx-rates/EUR", &admin, Some(&json!({ "rate": 0.92 }))).await;
    assert_eq!(rate.status, 200, "{:?}", rate.body);
    let (instructor_id, token) = app.instructor("grace", "Grace Hopper").await;
    let course = author(&app, &token, "Compilers from scratch").await;

    let found = app.get("/api/v1/courses?search=HOPPER&country=DE", Some(&course.token)).await;
    assert_eq!(found.status, 200, "{:?}", found.body);
    assert_eq!(found.header("x-consistency"), Some("fresh"));
    assert_eq!(found.body["total_results"], 1);
    let row = &found.body["data"][0];
    assert_eq!(row["id"], course.id.as_str());
    assert_eq!(row["instructor"]["name"], "Grace Hopper");
    // 20.00 USD, 25 % off: 15.00 USD, at 0.92: 13.80 EUR; before the discount 18.40 EUR.
    assert_eq!(row["price"], json!({ "amount_cents": 1380, "currency": "EUR" }));
    assert_eq!(row["list_price"], json!({ "amount_cents": 1840, "currency": "EUR" }));
    assert_eq!(row["discount"]["percent"], 25);
    assert_eq!((row["duration_hours"].as_i64(), row["lesson_count"].as_i64()), (Some(1), Some(1)));

    let discounts = app.get(&format!("/api/v1/courses/{}/discounts", course.id), None).await;
    let listed = &discounts.body["data"][0];
    assert_eq!((listed["percent"].as_i64(), listed["issued_by"].as_str()), (Some(25), Some("instructor")));
    assert_eq!((listed["active"].as_bool(), listed["ends_on"].as_str()), (Some(true), Some(today_plus(5).as_str())));
    let by_admins = app.get(&format!("/api/v1/courses/{}/discounts?issued_by=admin", course.id), None).await;
    assert_eq!(by_admins.body["data"], json!([]));

    // A country without a rate shows dollars, labelled as dollars (D8).
    let dollars = app.get("/api/v1/courses?search=compilers&country=JP", None).await;
    assert_eq!(dollars.body["data"][0]["price"], json!({ "amount_cents": 1500, "currency": "USD" }));

    for (query, expected) in [
        ("search=scratch", 1),
        ("search=nothing%20like%20it", 0),
        ("category=Programming%20Languages&subcategory=C%2B%2B&level=intermediate", 1),
        ("category=Business", 0),
        ("level=advanced", 0),
        ("price_min=18&country=DE", 1),
        ("price_max=18&country=DE", 0),
        ("duration_min=1&duration_max=1", 1),
        ("duration_min=2", 0),
        ("min_rating=1", 0),
        ("sort=price", 1),
        ("sort=popular", 1),
        ("sort=rating", 1),
        ("sort=newest", 1),
    ] {
        let answer = app.get(&format!("/api/v1/courses?{query}"), None).await;
        assert_eq!(answer.status, 200, "{query}: {:?}", answer.body);
        assert_eq!(answer.body["total_results"], expected, "{query}");
    }
    // Title matches rank above matches of the instructor's name only.
    let (_, fan) = app.instructor("fan", "Compiler Fan").await;
    let kernel = author(&app, &fan, "Kernel hacking").await;
    let ranked = app.get("/api/v1/courses?search=compiler", Some(&kernel.token)).await;
    let titles: Vec<_> = ranked.body["data"].as_array().expect("rows").iter().map(|r| r["title"].clone()).collect();
    assert_eq!(titles, [json!("Compilers from scratch"), json!("Kernel hacking")]);
    let refused = app.get("/api/v1/courses?sort=cheapest", None).await;
    assert_eq!((refused.status, refused.body["code"].as_str()), (400, Some("malformed_request")));

    let profile = app.get(&format!("/api/v1/instructors/{instructor_id}"), None).await;
    assert_eq!(
        (profile.body["data"]["name"].as_str(), profile.body["data"]["course_count"].as_i64()),
        (Some("Grace Hopper"), Some(1))
    );
    let theirs = app.get(&format!("/api/v1/instructors/{instructor_id}/courses?search=compilers"), None).await;
    assert_eq!(theirs.body["total_results"], 1);
    let by_name = app.get(&format!("/api/v1/instructors/{instructor_id}/courses?search=hopper"), None).await;
    assert_eq!(by_name.body["total_results"], 0, "an instructor's list searches titles only");
    let top = app.get("/api/v1/instructors/top", None).await;
    let ranked_ids: Vec<_> = top.body["data"].as_array().expect("rows").iter().map(|r| r["id"].clone()).collect();
    assert!(ranked_ids.contains(&json!(instructor_id)), "{ranked_ids:?}");
    assert_eq!(top.body["total_results"], 2);
    let categories = app.get("/api/v1/categories", None).await;
    assert_eq!(categories.body["data"].as_array().map(Vec::len), Some(12));
}

#[tokio::test]
async fn the_public_page_shows_the_outline_but_no_video_url_and_no_answer_and_answers_304_when_unchanged() {
    let app = TestApp::start().await;
    let (_, token) = app.instructor("ada", "Ada Lovelace").await;
    let course = author(&app, &token, "Analytical engines").await;
    let page = app.get(&format!("/api/v1/courses/{}", course.id), Some(&course.token)).await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    let data = &page.body["data"];
    assert_eq!(data["sections"][0]["lessons"][0]["title"], "Tokens");
    assert_eq!(data["sections"][0]["lessons"][0]["duration_min"], 90);
    assert_eq!(data["sections"][0]["exercises"][0]["question_count"], 1);
    assert_eq!(data["exam"]["question_count"], 1);
    assert_eq!(data["faq"][0]["question"], "Do I need C++?");
    // The course's own preview video is public; no lesson's video is.
    let mut shown = page.body.clone();
    shown["data"].as_object_mut().map(|fields| fields.remove("preview_video_url"));
    let text = shown.to_string();
    for secret in ["youtube", "video_url", "answer_index", "a lexer"] {
        assert!(!text.contains(secret), "the public page shows {secret}: {text}");
    }
    assert_eq!(page.header("cache-control"), Some("private, no-cache"), "asked with a token: never kept");
    let public = app.get(&format!("/api/v1/courses/{}", course.id), None).await;
    assert!(public.header("cache-control").is_some_and(|c| c.starts_with("public")));

    // The instructor edits from the full document: video URLs, answers and every part's id.
    let own = app
        .send(app.http.get(app.url(&format!("/api/v1/me/instructor/courses/{}", course.id))).bearer_auth(&token), None)
        .await;
    assert_eq!(own.status, 200, "{:?}", own.body);
    assert_eq!(own.body["data"]["sections"][0]["lessons"][0]["video_url"], "https://www.youtube.com/embed/dQw4w9WgXcQ");
    assert_eq!(own.body["data"]["exam"][0]["answer_index"], 0);
    assert_eq!(own.body["data"]["discounts"][0]["percent"], 25);
    assert_eq!(own.header("cache-control"), Some("private, no-cache"));
    let draft = app.create_course(&token, "Unfinished").await;
    let mine = app
        .send(
            app.http
                .get(app.url("/api/v1/me/instructor/courses"))
                .bearer_auth(&token)
                .header("x-consistency-token", draft.token()),
            None,
        )
        .await;
    let statuses: Vec<_> = mine.body["data"].as_array().expect("rows").iter().map(|c| c["status"].clone()).collect();
    assert_eq!(statuses, [json!("draft"), json!("published")], "newest first, drafts included");
    let etag = page.header("etag").expect("an ETag").to_owned();
    let again = app
        .send(app.http.get(app.url(&format!("/api/v1/courses/{}", course.id))).header("if-none-match", &etag), None)
        .await;
    assert_eq!(again.status, 304);
    let rename = app
        .call(Method::PATCH, &format!("/api/v1/courses/{}", course.id), &token, Some(&json!({ "title": "Engines" })))
        .await;
    let changed = app
        .send(
            app.http
                .get(app.url(&format!("/api/v1/courses/{}", course.id)))
                .header("if-none-match", &etag)
                .header("x-consistency-token", rename.token()),
            None,
        )
        .await;
    assert_eq!((changed.status, changed.body["data"]["title"].as_str()), (200, Some("Engines")));
}

#[tokio::test]
async fn nobody_but_the_owner_changes_a_course_and_an_admin_may_add_a_discount() {
    let app = TestApp::start().await;
    let (_, owner) = app.instructor("owner", "Olive Owner").await;
    let course = author(&app, &owner, "Owned course").await;
    let (_, other) = app.user(Role::Instructor);
    let (_, trainee) = app.user(Role::IndividualTrainee);
    let base = format!("/api/v1/courses/{}", course.id);
    let before = app.event_count().await;
    let later = json!({ "percent": 10, "starts_on": today_plus(30), "ends_on": today_plus(40) });
    for token in [&other, &trainee] {
        for (method, path, body) in [
            (Method::PATCH, base.clone(), Some(json!({ "title": "Mine now" }))),
            (Method::POST, format!("{base}/sections"), Some(json!({ "title": "Extra" }))),
            (Method::DELETE, format!("{base}/sections/{}", course.section), None),
            (Method::PUT, format!("{base}/exam"), Some(json!({ "questions": [] }))),
            (Method::POST, format!("{base}/discounts"), Some(later.clone())),
            (Method::POST, format!("{base}/retire"), None),
            (Method::DELETE, base.clone(), None),
        ] {
            let answer = app.call(method.clone(), &path, token, body.as_ref()).await;
            assert_eq!((answer.status, answer.body["code"].as_str()), (403, Some("forbidden")), "{method} {path}");
        }
    }
    assert_eq!(app.event_count().await, before, "a refused command appends nothing");
    let (_, admin) = app.user(Role::Admin);
    let granted = app.post(&format!("{base}/discounts"), &admin, Some(&later)).await;
    assert_eq!(granted.status, 201, "{:?}", granted.body);
    let overlapping = json!({ "percent": 50, "starts_on": today_plus(35), "ends_on": today_plus(50) });
    let refused = app.post(&format!("{base}/discounts"), &owner, Some(&overlapping)).await;
    assert_eq!((refused.status, refused.body["code"].as_str()), (422, Some("discount_window_overlaps")));
    let moved = app.call(Method::PUT, &format!("{base}/discounts/{}", granted.id()), &owner, Some(&overlapping)).await;
    assert_eq!(moved.status, 200, "an update is checked against the other windows only: {:?}", moved.body);

    // One discount on many courses: each course decides for itself.
    let (_, rival) = app.user(Role::Instructor);
    let theirs = app.create_course(&rival, "Not yours").await.id();
    let bulk = json!({ "course_ids": [course.id, theirs], "percent": 20, "starts_on": today_plus(200),
                       "ends_on": today_plus(210) });
    let applied = app.post("/api/v1/courses/discounts", &owner, Some(&bulk)).await;
    assert_eq!(applied.status, 200, "{:?}", applied.body);
    assert_eq!(applied.body["data"]["succeeded"][0]["course_id"], course.id.as_str());
    assert_eq!(applied.body["data"]["failed"][0]["code"], "forbidden");
    let again = app.post("/api/v1/courses/discounts", &owner, Some(&bulk)).await;
    assert_eq!(again.body["data"]["failed"][0]["code"], "discount_window_overlaps", "{:?}", again.body);

    // Content, discounts and their changes project the same live and in a rebuild from the first event.
    app.wait_until_projected().await;
    let rebuilt = app.rebuild().await;
    assert_eq!(TestApp::catalogue(&app.database).await, TestApp::catalogue(&rebuilt).await);
}

#[tokio::test]
async fn content_is_validated_and_a_course_without_enrolments_is_deleted_for_good() {
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    let id = app.create_course(&token, "Short-lived").await.id();
    let base = format!("/api/v1/courses/{id}");
    let section = app.post(&format!("{base}/sections"), &token, Some(&json!({ "title": "One" }))).await.id();
    let before = app.event_count().await;
    for (method, path, body, status, code) in [
        (
            Method::POST,
            format!("{base}/sections/{section}/lessons"),
            json!({ "title": "Clip", "video_url": "https://vimeo.com/1", "duration_min": 5 }),
            422,
            "validation_failed",
        ),
        (
            Method::PUT,
            format!("{base}/exam"),
            json!({ "questions": [question("a compiler")] }),
            422,
            "answer_not_an_option",
        ),
        (
            Method::POST,
            format!("{base}/discounts"),
            json!({ "percent": 101, "starts_on": today_plus(0), "ends_on": today_plus(1) }),
            422,
            "validation_failed",
        ),
        (
            Method::POST,
            format!("{base}/discounts"),
            json!({ "percent": 10, "starts_on": "tomorrow", "ends_on": today_plus(1) }),
            400,
            "malformed_request",
        ),
        (
            Method::POST,
            format!("{base}/sections/{}/lessons", uuid::Uuid::now_v7()),
            json!({ "title": "Lost", "video_url": "https://youtu.be/dQw4w9WgXcQ", "duration_min": 5 }),
            404,
            "not_found",
        ),
        (Method::PATCH, format!("{base}/faq/{}", uuid::Uuid::now_v7()), json!({ "answer": "?" }), 404, "not_found"),
        (Method::POST, format!("{base}/sections"), json!({ "title": "Two", "video": "x" }), 400, "malformed_request"),
    ] {
        let answer = app.call(method.clone(), &path, &token, Some(&body)).await;
        assert_eq!(
            (answer.status, answer.body["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {:?}",
            answer.body
        );
    }
    assert_eq!(app.event_count().await, before, "a refused command appends nothing");

    let deleted = app.call(Method::DELETE, &base, &token, None).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    for (method, path) in [(Method::DELETE, base.clone()), (Method::POST, format!("{base}/publish"))] {
        let answer = app.call(method, &path, &token, None).await;
        assert_eq!(answer.status, 404, "a deleted course is gone");
    }
    let page = app.get(&base, Some(&deleted.token())).await;
    assert_eq!(page.status, 404);
}
