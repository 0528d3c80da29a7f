//! A checkout end to end on loopback: a session is created through the API, paid on the hosted page, and
//! reported to a webhook receiver that refuses the first delivery; a second session is left to expire.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, StatusCode};
use payments_sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const SECRET_KEY: &str = "sk_test_sandbox";
const WEBHOOK_SECRET: &str = "whsec_sandbox";

/// A delivery as the receiver got it.
#[derive(Debug, Clone)]
struct Received {
    signature: String,
    body: Vec<u8>,
}

impl Received {
    fn event(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the event is JSON")
    }
}

type Deliveries = Arc<Mutex<Vec<Received>>>;

/// Records every delivery and refuses the first one, so the sandbox has to retry.
async fn receive(State(deliveries): State<Deliveries>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers.get("stripe-signature").and_then(|value| value.to_str().ok()).unwrap_or_default();
    let mut deliveries = deliveries.lock().expect("not poisoned");
    deliveries.push(Received { signature: signature.to_owned(), body: body.to_vec() });
    if deliveries.len() == 1 { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK }
}

/// Waits, at most ten seconds, until `done` holds for the deliveries received so far.
async fn wait_for(deliveries: &Deliveries, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
    for _ in 0..200 {
        let received = deliveries.lock().expect("not poisoned").clone();
        if done(&received) {
            return received;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the webhooks did not arrive in time: {:?}", deliveries.lock().expect("not poisoned"));
}

/// Checks a `Stripe-Signature` header by recomputing the HMAC.
fn assert_signed(received: &Received) {
    let mut timestamp = None;
    let mut signature = None;
    for part in received.signature.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = Some(value.to_owned()),
            Some(("v1", value)) => signature = Some(value.to_owned()),
            _ => {}
        }
    }
    let timestamp = timestamp.expect("the header has a timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).expect("any key");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&received.body);
    let expected: String = mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect();
    assert_eq!(signature.as_deref(), Some(expected.as_str()), "{}", received.signature);
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn a_paid_session_is_reported_until_accepted_and_an_unpaid_one_expires() {
    let deliveries = Deliveries::default();
    let receiver_listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let receiver_addr: SocketAddr = receiver_listener.local_addr().expect("bound");
    let receiver = Router::new().route("/webhook", post(receive)).with_state(Arc::clone(&deliveries));
    let (stop_receiver, receiver_stopped) = oneshot::channel::<()>();
    let receiver_task = tokio::spawn(async move {
        axum::serve(receiver_listener, receiver)
            .with_graceful_shutdown(async move {
                let _ = receiver_stopped.await;
            })
            .await
    });

    let mut config = SandboxConfig::new(
        "127.0.0.1:0".parse().expect("an address"),
        SECRET_KEY.into(),
        format!("http://{receiver_addr}/webhook"),
        WEBHOOK_SECRET.into(),
    );
    config.retry_first = Duration::from_millis(100);
    config.retry_at_most = Duration::from_millis(400);
    let sandbox = Sandbox::build(config).await.expect("the sandbox starts");
    let base = sandbox.public_url();
    let (stop_sandbox, sandbox_stopped) = oneshot::channel::<()>();
    let sandbox_task = tokio::spawn(sandbox.run(async move {
        let _ = sandbox_stopped.await;
    }));

    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client");
    let sessions = format!("{base}/v1/checkout/sessions");
    let order = [
        ("mode", "payment"),
        ("success_url", "http://shop.test/orders/1?session={CHECKOUT_SESSION_ID}"),
        ("cancel_url", "http://shop.test/cart"),
        ("client_reference_id", "order-1"),
        ("metadata[order_id]", "order-1"),
        ("line_items[0][quantity]", "1"),
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][price_data][unit_amount]", "1999"),
        ("line_items[0][price_data][product_data][name]", "Rust for everyone"),
    ];
    let create = |pairs: &[(&str, &str)], key: &str| {
        client
            .post(&sessions)
            .bearer_auth(SECRET_KEY)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("idempotency-key", key)
            .body(form(pairs))
            .send()
    };

    // Without the key the API refuses, in Stripe's error shape.
    let refused = client.post(&sessions).body(form(&order)).send().await.expect("an answer");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let refused: Value = refused.json().await.expect("JSON");
    assert_eq!(refused["error"]["type"], "invalid_request_error");

    let created = create(&order, "checkout-order-1").await.expect("an answer");
    assert_eq!(created.status(), StatusCode::OK);
    let session: Value = created.json().await.expect("JSON");
    let id = session["id"].as_str().expect("an id").to_owned();
    assert!(id.starts_with("cs_test_"), "{id}");
    assert_eq!(session["url"], format!("{base}/pay/{id}"));
    assert_eq!(session["amount_total"], 1999);
    assert_eq!(session["status"], "open");
    assert_eq!(session["metadata"]["order_id"], "order-1");

    // The same idempotency key gives the same session back.
    let again: Value = create(&order, "checkout-order-1").await.expect("an answer").json().await.expect("JSON");
    assert_eq!(again, session);

    let page = client.get(format!("{base}/pay/{id}")).send().await.expect("an answer");
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.expect("HTML");
    assert!(page.contains(&format!("<form method=\"post\" action=\"/pay/{id}\">")), "{page}");
    assert!(page.contains("id=\"card-number\" name=\"card_number\""));
    assert!(page.contains("<button id=\"pay\" type=\"submit\">Pay USD 19.99</button>"));

    let expiry = format!("12 / {:02}", (time::OffsetDateTime::now_utc().year() + 2) % 100);
    let pay = |number: &str| {
        let body = form(&[("card_number", number), ("expiry", &expiry), ("cvc", "123"), ("cardholder", "Ada")]);
        client
            .post(format!("{base}/pay/{id}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let declined = pay("4000 0000 0000 0002").await.expect("an answer");
    assert_eq!(declined.status(), StatusCode::PAYMENT_REQUIRED);
    assert!(
        declined.text().await.expect("HTML").contains("<p id=\"error\" role=\"alert\">Your card was declined.</p>")
    );

    let paid = pay("4242 4242 4242 4242").await.expect("an answer");
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    let location = paid.headers().get("location").and_then(|value| value.to_str().ok()).unwrap_or_default();
    assert_eq!(location, format!("http://shop.test/orders/1?session={id}"));

    // Stripe also accepts the key as the HTTP Basic user.
    let now: Value = client
        .get(format!("{sessions}/{id}"))
        .basic_auth(SECRET_KEY, Some(""))
        .send()
        .await
        .expect("an answer")
        .json()
        .await
        .expect("JSON");
    assert_eq!((now["status"].as_str(), now["payment_status"].as_str()), (Some("complete"), Some("paid")));
    assert!(now["payment_intent"].as_str().is_some_and(|intent| intent.starts_with("pi_test_")));

    let received = wait_for(&deliveries, |received| received.len() >= 2).await;
    let (refused, accepted) = (&received[0], &received[1]);
    assert_eq!(refused.event()["type"], "checkout.session.completed");
    assert_eq!(refused.event()["id"], accepted.event()["id"]);
    assert_eq!(accepted.event()["data"]["object"]["id"], id.as_str());
    assert_eq!(accepted.event()["data"]["object"]["payment_status"], "paid");
    assert_signed(refused);
    assert_signed(accepted);

    let expires_at = (unix_now() + 1).to_string();
    let mut short = order.to_vec();
    short.push(("expires_at", &expires_at));
    let short: Value = create(&short, "checkout-order-2").await.expect("an answer").json().await.expect("JSON");
    let short_id = short["id"].as_str().expect("an id").to_owned();
    let received = wait_for(&deliveries, |received| {
        received.iter().any(|delivery| delivery.event()["type"] == "checkout.session.expired")
    })
    .await;
    let expired = received.iter().find(|delivery| delivery.event()["type"] == "checkout.session.expired");
    let expired = expired.expect("an expiry event");
    assert_eq!(expired.event()["data"]["object"]["id"], short_id.as_str());
    assert_eq!(expired.event()["data"]["object"]["status"], "expired");
    assert_signed(expired);
    let gone = client.get(format!("{base}/pay/{short_id}")).send().await.expect("an answer");
    assert_eq!(gone.status(), StatusCode::GONE);
    assert!(gone.text().await.expect("HTML").contains("id=\"expired\""));

    let _ = stop_sandbox.send(());
    let stopped = tokio::time::timeout(Duration::from_secs(5), sandbox_task).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "the sandbox stops: {stopped:?}");
    let _ = stop_receiver.send(());
    let stopped = tokio::time::timeout(Duration::from_secs(5), receiver_task).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "the receiver stops: {stopped:?}");
}

#[tokio::test]
async fn a_webhook_url_with_credentials_is_refused_without_repeating_them() {
    let config = payments_sandbox::SandboxConfig::new(
        "127.0.0.1:0".parse().expect("an address"),
        secrecy::SecretString::from("sk_test_x".to_owned()),
        "http://hooks:hunter2@127.0.0.1:9/api/v1/payments/webhook",
        secrecy::SecretString::from("whsec_x".to_owned()),
    );
    let refused = payments_sandbox::Sandbox::build(config).await.expect_err("credentials in the URL are refused");
    assert!(!refused.to_string().contains("hunter2"), "{refused}");
}
