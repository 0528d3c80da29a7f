//! Webhook events and their delivery, as Stripe does it: every event is POSTed as JSON to the webhook URL with a
//! fresh `Stripe-Signature` on each attempt, and retried with a doubling delay until the receiver answers 2xx or
//! the sandbox shuts down. An event keeps its id across attempts, so the receiver can deduplicate by it. Each
//! event is delivered by a task of its own, so a receiver that refuses one event does not hold back the others.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::session::{now, random_id};
use crate::signature;

/// The API version the events are shaped after; receivers pinned to it read them as they read Stripe's.
const API_VERSION: &str = "2024-06-20";
/// How long one delivery attempt may take before it counts as failed.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// An event ready to send: its body is fixed when the event happens, only the signature changes per attempt.
#[derive(Debug)]
pub(crate) struct Event {
    id: String,
    event_type: &'static str,
    body: String,
}

impl Event {
    /// An event of `event_type` carrying `object`, the session as it was when the event happened.
    fn new(event_type: &'static str, object: Value) -> Event {
        let id = random_id("evt_test_");
        let body = json!({
            "id": id,
            "object": "event",
            "api_version": API_VERSION,
            "created": now(),
            "livemode": false,
            "pending_webhooks": 1,
            "type": event_type,
            "data": { "object": object },
        });
        Event { id, event_type, body: body.to_string() }
    }
}

/// The queue of events waiting for delivery. Queuing never blocks, so it can happen while the sessions are
/// locked, in the order the changes happened.
#[derive(Debug, Clone)]
pub(crate) struct Outbox(mpsc::UnboundedSender<Event>);

impl Outbox {
    pub(crate) fn channel() -> (Outbox, mpsc::UnboundedReceiver<Event>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Outbox(sender), receiver)
    }

    pub(crate) fn queue(&self, event_type: &'static str, object: Value) {
        let event = Event::new(event_type, object);
        tracing::info!(event_id = %event.id, event_type, "webhook event queued");
        // The receiver lives as long as the sandbox runs; after shutdown there is nobody left to deliver to.
        let _ = self.0.send(event);
    }
}

/// Where and how events are delivered.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub(crate) client: reqwest::Client,
    pub(crate) url: reqwest::Url,
    pub(crate) secret: SecretString,
    pub(crate) retry_first: Duration,
    pub(crate) retry_at_most: Duration,
}

/// Delivers queued events until `stop` turns true; deliveries still retrying then are abandoned, as the
/// sandbox keeps nothing across restarts.
pub(crate) async fn deliver(
    mut events: mpsc::UnboundedReceiver<Event>,
    delivery: Arc<Delivery>,
    mut stop: watch::Receiver<bool>,
) {
    let mut deliveries = JoinSet::new();
    loop {
        tokio::select! {
            () = crate::stopped(&mut stop) => break,
            event = events.recv() => match event {
                Some(event) => {
                    deliveries.spawn(deliver_until_accepted(event, Arc::clone(&delivery)));
                }
                None => break,
            },
            // Finished deliveries are reaped as they end, so the set holds only the ones still trying.
            Some(_) = deliveries.join_next(), if !deliveries.is_empty() => {}
        }
    }
    deliveries.shutdown().await;
}

async fn deliver_until_accepted(event: Event, delivery: Arc<Delivery>) {
    let mut delay = delivery.retry_first;
    let mut attempt = 1_u32;
    loop {
        match send(&event, &delivery).await {
            Ok(()) => {
                tracing::info!(event_id = %event.id, event_type = event.event_type, attempt, "webhook delivered");
                return;
            }
            Err(error) => {
                tracing::warn!(
                    event_id = %event.id,
                    event_type = event.event_type,
                    attempt,
                    %error,
                    retry_in_ms = delay.as_millis(),
                    "webhook delivery failed"
                );
            }
        }
        tokio::time::sleep(delay).await;
        delay = delay.saturating_mul(2).min(delivery.retry_at_most);
        attempt = attempt.saturating_add(1);
    }
}

/// One attempt, signed with the time of the attempt as Stripe does, so a receiver's replay tolerance applies
/// to each attempt and not to the event's age.
async fn send(event: &Event, delivery: &Delivery) -> Result<(), String> {
    let header = signature::sign(delivery.secret.expose_secret().as_bytes(), now(), event.body.as_bytes());
    let response = delivery
        .client
        .post(delivery.url.clone())
        .timeout(ATTEMPT_TIMEOUT)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header("Stripe-Signature", header)
        .body(event.body.clone())
        .send()
        .await
        .map_err(|error| error.to_string())?;
    let status = response.status();
    if status.is_success() { Ok(()) } else { Err(format!("the receiver answered {status}")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_carries_the_session_as_it_was() {
        let event = Event::new("checkout.session.completed", json!({"id": "cs_test_1", "status": "complete"}));
        let body: Value = serde_json::from_str(&event.body).expect("the body is JSON");
        assert_eq!(body["id"], event.id.as_str());
        assert!(event.id.starts_with("evt_test_"));
        assert_eq!(body["object"], "event");
        assert_eq!(body["type"], "checkout.session.completed");
        assert_eq!(body["livemode"], false);
        assert_eq!(body["data"]["object"]["status"], "complete");
    }
}
