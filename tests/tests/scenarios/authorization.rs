//! The authorization matrix: every route of the API against every kind of caller (guest, individual
//! trainee, corporate trainee, the course's instructor, another instructor, admin), each with a request that
//! is valid in every other way, so that the status shows what the caller may do; every command that succeeds is
//! sent again with its Idempotency-Key and must answer the same bytes. The table must name every route of the
//! served OpenAPI document, and nothing else.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};

use events::Role;
use reqwest::Method;
use serde_json::{Value, json};
use tests::TestApp;
use time::{Duration, OffsetDateTime};

const GUEST: usize = 0;
const ACTORS: [&str; 6] = ["guest", "individual trainee", "corporate trainee", "owner", "other instructor", "admin"];

/// Method, path (OpenAPI syntax), body template, and the status for each actor in `ACTORS` order.
/// `{n}` in a body becomes a number unique to the request; `{dNN}` the date NN days from today.
type Row = (Method, &'static str, Option<&'static str>, [u16; 6]);

/// The live stream, which never ends by itself.
const LIVE: &str = "/api/v1/me/live";

/// The body of a picture route: the bytes of a small PNG (every other body is JSON).
const PICTURE: &str = "<a PNG picture>";

/// A small PNG picture's bytes.
fn png() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(16, 16, image::Rgb([200, 40, 40]))
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encodes");
    out.into_inner()
}

