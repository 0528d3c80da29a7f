//! Card payments through the built-in sandbox: a buyer pays on the hosted checkout page in a real headless
//! Chromium (4242 pays and enrols, 0002 is declined), and the webhook refuses forged, stale and foreign
//! deliveries and pays an order once however often the same delivery arrives.

use serde_json::json;
use tests::TestApp;
use tests::app::{Answer, SANDBOX_WEBHOOK_SECRET};
use tests::browser::Browser;
use uuid::Uuid;

use super::commerce::{add_to_cart, eventually, get_as, published_course, trainee};

async fn card_order(app: &TestApp, token: &str) -> Answer {
    app.post("/api/v1/orders", token, Some(&json!({ "method": "card", "country": "US" }))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_pays_with_4242_in_a_real_browser_and_is_enrolled_while_0002_is_declined() {
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let (course_id, instructor_id) = published_course(&app, "grace", 1999).await;
    let (_, token) = trainee(&app, "ada").await;
    assert_eq!(add_to_cart(&app, &token, course_id).await.status, 201);

    let declined = card_order(&app, &token).await;
    assert_eq!(declined.status, 201, "{:?}", declined.body);
    assert_eq!(declined.body["data"]["status"], "awaiting_payment");
    let paid = card_order(&app, &token).await;
    let (declined_url, paid_url) = (
        declined.body["data"]["checkout"]["url"].as_str().expect("a checkout url").to_owned(),
        paid.body["data"]["checkout"]["url"].as_str().expect("a checkout url").to_owned(),
    );
    assert!(paid_url.starts_with(&app.sandbox_url), "{paid_url}");

    let browser = Browser::start().await;
    browser.open(&declined_url).await;
    assert!(browser.text("#pay").await.is_some_and(|text| text.contains("19.99")), "the page shows the total");
    browser.pay("4000 0000 0000 0002").await;
    let error = browser.text("#error").await.unwrap_or_default();
    assert!(error.contains("declined"), "the page says the card was declined: {error:?}");

    browser.open(&paid_url).await;
    browser.pay("4242 4242 4242 4242").await;
    let back = browser.url_when(|url| url.contains("checkout=success")).await;
    browser.close().await;
    assert!(back.contains(&format!("/orders/{}", paid.id())) && back.contains("checkout=success"), "{back}");

    // The page the browser came back to waits (bounded) for the order's outcome instead of polling.
    let path = format!("/api/v1/me/orders/{}", paid.id());
    let waited = get_as(&app, &format!("{path}?until=fulfilled,failed,expired&wait=20"), &token).await;
    assert_eq!((waited.status, waited.header("x-order-wait")), (200, Some("met")), "{:?}", waited.body);
    let fulfilled = waited.body;
    assert_eq!(fulfilled["data"]["status"], "fulfilled");
    assert_eq!(fulfilled["data"]["total"]["amount_cents"], 1999);
    let started = std::time::Instant::now();
    let declined_wait = get_as(&app, &format!("/api/v1/me/orders/{}?until=paid&wait=1", declined.id()), &token).await;
    assert_eq!((declined_wait.status, declined_wait.header("x-order-wait")), (200, Some("timed-out")));
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "it waited for the time asked");
    assert_eq!(declined_wait.body["data"]["status"], "awaiting_payment");
    let enrolled = get_as(&app, &format!("/api/v1/me/enrollments/{course_id}"), &token).await;
    assert_eq!(enrolled.status, 200, "{:?}", enrolled.body);
    let declined_order = get_as(&app, &format!("/api/v1/me/orders/{}", declined.id()), &token).await;
    assert_eq!(declined_order.body["data"]["status"], "awaiting_payment", "a declined card pays nothing");
    let credited = app
        .database
        .count(&format!(
            "SELECT count(*) FROM events WHERE event_type = 'InstructorEarningRecorded' \
             AND payload::json->>'instructor_id' = '{instructor_id}'"
        ))
        .await;
    assert_eq!(credited, 1);
}

/// A `checkout.session.completed` delivery for `session_id` of `order_id`, as the provider sends it.
fn completed(event_id: &str, session_id: &str, order_id: Uuid, amount: i64) -> String {
    json!({ "id": event_id, "object": "event", "type": "checkout.session.completed", "created": 1, "livemode": false,
        "data": { "object": { "id": session_id, "object": "checkout.session", "amount_total": amount, "currency": "usd",
            "metadata": { "order_id": order_id.to_string() }, "payment_status": "paid", "status": "complete",
            "payment_intent": "pi_test_1" } } })
    .to_string()
}

async fn deliver(app: &TestApp, payload: &str, signature: Option<String>) -> Answer {
    let mut request = app
        .http
        .post(app.url("/api/v1/payments/webhook"))
        .header("content-type", "application/json")
        .body(payload.to_owned());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    app.send(request, None).await
}

fn signed(secret: &str, at: i64, payload: &str) -> Option<String> {
    Some(payments_sandbox::signature::sign(secret.as_bytes(), at, payload.as_bytes()))
}

#[tokio::test]
async fn forged_stale_and_foreign_webhooks_change_nothing_and_ten_copies_pay_once() {
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let (course_id, instructor_id) = published_course(&app, "grace", 1999).await;
    let (_, token) = trainee(&app, "ada").await;
    assert_eq!(add_to_cart(&app, &token, course_id).await.status, 201);
    let placed = card_order(&app, &token).await;
    let order_id = placed.id();
    let session_id = placed.body["data"]["checkout"]["session_id"].as_str().expect("a session").to_owned();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let payload = completed("evt_test_1", &session_id, order_id, 1999);
    let events_before = app.event_count().await;

    let refused = [
        ("no signature", None),
        ("a forged signature", Some(format!("t={now},v1={}", "0".repeat(64)))),
        ("another secret", signed("whsec_someone_else", now, &payload)),
        ("older than five minutes", signed(SANDBOX_WEBHOOK_SECRET, now - 301, &payload)),
        ("signed for another body", signed(SANDBOX_WEBHOOK_SECRET, now, &payload.replace("1999", "1"))),
    ];
    for (what, signature) in refused {
        let answer = deliver(&app, &payload, signature).await;
        assert_eq!(answer.status, 400, "{what}: {:?}", answer.body);
        assert_eq!(answer.body["code"], "invalid_webhook", "{what}");
    }
    let cheaper = completed("evt_test_2", &session_id, order_id, 1);
    let underpaid = deliver(&app, &cheaper, signed(SANDBOX_WEBHOOK_SECRET, now, &cheaper)).await;
    assert_eq!(underpaid.status, 400, "an amount other than the order's total pays nothing");
    assert_eq!(app.event_count().await, events_before, "nothing was written");

    let copies = (0..10).map(|_| deliver(&app, &payload, signed(SANDBOX_WEBHOOK_SECRET, now, &payload)));
    let answers = futures_util::future::join_all(copies).await;
    assert!(
        answers.iter().all(|answer| answer.status == 200),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    let path = format!("/api/v1/me/orders/{order_id}");
    eventually(&app, &path, &token, |body| body["data"]["status"] == "fulfilled").await;
    let of_order = |event_type: &str| {
        format!("SELECT count(*) FROM events WHERE event_type = '{event_type}' AND stream_id = 'order-{order_id}'")
    };
    assert_eq!(app.database.count(&of_order("OrderPaid")).await, 1);
    assert_eq!(app.database.count(&of_order("InstructorEarningRecorded")).await, 1);
    let enrolments = app.database.count("SELECT count(*) FROM events WHERE event_type = 'TraineeEnrolled'").await;
    assert_eq!(enrolments, 1);
    let earned = app
        .database
        .count(&format!("SELECT COALESCE(sum(balance_cents), 0)::bigint FROM instructor_ledger_view WHERE instructor_id = '{instructor_id}'"))
        .await;
    assert_eq!(earned, 1599);
}

#[tokio::test]
async fn an_expired_checkout_expires_the_order_and_leaves_the_cart_as_it_was() {
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let (course_id, _) = published_course(&app, "grace", 1999).await;
    let (_, token) = trainee(&app, "ada").await;
    assert_eq!(add_to_cart(&app, &token, course_id).await.status, 201);
    let placed = card_order(&app, &token).await;
    let order_id = placed.id();
    let session_id = placed.body["data"]["checkout"]["session_id"].as_str().expect("a session").to_owned();
    let expired = json!({ "id": "evt_test_expired", "object": "event", "type": "checkout.session.expired",
        "created": 1, "livemode": false, "data": { "object": { "id": session_id, "object": "checkout.session",
        "amount_total": 1999, "currency": "usd", "metadata": { "order_id": order_id.to_string() },
        "payment_status": "unpaid", "status": "expired" } } })
    .to_string();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let answer = deliver(&app, &expired, signed(SANDBOX_WEBHOOK_SECRET, now, &expired)).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let path = format!("/api/v1/me/orders/{order_id}");
    let order = eventually(&app, &path, &token, |body| body["data"]["status"] == "expired").await;
    assert!(order["data"]["checkout_url"].is_null(), "an expired order offers no checkout page");
    let cart = eventually(&app, "/api/v1/me/cart", &token, |body| body["total_results"] == 1).await;
    assert_eq!(cart["data"][0]["id"], course_id.to_string());
    // A payment the provider reports after the expiry (it never does) would pay nothing.
    let late = completed("evt_test_late", &session_id, order_id, 1999);
    let refused = deliver(&app, &late, signed(SANDBOX_WEBHOOK_SECRET, now, &late)).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    let paid = format!("SELECT count(*) FROM events WHERE event_type = 'OrderPaid' AND stream_id = 'order-{order_id}'");
    assert_eq!(app.database.count(&paid).await, 0);
}
