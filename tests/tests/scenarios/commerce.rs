//! Commerce through HTTP: carts and wishlists, wallet orders, admin credits, and the checkout saga that
//! enrols, credits instructors and refunds a line bought twice.

use std::time::Duration;

use events::Role;
use serde_json::{Value, json};
use tests::TestApp;
use tests::app::Answer;
use uuid::Uuid;

/// A signed-up individual trainee and their token.
pub(crate) async fn trainee(app: &TestApp, name: &str) -> (Uuid, String) {
    let body = json!({ "email": format!("{name}@example.com"), "username": name, "password": "correct horse battery",
        "name": name, "country": "gb" });
    let answer = app.send(app.http.post(app.url("/api/v1/auth/register")), Some(&body)).await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let id = answer.id();
    (id, app.keys.issue(id, Role::IndividualTrainee, Duration::from_secs(600)).expect("signs"))
}

/// A published course of a new instructor at `price_cents`.
pub(crate) async fn published_course(app: &TestApp, instructor: &str, price_cents: i64) -> (Uuid, Uuid) {
    let (instructor_id, token) = app.instructor(instructor, "Grace Hopper").await;
    let mut body = TestApp::course_body("Rust for web services");
    body["price"]["amount_cents"] = json!(price_cents);
    let created = app.post("/api/v1/courses", &token, Some(&body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let course_id = created.id();
    let published = app.post(&format!("/api/v1/courses/{course_id}/publish"), &token, None).await;
    assert_eq!(published.status, 200, "{:?}", published.body);
    (course_id, instructor_id)
}

pub(crate) async fn credit(app: &TestApp, trainee_id: Uuid, amount_cents: i64) {
    let (_, admin) = app.user(Role::Admin);
    let body = json!({ "amount_cents": amount_cents, "reason": "Welcome credit" });
    let answer = app.post(&format!("/api/v1/admin/wallets/{trainee_id}/credits"), &admin, Some(&body)).await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
}

pub(crate) async fn add_to_cart(app: &TestApp, token: &str, course_id: Uuid) -> Answer {
    app.post("/api/v1/cart/items", token, Some(&json!({ "course_id": course_id }))).await
}

pub(crate) async fn order(app: &TestApp, token: &str) -> Answer {
    app.post("/api/v1/orders", token, Some(&json!({ "method": "wallet", "country": "US" }))).await
}

pub(crate) async fn get_as(app: &TestApp, path: &str, token: &str) -> Answer {
    app.send(app.http.get(app.url(path)).bearer_auth(token), None).await
}

/// Polls `path` (bounded) until `done` holds for its answer.
pub(crate) async fn eventually(app: &TestApp, path: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let answer = get_as(app, path, token).await;
        if answer.status == 200 && done(&answer.body) {
            return answer.body;
        }
        assert!(tokio::time::Instant::now() < deadline, "{path} never got there: {:?}", answer.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_wallet_order_pays_enrols_credits_the_instructor_and_empties_the_cart() {
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let (course_id, instructor_id) = published_course(&app, "grace", 1999).await;
    let (trainee_id, token) = trainee(&app, "ada").await;
    credit(&app, trainee_id, 5_000).await;
    assert_eq!(add_to_cart(&app, &token, course_id).await.status, 201);

    let cart = eventually(&app, "/api/v1/me/cart", &token, |body| body["total_results"] == 1).await;
    assert_eq!(cart["total"], json!({ "amount_cents": 1999, "currency": "USD" }));

    let placed = order(&app, &token).await;
    assert_eq!(placed.status, 201, "{:?}", placed.body);
    assert_eq!(placed.body["data"]["status"], "paid");
    assert_eq!(placed.body["data"]["total"]["amount_cents"], 1999);
    let order_id = placed.id();

    let path = format!("/api/v1/me/orders/{order_id}");
    let fulfilled = eventually(&app, &path, &token, |body| body["data"]["status"] == "fulfilled").await;
    assert_eq!(fulfilled["data"]["lines"][0]["price_cents"], 1999);
    let enrolled = get_as(&app, &format!("/api/v1/me/enrollments/{course_id}"), &token).await;
    assert_eq!(enrolled.status, 200, "{:?}", enrolled.body);
    assert_eq!(enrolled.body["data"]["enrollment"]["source"], "purchase");
    let wallet = get_as(&app, "/api/v1/me/wallet", &token).await;
    assert_eq!(wallet.body["balance"]["amount_cents"], 5_000 - 1999);
    eventually(&app, "/api/v1/me/cart", &token, |body| body["total_results"] == 0).await;

    let instructor = app.keys.issue(instructor_id, Role::Instructor, Duration::from_secs(60)).expect("signs");
    let year = time::OffsetDateTime::now_utc().year();
    let revenue = get_as(&app, &format!("/api/v1/me/instructor/revenue?year={year}"), &instructor).await;
    assert_eq!(revenue.status, 200, "{:?}", revenue.body);
    assert_eq!(revenue.body["data"]["balance"]["amount_cents"], 1599, "floor(0.80 x 1999)");
    let gross: i64 = revenue.body["data"]["months"]
        .as_array()
        .expect("months")
        .iter()
        .map(|month| month["gross"]["amount_cents"].as_i64().expect("cents"))
        .sum();
    assert_eq!(gross, 1599);
    let course = app.get(&format!("/api/v1/courses/{course_id}"), None).await;
    assert_eq!(course.body["data"]["enrolled_count"], 1);
    let me = get_as(&app, "/api/v1/me", &instructor).await;
    assert_eq!(me.body["data"]["balance"], json!({ "amount_cents": 1599, "currency": "USD" }), "{:?}", me.body);
    let me = get_as(&app, "/api/v1/me", &token).await;
    assert_eq!(me.body["data"]["balance"]["amount_cents"], 5_000 - 1999, "a trainee's /me shows the wallet");
    let too_early = get_as(&app, "/api/v1/me/instructor/revenue?year=1999", &instructor).await;
    assert_eq!(too_early.status, 422);
    // Per course, for the instructor and for admins, and for nobody else.
    let earnings = get_as(&app, "/api/v1/me/instructor/earnings", &instructor).await;
    assert_eq!(
        earnings.body["data"],
        json!([{ "course_id": course_id, "title": "Rust for web services",
        "earned": { "amount_cents": 1599, "currency": "USD" } }]),
        "{:?}",
        earnings.body
    );
    let (_, admin) = app.user(Role::Admin);
    let seen = get_as(&app, &format!("/api/v1/admin/instructors/{instructor_id}/earnings"), &admin).await;
    assert_eq!(seen.body["data"], earnings.body["data"]);
    assert_eq!(get_as(&app, "/api/v1/me/instructor/earnings", &token).await.status, 403);
}

#[tokio::test]
async fn only_individual_trainees_fill_carts_with_published_courses_once() {
    let app = TestApp::start().await;
    let (course_id, _) = published_course(&app, "grace", 1999).await;
    let (_, instructor) = app.instructor("linus", "Linus").await;
    let draft = app.create_course(&instructor, "Draft").await.id();
    let (_, token) = trainee(&app, "ada").await;

    assert_eq!(add_to_cart(&app, &token, course_id).await.status, 201);
    let twice = add_to_cart(&app, &token, course_id).await;
    assert_eq!((twice.status, twice.body["code"].as_str()), (422, Some("already_in_cart")));
    let unpublished = add_to_cart(&app, &token, draft).await;
    assert_eq!((unpublished.status, unpublished.body["code"].as_str()), (422, Some("course_not_for_sale")));
    assert_eq!(add_to_cart(&app, &token, Uuid::now_v7()).await.status, 404);
    let deleted = app.create_course(&instructor, "Deleted").await.id();
    let gone = app.call(reqwest::Method::DELETE, &format!("/api/v1/courses/{deleted}"), &instructor, None).await;
    assert_eq!(gone.status, 200, "{:?}", gone.body);
    let refused = add_to_cart(&app, &token, deleted).await;
    assert_eq!((refused.status, refused.body["code"].as_str()), (422, Some("course_not_for_sale")));
    let (_, corporate) = app.user(Role::CorporateTrainee);
    assert_eq!(add_to_cart(&app, &corporate, course_id).await.status, 403);
    assert_eq!(add_to_cart(&app, &instructor, course_id).await.status, 403);
    let wishlisted = app.post("/api/v1/wishlist/items", &token, Some(&json!({ "course_id": course_id }))).await;
    assert_eq!(wishlisted.status, 201);
    let removed = app.call(reqwest::Method::DELETE, &format!("/api/v1/cart/items/{course_id}"), &token, None).await;
    assert_eq!(removed.status, 200, "{:?}", removed.body);
    let empty = order(&app, &token).await;
    assert_eq!((empty.status, empty.body["code"].as_str()), (422, Some("cart_empty")));
}

#[tokio::test]
async fn twenty_concurrent_wallet_orders_on_a_balance_for_three_pay_exactly_three() {
    let app = TestApp::start().await;
    let (course_id, _) = published_course(&app, "grace", 1000).await;
    let (trainee_id, token) = trainee(&app, "ada").await;
    credit(&app, trainee_id, 3_500).await;
    assert_eq!(add_to_cart(&app, &token, course_id).await.status, 201);
    let orders = (0..20).map(|_| {
        let (app, token) = (&app, token.clone());
        async move { order(app, &token).await }
    });
    let answers = futures_util::future::join_all(orders).await;
    let paid = answers.iter().filter(|answer| answer.status == 201).count();
    let refused = answers.iter().filter(|answer| answer.body["code"] == "insufficient_wallet_balance").count();
    assert_eq!((paid, refused), (3, 17), "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    let balance = app
        .database
        .count(&format!(
            "SELECT (payload::json->>'balance_cents')::bigint FROM events WHERE stream_id = 'wallet-{trainee_id}' \
         AND event_type IN ('WalletDebited', 'WalletCredited') ORDER BY stream_version DESC LIMIT 1"
        ))
        .await;
    assert_eq!(balance, 500);
    let negative = app.database.count(&format!(
        "SELECT count(*) FROM events WHERE stream_id = 'wallet-{trainee_id}' AND (payload::json->>'balance_cents')::bigint < 0"
    )).await;
    assert_eq!(negative, 0);
}

#[tokio::test]
async fn a_course_bought_in_two_orders_is_enrolled_once_and_the_second_line_goes_back_to_the_wallet() {
    let app = TestApp::start().await;
    let (course_id, instructor_id) = published_course(&app, "grace", 1999).await;
    let (trainee_id, token) = trainee(&app, "ada").await;
    credit(&app, trainee_id, 10_000).await;
    assert_eq!(add_to_cart(&app, &token, course_id).await.status, 201);
    // Both orders are placed from the same cart before the sagas start fulfilling either.
    let (first, second) = tokio::join!(order(&app, &token), order(&app, &token));
    assert_eq!((first.status, second.status), (201, 201), "{:?} {:?}", first.body, second.body);
    let _sagas = app.start_sagas();

    for placed in [&first, &second] {
        let path = format!("/api/v1/me/orders/{}", placed.id());
        eventually(&app, &path, &token, |body| body["data"]["status"] == "fulfilled").await;
    }
    let wallet =
        eventually(&app, "/api/v1/me/wallet", &token, |body| body["balance"]["amount_cents"] == 10_000 - 1999).await;
    assert_eq!(wallet["data"][0]["kind"], "order_line_refund");
    let enrolments = app.database.count(&format!(
        "SELECT count(*) FROM events WHERE event_type = 'TraineeEnrolled' AND stream_id = 'enrollment-{trainee_id}-{course_id}'"
    )).await;
    assert_eq!(enrolments, 1);
    let earnings = app
        .database
        .count(&format!(
            "SELECT count(*) FROM events WHERE event_type = 'InstructorEarningRecorded' \
         AND payload::json->>'instructor_id' = '{instructor_id}'"
        ))
        .await;
    assert_eq!(earnings, 1, "the refunded line is not credited to the instructor");
}

#[tokio::test]
async fn a_retired_course_leaves_every_cart_and_wishlist_and_a_cart_left_alone_keeps_the_rest() {
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let (instructor_id, instructor) = app.instructor("grace", "Grace Hopper").await;
    let mut courses = Vec::new();
    for title in ["Retiring", "Staying"] {
        let id = app.create_course(&instructor, title).await.id();
        assert_eq!(app.post(&format!("/api/v1/courses/{id}/publish"), &instructor, None).await.status, 200);
        courses.push(id);
    }
    let (retiring, staying) = (courses[0], courses[1]);
    let mut tokens = Vec::new();
    for name in ["ada", "alan"] {
        let (_, token) = trainee(&app, name).await;
        for course in [retiring, staying] {
            assert_eq!(add_to_cart(&app, &token, course).await.status, 201);
        }
        let wished = app.post("/api/v1/wishlist/items", &token, Some(&json!({ "course_id": retiring }))).await;
        assert_eq!(wished.status, 201);
        tokens.push(token);
    }
    // The saga finds the lists holding the course in the read models (saga 5): a list whose item is not
    // projected yet keeps it, so both lists are waited for.
    for token in &tokens {
        eventually(&app, "/api/v1/me/cart", token, |body| body["total_results"] == 2).await;
        eventually(&app, "/api/v1/me/wishlist", token, |body| body["total_results"] == 1).await;
    }
    let retired = app.post(&format!("/api/v1/courses/{retiring}/retire"), &instructor, None).await;
    assert_eq!(retired.status, 200, "{:?}", retired.body);
    for token in &tokens {
        let cart = eventually(&app, "/api/v1/me/cart", token, |body| body["total_results"] == 1).await;
        assert_eq!(cart["data"][0]["id"], staying.to_string());
        eventually(&app, "/api/v1/me/wishlist", token, |body| body["total_results"] == 0).await;
    }
    let _ = instructor_id;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_course_deleted_while_an_admin_enrols_in_it_ends_either_enrolled_or_deleted_never_both() {
    let app = TestApp::start().await;
    let (_, admin) = app.user(Role::Admin);
    let (instructor_id, instructor) = app.instructor("grace", "Grace Hopper").await;
    let (trainee_id, _) = trainee(&app, "ada").await;
    let mut outcomes = (0, 0);
    for _ in 0..20 {
        let course = app.create_course(&instructor, "Contested").await.id();
        let grant = json!({ "trainee_id": trainee_id, "course_id": course });
        let path = format!("/api/v1/courses/{course}");
        let (enrolled, deleted) = tokio::join!(
            app.post("/api/v1/admin/enrollments", &admin, Some(&grant)),
            app.call(reqwest::Method::DELETE, &path, &instructor, None),
        );
        match (enrolled.status, deleted.status) {
            (201, 422) => outcomes.0 += 1,
            (404, 200) => outcomes.1 += 1,
            other => {
                panic!("enrolled and deleted together, or neither: {other:?} {:?} {:?}", enrolled.body, deleted.body)
            }
        }
        let in_store = |event_type: &str| {
            format!(
                "SELECT count(*) FROM events WHERE event_type = '{event_type}' AND payload::json->>'course_id' = '{course}'"
            )
        };
        let both = app.database.count(&in_store("TraineeEnrolled")).await
            + app.database.count(&in_store("CourseDeleted")).await;
        assert_eq!(both, 1, "exactly one of the two happened");
    }
    assert_eq!(outcomes.0 + outcomes.1, 20);
    let _ = instructor_id;
}

#[tokio::test]
async fn an_order_whose_request_stopped_before_paying_is_finished_by_the_sagas() {
    use event_store::{AppendRequest, ExpectedVersion, PgEventStore};
    use events::commerce::{OrderLine, OrderPlaced, PaymentMethod};
    use events::{Event, Metadata, NewEvent};

    let app = TestApp::start().await;
    let (course_id, instructor_id) = published_course(&app, "grace", 1999).await;
    let (trainee_id, token) = trainee(&app, "ada").await;
    credit(&app, trainee_id, 5_000).await;
    // What a request that crashed right after placing leaves behind: an order, placed and never paid.
    let order_id = Uuid::now_v7();
    let line = OrderLine {
        course_id,
        instructor_id,
        title: "Rust for web services".into(),
        list_price_cents: 1999,
        discount_percent: 0,
        price_cents: 1999,
    };
    let placed = Event::OrderPlaced(OrderPlaced {
        order_id,
        trainee_id,
        method: PaymentMethod::Wallet,
        lines: vec![line],
        total_cents: 1999,
        currency: "USD".into(),
        rate_ppm: 1_000_000,
    });
    let appended = PgEventStore::start(app.store.clone())
        .append(AppendRequest {
            stream_id: events::stream::order_stream(order_id),
            expected: ExpectedVersion::NoStream,
            events: vec![NewEvent::new(&placed, Metadata::default(), time::OffsetDateTime::now_utc())],
            idempotency: None,
            side_writes: Vec::new(),
            guards: Vec::new(),
        })
        .await;
    assert!(appended.is_ok(), "{appended:?}");

    let data_key = std::sync::Arc::new(event_store::keys::DataKey::from_secret(tests::app::DATA_KEY.as_bytes()));
    let write = learnlog::app::write_side(&app.store, &data_key);
    let sagas = learnlog::app::sagas(
        write,
        &app.store,
        std::sync::Arc::clone(&app.keys),
        data_key,
        None,
        media::Pictures::in_memory(),
    )
    .finishing_stalled_orders_after(Duration::from_secs(1));
    let running = tokio::spawn(sagas.run(std::future::pending()));
    let path = format!("/api/v1/me/orders/{order_id}");
    eventually(&app, &path, &token, |body| body["data"]["status"] == "fulfilled").await;
    let wallet = get_as(&app, "/api/v1/me/wallet", &token).await;
    assert_eq!(wallet.body["balance"]["amount_cents"], 5_000 - 1999);
    running.abort();
}

#[tokio::test]
async fn a_paid_order_whose_event_never_reached_the_sagas_is_fulfilled_by_their_sweep() {
    let app = TestApp::start().await;
    let (course_id, _) = published_course(&app, "grace", 1999).await;
    let (trainee_id, token) = trainee(&app, "ada").await;
    credit(&app, trainee_id, 5_000).await;
    assert_eq!(add_to_cart(&app, &token, course_id).await.status, 201);
    let paid = order(&app, &token).await;
    assert_eq!(paid.status, 201, "{:?}", paid.body);
    // As if the broker never handed the sagas the OrderPaid: their checkpoint is already past it.
    let head = app.database.count("SELECT max(position) FROM events").await;
    app.database
        .client()
        .await
        .execute("INSERT INTO saga_checkpoints (saga, position) VALUES ($1, $2)", &[&sagas::SAGAS, &head])
        .await
        .expect("a checkpoint past the order");
    let data_key = std::sync::Arc::new(event_store::keys::DataKey::from_secret(tests::app::DATA_KEY.as_bytes()));
    let write = learnlog::app::write_side(&app.store, &data_key);
    let sagas = learnlog::app::sagas(
        write,
        &app.store,
        std::sync::Arc::clone(&app.keys),
        data_key,
        None,
        media::Pictures::in_memory(),
    )
    .finishing_stalled_orders_after(Duration::from_secs(1));
    let running = tokio::spawn(sagas.run(std::future::pending()));
    let path = format!("/api/v1/me/orders/{}", paid.id());
    eventually(&app, &path, &token, |body| body["data"]["status"] == "fulfilled").await;
    assert_eq!(get_as(&app, &format!("/api/v1/me/enrollments/{course_id}"), &token).await.status, 200);
    running.abort();
}

/// A cart with nothing to pay (a free course) is paid as it is placed, by either method: no wallet debit, no card
/// checkout a real provider would refuse for a zero amount, and the course is enrolled as any bought one.
#[tokio::test]
async fn an_order_with_nothing_to_pay_enrols_without_a_payment() {
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let (free, _) = published_course(&app, "freeteacher", 0).await;
    for (name, method) in [("freewallet", "wallet"), ("freecard", "card")] {
        let (_, token) = trainee(&app, name).await;
        assert_eq!(add_to_cart(&app, &token, free).await.status, 201);
        let placed = app.post("/api/v1/orders", &token, Some(&json!({ "method": method, "country": "US" }))).await;
        assert_eq!(placed.status, 201, "{method}: {:?}", placed.body);
        assert_eq!(placed.body["data"]["status"], "paid", "{method}: {:?}", placed.body);
        assert_eq!(placed.body["data"]["total"]["amount_cents"], 0);
        assert!(placed.body["data"]["checkout"].is_null(), "{method}: no checkout page for nothing");
        let path = format!("/api/v1/me/orders/{}?until=fulfilled&wait=20", placed.id());
        let fulfilled = get_as(&app, &path, &token).await;
        assert_eq!(fulfilled.header("x-order-wait"), Some("met"), "{method}: {:?}", fulfilled.body);
        let enrolled = get_as(&app, &format!("/api/v1/me/enrollments/{free}"), &token).await;
        assert_eq!(enrolled.status, 200, "{method}: {:?}", enrolled.body);
    }
    let debits = app.database.count("SELECT count(*) FROM events WHERE event_type = 'WalletDebited'").await;
    let sessions = app.database.count("SELECT count(*) FROM events WHERE event_type = 'CheckoutSessionCreated'").await;
    assert_eq!((debits, sessions), (0, 0));
}

/// Money as a trainee reads it: the cart shows the trainee's own currency without being asked, each currency
/// in its own minor unit (whole yen), and the order, charged in US dollars, states what that was in the
/// currency the trainee was shown.
#[tokio::test]
async fn the_cart_shows_the_trainee_s_currency_and_the_order_states_the_conversion() {
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let (_, admin) = app.user(Role::Admin);
    for (currency, rate) in [("EUR", 0.92), ("JPY", 150.0)] {
        let set = app
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/admin/fx-rates/{currency}"),
                &admin,
                Some(&json!({ "rate": rate })),
            )
            .await;
        assert_eq!(set.status, 200, "{:?}", set.body);
    }
    let (course, _) = published_course(&app, "moneyteacher", 1999).await;
    let body = json!({ "email": "anna@example.com", "username": "anna", "password": "correct horse battery",
                       "name": "Anna", "country": "de" });
    let registered = app.send(app.http.post(app.url("/api/v1/auth/register")), Some(&body)).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let token = app.keys.issue(registered.id(), Role::IndividualTrainee, Duration::from_secs(600)).expect("signs");
    credit(&app, registered.id(), 5_000).await;
    let added = add_to_cart(&app, &token, course).await;
    assert_eq!(added.status, 201, "{:?}", added.body);

    // Read with the token of the addition: the rates and the profile were written before it.
    let read_cart =
        app.http.get(app.url("/api/v1/me/cart")).bearer_auth(&token).header("x-consistency-token", added.token());
    let cart = app.send(read_cart, None).await;
    assert_eq!((cart.status, cart.header("x-consistency")), (200, Some("fresh")), "{:?}", cart.body);
    let cart = cart.body;
    assert_eq!(cart["total_results"], 1);
    assert_eq!(cart["total"], json!({ "amount_cents": 1839, "currency": "EUR" }), "the profile's country: {cart}");
    let yen = get_as(&app, "/api/v1/me/cart?country=JP", &token).await;
    assert_eq!(yen.body["total"], json!({ "amount_cents": 2999, "currency": "JPY" }), "whole yen: {:?}", yen.body);

    let placed = app.post("/api/v1/orders", &token, Some(&json!({ "method": "wallet", "country": "DE" }))).await;
    assert_eq!(placed.status, 201, "{:?}", placed.body);
    let order = get_as(&app, &format!("/api/v1/me/orders/{}?until=fulfilled&wait=20", placed.id()), &token).await;
    assert_eq!(order.body["data"]["total"], json!({ "amount_cents": 1999, "currency": "USD" }));
    assert_eq!(
        order.body["data"]["shown_total"],
        json!({ "amount_cents": 1839, "currency": "EUR" }),
        "{:?}",
        order.body
    );
}

/// A trainee empties their cart or their wishlist at once; each list empties alone, and emptying an empty list
/// changes nothing.
#[tokio::test]
async fn a_trainee_empties_the_cart_and_the_wishlist() {
    let app = TestApp::start().await;
    let (first, _) = published_course(&app, "emptyteacher", 1999).await;
    let (second, _) = published_course(&app, "emptyteacher2", 2999).await;
    let (_, token) = trainee(&app, "emptier").await;
    for course_id in [first, second] {
        assert_eq!(add_to_cart(&app, &token, course_id).await.status, 201);
    }
    let wished = app.post("/api/v1/wishlist/items", &token, Some(&json!({ "course_id": first }))).await;
    assert_eq!(wished.status, 201, "{:?}", wished.body);
    let cleared = app.call(reqwest::Method::DELETE, "/api/v1/cart/items", &token, None).await;
    assert_eq!(cleared.status, 200, "{:?}", cleared.body);
    let cart = app
        .send(
            app.http.get(app.url("/api/v1/me/cart")).bearer_auth(&token).header("x-consistency-token", cleared.token()),
            None,
        )
        .await;
    assert_eq!((cart.body["total_results"].as_i64(), cart.body["total"]["amount_cents"].as_i64()), (Some(0), Some(0)));
    let wishlist = app
        .send(
            app.http
                .get(app.url("/api/v1/me/wishlist"))
                .bearer_auth(&token)
                .header("x-consistency-token", cleared.token()),
            None,
        )
        .await;
    assert_eq!(wishlist.body["total_results"], 1, "the wishlist keeps its course");
    let again = app.call(reqwest::Method::DELETE, "/api/v1/cart/items", &token, None).await;
    assert_eq!((again.status, again.body["data"]["version"].as_i64()), (200, cleared.body["data"]["version"].as_i64()));
    let emptied = app.call(reqwest::Method::DELETE, "/api/v1/wishlist/items", &token, None).await;
    assert_eq!(emptied.status, 200, "{:?}", emptied.body);
    let (_, corporate) = app.user(Role::CorporateTrainee);
    assert_eq!(app.call(reqwest::Method::DELETE, "/api/v1/cart/items", &corporate, None).await.status, 403);
}