fn rows() -> Vec<Row> {
    use Method as M;
    let all = |status| [status; 6];
    let owner = |ok| [401, 403, 403, ok, 403, 403];
    let owner_or_admin = |ok| [401, 403, 403, ok, 403, ok];
    let user = |ok| [401, ok, ok, ok, ok, ok];
    // Carts, wishlists and orders: a corporate trainee is refused by the decider, other roles by the route.
    let individual = |ok| [401, ok, 403, 403, 403, 403];
    let trainee = |ok| [401, ok, ok, 403, 403, 403];
    let section = "/api/v1/courses/{id}/sections/{section_id}";
    let exercise = "/api/v1/courses/{id}/sections/{section_id}/exercises/{exercise_id}";
    let question = "/api/v1/courses/{id}/sections/{section_id}/exercises/{exercise_id}/questions/{question_id}";
    let question_body = r#"{"question":"Which?","options":["this","that"],"answer":"that"}"#;
    vec![
        (
            M::POST,
            "/api/v1/auth/register",
            Some(r#"{"email":"r{n}@example.com","username":"r{n}","password":"long enough","name":"R"}"#),
            all(201),
        ),
        (M::POST, "/api/v1/auth/login", Some(r#"{"login":"nobody{n}","password":"long enough"}"#), all(401)),
        (M::POST, "/api/v1/auth/refresh", Some(r#"{"refresh_token":"not-a-token"}"#), all(401)),
        (M::POST, "/api/v1/auth/logout", Some(r#"{"refresh_token":"not-a-token"}"#), user(204)),
        (
            M::POST,
            "/api/v1/auth/password",
            Some(r#"{"current_password":"wrong password","new_password":"long enough"}"#),
            user(422),
        ),
        (M::POST, "/api/v1/auth/password-reset", Some(r#"{"email":"nobody{n}@example.com"}"#), all(202)),
        (
            M::POST,
            "/api/v1/auth/password-reset/confirm",
            Some(r#"{"token":"not-a-token","new_password":"long enough"}"#),
            all(422),
        ),
        (M::POST, "/api/v1/auth/verify-email", Some(r#"{"email":"nobody{n}@example.com","code":"123456"}"#), all(422)),
        (M::POST, "/api/v1/auth/verify-email/resend", Some(r#"{"email":"nobody{n}@example.com"}"#), all(202)),
        (
            M::POST,
            "/api/v1/admin/users",
            Some(
                r#"{"kind":"instructor","email":"i{n}@example.com","username":"i{n}","password":"long enough","name":"I"}"#,
            ),
            [401, 403, 403, 403, 403, 201],
        ),
        (M::PUT, "/api/v1/admin/fx-rates/{currency}", Some(r#"{"rate":0.9}"#), [401, 403, 403, 403, 403, 200]),
        (M::DELETE, "/api/v1/admin/fx-rates/{currency}", None, [401, 403, 403, 403, 403, 200]),
        (M::PATCH, "/api/v1/me", Some(r#"{"name":"New name"}"#), user(200)),
        (M::PUT, "/api/v1/me/picture", Some(PICTURE), user(200)),
        (M::DELETE, "/api/v1/me/picture", None, user(200)),
        (
            M::PUT,
            "/api/v1/me/social-links",
            Some(r#"{"github":"https://github.com/me"}"#),
            [401, 403, 403, 200, 200, 403],
        ),
        (
            M::PUT,
            "/api/v1/me/bank-account",
            Some(
                r#"{"account_holder_name":"Me","account_number":"12345678","bank_name":"Bank","swift_code":"BANKDEFF"}"#,
            ),
            [401, 403, 403, 200, 200, 403],
        ),
        (
            M::POST,
            "/api/v1/courses",
            Some(
                r#"{"title":"T","summary":"S","category":"Database","subcategories":["MySQL"],"level":"beginner","price":{"amount_cents":100,"currency":"USD"}}"#,
            ),
            [401, 403, 403, 201, 201, 403],
        ),
        (M::PATCH, "/api/v1/courses/{id}", Some(r#"{"title":"Renamed"}"#), owner(200)),
        (M::DELETE, "/api/v1/courses/{id}", None, owner_or_admin(200)),
        (M::POST, "/api/v1/courses/{id}/publish", None, owner(200)),
        (M::POST, "/api/v1/courses/{id}/retire", None, owner(200)),
        (M::PUT, "/api/v1/courses/{id}/thumbnail", Some(PICTURE), owner(200)),
        (M::DELETE, "/api/v1/courses/{id}/thumbnail", None, owner(200)),
        (M::POST, "/api/v1/courses/{id}/sections", Some(r#"{"title":"More"}"#), owner(201)),
        (M::PATCH, section, Some(r#"{"title":"Renamed"}"#), owner(200)),
        (M::DELETE, section, None, owner(200)),
        (
            M::POST,
            "/api/v1/courses/{id}/sections/{section_id}/lessons",
            Some(r#"{"title":"L","video_url":"https://youtu.be/dQw4w9WgXcQ","duration_min":5}"#),
            owner(201),
        ),
        (
            M::PATCH,
            "/api/v1/courses/{id}/sections/{section_id}/lessons/{lesson_id}",
            Some(r#"{"duration_min":6}"#),
            owner(200),
        ),
        (M::DELETE, "/api/v1/courses/{id}/sections/{section_id}/lessons/{lesson_id}", None, owner(200)),
        (M::POST, "/api/v1/courses/{id}/sections/{section_id}/exercises", Some(r#"{"title":"E"}"#), owner(201)),
        (M::DELETE, exercise, None, owner(200)),
        (
            M::POST,
            "/api/v1/courses/{id}/sections/{section_id}/exercises/{exercise_id}/questions",
            Some(question_body),
            owner(201),
        ),
        (M::PUT, question, Some(question_body), owner(200)),
        (M::DELETE, question, None, owner(200)),
        (M::PUT, "/api/v1/courses/{id}/exam", Some(r#"{"questions":[]}"#), owner(200)),
        (M::POST, "/api/v1/courses/{id}/faq", Some(r#"{"question":"Q","answer":"A"}"#), owner(201)),
        (M::PATCH, "/api/v1/courses/{id}/faq/{faq_id}", Some(r#"{"answer":"B"}"#), owner(200)),
        (M::DELETE, "/api/v1/courses/{id}/faq/{faq_id}", None, owner(200)),
        (M::POST, "/api/v1/courses/{id}/announcements", Some(r#"{"title":"T","description":"D"}"#), owner(201)),
        (M::PATCH, "/api/v1/courses/{id}/announcements/{announcement_id}", Some(r#"{"title":"U"}"#), owner(200)),
        (M::DELETE, "/api/v1/courses/{id}/announcements/{announcement_id}", None, owner(200)),
        (
            M::POST,
            "/api/v1/courses/discounts",
            Some(r#"{"course_ids":["{id}"],"percent":10,"starts_on":"{d100}","ends_on":"{d110}"}"#),
            [401, 403, 403, 200, 200, 200],
        ),
        (
            M::POST,
            "/api/v1/courses/{id}/discounts",
            Some(r#"{"percent":10,"starts_on":"{d100}","ends_on":"{d110}"}"#),
            owner_or_admin(201),
        ),
        (
            M::PUT,
            "/api/v1/courses/{id}/discounts/{discount_id}",
            Some(r#"{"percent":15,"starts_on":"{d50}","ends_on":"{d60}"}"#),
            owner_or_admin(200),
        ),
        (M::DELETE, "/api/v1/courses/{id}/discounts/{discount_id}", None, owner_or_admin(200)),
        (M::GET, "/api/v1/courses", None, all(200)),
        (M::GET, "/api/v1/courses/{published_id}", None, all(200)),
        (M::GET, "/api/v1/courses/{published_id}/discounts", None, all(200)),
        (M::GET, "/api/v1/categories", None, all(200)),
        (M::GET, "/api/v1/instructors/top", None, all(200)),
        (M::GET, "/api/v1/instructors/{instructor_id}", None, all(200)),
        (M::GET, "/api/v1/instructors/{instructor_id}/courses", None, all(200)),
        (M::GET, "/api/v1/me", None, user(200)),
        (M::GET, "/api/v1/reports/{id}", None, user(404)),
        (M::GET, "/api/v1/courses/price/max", None, all(200)),
        (M::GET, "/api/v1/pictures/{picture_id}/{file}", None, all(200)),
        (M::GET, "/api/v1/admin/users", None, [401, 403, 403, 403, 403, 200]),
        (M::GET, "/api/v1/admin/users/activity", None, [401, 403, 403, 403, 403, 200]),
        (M::GET, "/api/v1/events", None, [401, 403, 403, 403, 403, 200]),
        // No snapshot of that name: every caller is told so (the replay scenario serves real ones).
        (M::GET, "/api/v1/as-of/{name}/{path}", None, all(404)),
        (M::GET, "/api/v1/admin/dead-letters", None, [401, 403, 403, 403, 403, 200]),
        (M::POST, "/api/v1/admin/dead-letters/{dead_letter_id}/retry", None, [401, 403, 403, 403, 403, 404]),
        (
            M::POST,
            "/api/v1/admin/dead-letters/{dead_letter_id}/skip",
            Some(r#"{"reason":"known bad"}"#),
            [401, 403, 403, 403, 403, 404],
        ),
        (M::GET, "/api/v1/me/instructor/courses", None, [401, 403, 403, 200, 200, 403]),
        (M::GET, "/api/v1/me/instructor/courses/{id}", None, [401, 403, 403, 200, 404, 403]),
        (M::GET, "/api/v1/openapi.json", None, all(200)),
        (M::GET, "/api/v1/docs", None, all(200)),
        (M::GET, "/api/v1/docs/rapidoc-9.3.8.min.js", None, all(200)),
        (M::POST, "/api/v1/cart/items", Some(r#"{"course_id":"{published_id}"}"#), individual(201)),
        (M::GET, "/api/v1/me/cart", None, trainee(200)),
        (M::DELETE, "/api/v1/cart/items/{published_id}", None, individual(200)),
        (M::DELETE, "/api/v1/cart/items", None, individual(200)),
        (M::POST, "/api/v1/wishlist/items", Some(r#"{"course_id":"{published_id}"}"#), individual(201)),
        (M::GET, "/api/v1/me/wishlist", None, trainee(200)),
        (M::DELETE, "/api/v1/wishlist/items/{published_id}", None, individual(200)),
        (M::DELETE, "/api/v1/wishlist/items", None, individual(200)),
        (M::POST, "/api/v1/orders", Some(r#"{"method":"wallet","country":"DE"}"#), individual(422)),
        // Only the payment provider's signature counts; a token changes nothing.
        (
            M::POST,
            "/api/v1/payments/webhook",
            Some(r#"{"id":"evt_{n}","type":"checkout.session.completed"}"#),
            all(400),
        ),
        (M::GET, "/api/v1/me/orders", None, trainee(200)),
        (M::GET, "/api/v1/me/orders/{id}", None, [401, 404, 404, 404, 404, 404]),
        (M::GET, "/api/v1/admin/orders", None, [401, 403, 403, 403, 403, 200]),
        (M::GET, "/api/v1/me/wallet", None, trainee(200)),
        (M::GET, "/api/v1/me/enrollments", None, trainee(200)),
        (M::GET, "/api/v1/me/enrollments/{id}", None, [401, 404, 404, 403, 403, 403]),
        (M::POST, "/api/v1/enrollments/{id}/lessons/{lesson_id}/view", None, [401, 404, 404, 403, 403, 403]),
        (M::POST, "/api/v1/enrollments/{id}/open", None, [401, 404, 404, 403, 403, 403]),
        (M::GET, "/api/v1/me/last-viewed-course", None, [401, 404, 404, 403, 403, 403]),
        (
            M::POST,
            "/api/v1/enrollments/{id}/exercises/{exercise_id}/answers",
            Some(r#"{"question_id":"0193a5a0-0000-7000-8000-000000000008","answer_index":0}"#),
            [401, 404, 404, 403, 403, 403],
        ),
        (M::POST, "/api/v1/enrollments/{id}/exam-attempts", Some(r#"{"answers":{}}"#), [401, 404, 404, 403, 403, 403]),
        (M::POST, "/api/v1/enrollments/{id}/exam/reveal", None, [401, 404, 404, 403, 403, 403]),
        (M::POST, "/api/v1/enrollments/{id}/certificate/email", None, [401, 404, 404, 403, 403, 403]),
        (M::GET, "/api/v1/me/notes/{id}", None, [401, 404, 404, 403, 403, 403]),
        (M::POST, "/api/v1/me/notes/{id}", Some(r#"{"title":"My notes"}"#), [401, 404, 404, 403, 403, 403]),
        (M::PUT, "/api/v1/me/notes/{id}/{note_id}", Some(r#"{"title":"My notes"}"#), [401, 404, 404, 403, 403, 403]),
        (M::DELETE, "/api/v1/me/notes/{id}/{note_id}", None, [401, 404, 404, 403, 403, 403]),
        (M::GET, "/api/v1/me/certificates", None, trainee(200)),
        (
            M::POST,
            "/api/v1/enrollments/{id}/refund-request",
            Some(r#"{"reason":"Not for me"}"#),
            [401, 404, 403, 403, 403, 403],
        ),
        (M::POST, "/api/v1/admin/refund-requests/{id}/acknowledge", None, [401, 403, 403, 403, 403, 404]),
        (M::POST, "/api/v1/admin/refund-requests/{id}/approve", None, [401, 403, 403, 403, 403, 404]),
        (
            M::POST,
            "/api/v1/admin/refund-requests/{id}/reject",
            Some(r#"{"reason":"No"}"#),
            [401, 403, 403, 403, 403, 404],
        ),
        (M::GET, "/api/v1/admin/refund-requests", None, [401, 403, 403, 403, 403, 200]),
        (M::POST, "/api/v1/reports", Some(r#"{"kind":"other","description":"Help"}"#), [401, 201, 201, 201, 201, 201]),
        (M::POST, "/api/v1/reports/{id}/follow-ups", Some(r#"{"text":"More"}"#), [401, 404, 404, 404, 404, 404]),
        (
            M::PUT,
            "/api/v1/reports/{id}",
            Some(r#"{"kind":"technical","description":"Rewritten"}"#),
            [401, 404, 404, 404, 404, 404],
        ),
        (M::POST, "/api/v1/admin/reports/{id}/status", Some(r#"{"status":"pending"}"#), [401, 403, 403, 403, 403, 404]),
        (M::DELETE, "/api/v1/admin/reports/{id}", None, [401, 403, 403, 403, 403, 404]),
        (
            M::POST,
            "/api/v1/course-access-requests",
            Some(r#"{"course_id":"{published_id}"}"#),
            [401, 403, 201, 403, 403, 403],
        ),
        (
            M::POST,
            "/api/v1/admin/course-access-requests/{id}/status",
            Some(r#"{"status":"resolved"}"#),
            [401, 403, 403, 403, 403, 404],
        ),
        (M::GET, "/api/v1/admin/reports", None, [401, 403, 403, 403, 403, 200]),
        (M::GET, "/api/v1/admin/statistics", None, [401, 403, 403, 403, 403, 200]),
        (M::GET, "/api/v1/admin/statistics/revenue", None, [401, 403, 403, 403, 403, 200]),
        (M::GET, "/api/v1/me/reports", None, [401, 200, 200, 200, 200, 200]),
        // To a new individual trainee: only an admin may write without a course (D: who writes with whom).
        (
            M::POST,
            "/api/v1/me/conversations/{trainee_id}/messages",
            Some(r#"{"text":"Hello"}"#),
            [401, 422, 422, 422, 422, 201],
        ),
        (M::PUT, "/api/v1/me/conversations/{trainee_id}/read", None, [401, 404, 404, 404, 404, 404]),
        (M::GET, "/api/v1/me/conversations", None, user(200)),
        (M::GET, "/api/v1/me/conversations/{trainee_id}/messages", None, [401, 404, 404, 404, 404, 404]),
        // An endless stream: only its status is read.
        (M::GET, LIVE, None, user(200)),
        (M::GET, "/api/v1/me/live/ticket", None, user(200)),
        (M::POST, "/api/v1/newsletter/subscriptions", Some(r#"{"email":"n{n}@example.com"}"#), all(202)),
        (M::POST, "/api/v1/newsletter/unsubscribe", Some(r#"{"token":"nope.nope"}"#), all(422)),
        (M::POST, "/api/v1/newsletter/confirm", Some(r#"{"token":"nope.nope"}"#), all(422)),
        (
            M::POST,
            "/api/v1/admin/newsletter/campaigns",
            Some(r#"{"subject":"News","html":"<p>Hi</p>","audience":"subscribers"}"#),
            [401, 403, 403, 403, 403, 201],
        ),
        (M::GET, "/api/v1/admin/newsletter/subscribers", None, [401, 403, 403, 403, 403, 200]),
        (M::GET, "/api/v1/admin/newsletter/campaigns/{id}", None, [401, 403, 403, 403, 403, 404]),
        (M::PUT, "/api/v1/courses/{id}/reviews/mine", Some(r#"{"rating":5}"#), [401, 422, 422, 403, 403, 403]),
        (M::DELETE, "/api/v1/courses/{id}/reviews/mine", None, [401, 404, 404, 403, 403, 403]),
        (
            M::PUT,
            "/api/v1/instructors/{instructor_id}/reviews/mine",
            Some(r#"{"rating":5,"course_id":"{id}"}"#),
            [401, 422, 422, 403, 403, 403],
        ),
        (M::DELETE, "/api/v1/instructors/{instructor_id}/reviews/mine", None, [401, 404, 404, 403, 403, 403]),
        (M::GET, "/api/v1/courses/{published_id}/reviews", None, all(200)),
        (M::GET, "/api/v1/instructors/{instructor_id}/reviews", None, all(200)),
        (M::GET, "/api/v1/certificates/{id}", None, all(404)),
        (M::GET, "/api/v1/certificates/{id}/pdf", None, all(404)),
        (M::GET, "/api/v1/me/instructor/revenue", None, [401, 403, 403, 200, 200, 403]),
        (M::GET, "/api/v1/me/instructor/earnings", None, [401, 403, 403, 200, 200, 403]),
        (M::GET, "/api/v1/courses/{published_id}/reviews/mine", None, trainee(404)),
        (M::GET, "/api/v1/admin/instructors/{instructor_id}/revenue", None, [401, 403, 403, 403, 403, 200]),
        (M::GET, "/api/v1/admin/instructors/{instructor_id}/earnings", None, [401, 403, 403, 403, 403, 200]),
        (
            M::POST,
            "/api/v1/admin/enrollments",
            Some(r#"{"trainee_id":"{trainee_id}","course_id":"{published_id}"}"#),
            [401, 403, 403, 403, 403, 201],
        ),
        (
            M::POST,
            "/api/v1/admin/enrollments/certificate-emails",
            Some(r#"{"trainee_id":"{trainee_id}","course_id":"{published_id}"}"#),
            [401, 403, 403, 403, 403, 404],
        ),
        (
            M::POST,
            "/api/v1/admin/enrollments/revocations",
            Some(r#"{"trainee_id":"{trainee_id}","course_id":"{id}"}"#),
            [401, 403, 403, 403, 403, 404],
        ),
        (
            M::POST,
            "/api/v1/admin/wallets/{trainee_id}/credits",
            Some(r#"{"amount_cents":500,"reason":"Goodwill"}"#),
            [401, 403, 403, 403, 403, 201],
        ),
        // Last: the trainees delete themselves here.
        (M::DELETE, "/api/v1/admin/users/{trainee_id}", None, [401, 403, 403, 403, 403, 200]),
        (M::POST, "/api/v1/admin/users/{trainee_id}/erase", None, [401, 403, 403, 403, 403, 200]),
        (M::DELETE, "/api/v1/me", None, [401, 200, 200, 403, 403, 403]),
    ]
}

fn today_plus(days: i64) -> String {
    (OffsetDateTime::now_utc().date() + Duration::days(days)).to_string()
}

/// The callers: a real account for each, with its token (none for the guest) and its own client address,
/// so that per-IP limits of one caller never touch another.
struct Actors {
    tokens: Vec<Option<String>>,
    clients: Vec<reqwest::Client>,
    instructor_id: String,
}

async fn actors(app: &TestApp) -> Actors {
    let (_, minted_admin) = app.user(Role::Admin);
    let mut tokens = vec![None];
    let register = json!({ "email": "it@example.com", "username": "it", "password": "long enough", "name": "IT" });
    let trainee = app.send(app.http.post(app.url("/api/v1/auth/register")), Some(&register)).await.id();
    tokens.push(Some(
        app.keys.issue(trainee, Role::IndividualTrainee, std::time::Duration::from_secs(600)).expect("signs"),
    ));
    let mut instructor_id = String::new();
    for (kind, name, role) in [
        ("corporate_trainee", "ct", Role::CorporateTrainee),
        ("instructor", "owner", Role::Instructor),
        ("instructor", "other", Role::Instructor),
        ("admin", "admin", Role::Admin),
    ] {
        let body = json!({ "kind": kind, "email": format!("{name}@example.com"), "username": name,
                           "password": "long enough", "name": name, "company": (kind == "corporate_trainee").then_some("Acme") });
        let created = app.post("/api/v1/admin/users", &minted_admin, Some(&body)).await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        if name == "owner" {
            instructor_id = created.id().to_string();
        }
        tokens.push(Some(app.keys.issue(created.id(), role, std::time::Duration::from_secs(600)).expect("signs")));
    }
    let clients = (0..ACTORS.len())
        .map(|n| {
            let address = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10 + n as u8));
            reqwest::Client::builder().local_address(address).build().expect("a client")
        })
        .collect();
    Actors { tokens, clients, instructor_id }
}

/// A course of the owner with one of every part; the ids by the names the paths use.
async fn fixture(app: &TestApp, owner: &str, published: bool) -> HashMap<&'static str, String> {
    let ok = |answer: &tests::app::Answer| {
        assert!(answer.status < 300, "fixture step failed: {:?}", answer.body);
        answer.id().to_string()
    };
    let id = ok(&app.create_course(owner, "Fixture").await);
    let base = format!("/api/v1/courses/{id}");
    let section = ok(&app.post(&format!("{base}/sections"), owner, Some(&json!({ "title": "S" }))).await);
    let lesson_body = json!({ "title": "L", "video_url": "https://youtu.be/dQw4w9WgXcQ", "duration_min": 5 });
    let lesson = ok(&app.post(&format!("{base}/sections/{section}/lessons"), owner, Some(&lesson_body)).await);
    let exercise =
        ok(&app.post(&format!("{base}/sections/{section}/exercises"), owner, Some(&json!({ "title": "E" }))).await);
    let question_body = json!({ "question": "Which?", "options": ["this", "that"], "answer": "this" });
    let question = ok(&app
        .post(&format!("{base}/sections/{section}/exercises/{exercise}/questions"), owner, Some(&question_body))
        .await);
    let faq = ok(&app.post(&format!("{base}/faq"), owner, Some(&json!({ "question": "Q", "answer": "A" }))).await);
    let announcement = ok(&app
        .post(&format!("{base}/announcements"), owner, Some(&json!({ "title": "T", "description": "D" })))
        .await);
    let discount_body = json!({ "percent": 5, "starts_on": today_plus(30), "ends_on": today_plus(40) });
    let added = app.post(&format!("{base}/discounts"), owner, Some(&discount_body)).await;
    let discount = ok(&added);
    let mut last = added.token();
    if published {
        let publish = app.post(&format!("{base}/publish"), owner, None).await;
        ok(&publish);
        last = publish.token();
    }
    HashMap::from([
        // Reads send it, so that they see the fixture whatever the projector's pace.
        ("consistency_token", last),
        ("id", id),
        ("section_id", section),
        ("lesson_id", lesson),
        ("exercise_id", exercise),
        ("question_id", question),
        ("faq_id", faq),
        ("announcement_id", announcement),
        ("discount_id", discount),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_kind_of_caller_as_the_matrix_says() {
    let app = TestApp::start().await;
    let actors = actors(&app).await;
    let owner = actors.tokens[3].clone().expect("the owner's token");
    let mut published = fixture(&app, &owner, true).await;
    // A kept picture for the route that serves them: the published course's thumbnail.
    let thumbnail = app
        .send(
            app.http
                .put(app.url(&format!("/api/v1/courses/{}/thumbnail", published["id"])))
                .bearer_auth(&owner)
                .header("content-type", "image/png")
                .body(png()),
            None,
        )
        .await;
    let small = thumbnail.body["data"]["thumbnail"]["small"].as_str().expect("a kept thumbnail");
    published.insert("picture_id", small.split('/').nth(4).expect("an id").to_owned());
    published.insert("consistency_token", thumbnail.token());
    let mut n = 0;
    let mut mismatches = Vec::new();
    let mut replays = Vec::new();
    for (method, template, body, expected) in rows() {
        // Retiring needs a published course; everything else starts from a draft.
        let publish = template.ends_with("/retire");
        let mut shared = fixture(&app, &owner, publish).await;
        if template.contains("{trainee_id}") || body.is_some_and(|body| body.contains("{trainee_id}")) {
            let body = json!({ "email": format!("victim{n}@example.com"), "username": format!("victim{n}"),
                               "password": "long enough", "name": "V" });
            let victim = app.send(app.http.post(app.url("/api/v1/auth/register")), Some(&body)).await;
            shared.insert("trainee_id", victim.id().to_string());
        }
        for (actor, status) in expected.iter().enumerate() {
            // Each allowed change gets a course of its own, so that one caller's success cannot turn the
            // next caller's request into another answer.
            let own = match (200..300).contains(status) && method != Method::GET {
                true => {
                    let mut own = fixture(&app, &owner, publish).await;
                    // An account to delete is only deleted once: by the one caller allowed to.
                    if let Some(trainee) = shared.get("trainee_id") {
                        own.insert("trainee_id", trainee.clone());
                    }
                    Some(own)
                }
                false => None,
            };
            let ids = own.as_ref().unwrap_or(&shared);
            n += 1;
            let mut path = template
                .replace("{currency}", "EUR")
                .replace("{name}", "no_such_snapshot")
                .replace("{path}", "courses")
                .replace("{dead_letter_id}", "1")
                // A note nobody wrote.
                .replace("{note_id}", "0193a5a0-0000-7000-8000-0000000000ee")
                .replace("{file}", "small.jpg")
                .replace("{picture_id}", &published["picture_id"])
                .replace("{instructor_id}", &actors.instructor_id);
            path = path.replace("{published_id}", &published["id"]);
            for (name, value) in ids {
                path = path.replace(&format!("{{{name}}}"), value);
            }
            let picture = body == Some(PICTURE);
            let body = body.filter(|_| !picture).map(|text| {
                let mut text = text.replace("{n}", &n.to_string()).replace("{id}", &ids["id"]);
                text = text.replace("{published_id}", &published["id"]);
                if let Some(trainee) = ids.get("trainee_id") {
                    text = text.replace("{trainee_id}", trainee);
                }
                let text = ["{d100}", "{d110}", "{d50}", "{d60}"].iter().fold(text, |text, placeholder| {
                    let days: i64 = placeholder[2..placeholder.len() - 1].parse().expect("days");
                    text.replace(placeholder, &today_plus(days))
                });
                serde_json::from_str::<Value>(&text).expect("a JSON body")
            });
            let key = format!("matrix-{n}");
            let request = || {
                let mut request = actors.clients[actor].request(method.clone(), app.url(&path));
                if method == Method::GET {
                    let token = if template.contains("{published_id}") { &published } else { ids };
                    request = request.header("x-consistency-token", &token["consistency_token"]);
                } else {
                    request = request.header("idempotency-key", &key);
                }
                if let Some(token) = &actors.tokens[actor] {
                    request = request.bearer_auth(token);
                }
                if picture {
                    request = request.header("content-type", "image/png").body(png());
                }
                request
            };
            if template == LIVE {
                let response = request().send().await.expect("the stream answers");
                if response.status().as_u16() != *status {
                    mismatches.push(format!("GET {LIVE} as {}: {}", ACTORS[actor], response.status()));
                }
                continue;
            }
            let answer = app.send(request(), body.as_ref()).await;
            if answer.status != *status {
                mismatches.push(format!(
                    "{method} {template} as {}: {} instead of {status} ({})",
                    ACTORS[actor], answer.status, answer.body
                ));
            }
            // A command sent again with its Idempotency-Key answers exactly what it answered first. A limit
            // counts every request, replays too (the recovery routes here are near theirs), and a deleted
            // account's token is refused: neither is an answer of the command.
            if method != Method::GET && (200..300).contains(&answer.status) {
                let again = app.send(request(), body.as_ref()).await;
                // A limit, or a token that ended with what the command did (the caller's account deleted).
                if again.status == 429 || (again.status == 401 && template == "/api/v1/me") {
                    continue;
                }
                let headers = |answer: &tests::app::Answer| {
                    ["x-consistency-token", "etag", "location"].map(|name| answer.header(name).map(str::to_owned))
                };
                if (again.status, &again.bytes, headers(&again)) != (answer.status, &answer.bytes, headers(&answer)) {
                    replays.push(format!(
                        "{method} {template} as {}: {} {} {:?} first, then {} {} {:?}",
                        ACTORS[actor],
                        answer.status,
                        String::from_utf8_lossy(&answer.bytes),
                        headers(&answer),
                        again.status,
                        String::from_utf8_lossy(&again.bytes),
                        headers(&again)
                    ));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(replays.is_empty(), "replays that answer otherwise:\n{}", replays.join("\n"));
    assert_eq!(ACTORS[GUEST], "guest");
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_of_the_matrix() {
    let app = TestApp::start().await;
    let answer = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(answer.status, 200);
    assert!(answer.body["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", answer.body["openapi"]);
    let mut documented = BTreeSet::new();
    for (path, item) in answer.body["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if let Some(operation) = item.get(method) {
                assert!(operation["summary"].is_string(), "{method} {path} has no summary");
                documented.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let normalise = |path: &str| {
        ["{published_id}", "{instructor_id}", "{trainee_id}"]
            .iter()
            .fold(path.to_owned(), |p, name| p.replace(name, "{id}"))
    };
    let tested: BTreeSet<String> = rows().iter().map(|(m, p, _, _)| format!("{m} {}", normalise(p))).collect();
    let untested: Vec<_> = documented.difference(&tested).collect();
    let undocumented: Vec<_> = tested.difference(&documented).collect();
    assert!(untested.is_empty(), "routes missing from the matrix: {untested:?}");
    assert!(undocumented.is_empty(), "matrix rows for routes that do not exist: {undocumented:?}");
    let secured = &answer.body["paths"]["/api/v1/courses/{id}/publish"]["post"]["security"];
    assert!(secured.is_array(), "a command names its bearer token");
}
