//! Exchange rates from a provider: the daily reference rates in the European Central Bank's format, fetched over
//! HTTP (here from the `fx-sandbox`'s own server) and recorded through the command pipeline, so prices show in
//! the caller's currency; an admin's rate is an override the provider leaves alone until it is cleared; a
//! provider that fails keeps the last rates and says so.

use std::sync::Arc;
use std::time::Duration;

use events::Role;
use learnlog::fx_rates::{ProviderStatus, RatesRefresher};
use serde_json::{Value, json};
use tests::TestApp;
use tests::app::DATA_KEY;

/// The catalogue's price ceiling (one course at USD 20.00) as seen from `country`, read after `token`.
async fn ceiling(app: &TestApp, country: &str, token: &str) -> Value {
    app.get(&format!("/api/v1/courses/price/max?country={country}"), Some(token)).await.body["data"]["max"].clone()
}

/// A refresher over a write side of its own on the app's store, fetching from `url`.
fn refresher(app: &TestApp, url: String, status: ProviderStatus) -> RatesRefresher {
    let data_key = Arc::new(event_store::keys::DataKey::from_secret(DATA_KEY.as_bytes()));
    let write = learnlog::app::write_side(&app.store, &data_key);
    let state = command_api::CommandApiState::new(write, Arc::clone(&app.keys), data_key, media::Pictures::in_memory());
    RatesRefresher::new(url, Duration::from_secs(3600), command_api::FxFeed::new(state), status)
}

#[tokio::test]
async fn provider_rates_price_the_catalogue_an_admin_s_rate_overrides_them_and_a_failure_keeps_them() {
    let app = TestApp::start().await;
    let (_, teacher) = app.user(Role::Instructor);
    let mut body = TestApp::course_body("Rates");
    body["price"]["amount_cents"] = json!(2_000);
    let created = app.post("/api/v1/courses", &teacher, Some(&body)).await;
    let published = app.publish(&teacher, created.id()).await;
    assert_eq!(ceiling(&app, "GB", &published.token()).await, json!({ "amount_cents": 2_000, "currency": "USD" }));

    // The sandbox's server, as `learnlog up` runs it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}/eurofxref-daily.xml", listener.local_addr().expect("bound"));
    let (stop_sandbox, stopped) = tokio::sync::oneshot::channel::<()>();
    let sandbox = tokio::spawn(learnlog::fx_rates::serve_sandbox(listener, async move {
        let _ = stopped.await;
    }));
    let status = ProviderStatus::default();
    refresher(&app, url.clone(), status.clone()).refresh().await;
    assert!(status.notes().is_empty(), "{:?}", status.notes());
    app.wait_until_projected().await;
    // GBP 0.84 and USD 1.08 per euro: 0.777778 pounds a dollar; 2,000 cents make 1,556 pence.
    let token = published.token();
    assert_eq!(ceiling(&app, "GB", &token).await, json!({ "amount_cents": 1_556, "currency": "GBP" }));
    assert_eq!(ceiling(&app, "DE", &token).await, json!({ "amount_cents": 1_852, "currency": "EUR" }));
    let events_before = app.event_count().await;
    refresher(&app, url.clone(), status.clone()).refresh().await;
    assert_eq!(app.event_count().await, events_before, "the same rates again record nothing");

    // An admin's rate overrides the provider's until the admin clears it.
    let (_, admin) = app.user(Role::Admin);
    let set = app.call(reqwest::Method::PUT, "/api/v1/admin/fx-rates/GBP", &admin, Some(&json!({ "rate": 0.5 }))).await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    refresher(&app, url.clone(), status.clone()).refresh().await;
    app.wait_until_projected().await;
    assert_eq!(ceiling(&app, "GB", &set.token()).await, json!({ "amount_cents": 1_000, "currency": "GBP" }));
    let cleared = app.call(reqwest::Method::DELETE, "/api/v1/admin/fx-rates/GBP", &admin, None).await;
    assert_eq!(cleared.status, 200, "{:?}", cleared.body);
    refresher(&app, url.clone(), status.clone()).refresh().await;
    app.wait_until_projected().await;
    assert_eq!(ceiling(&app, "GB", &cleared.token()).await, json!({ "amount_cents": 1_556, "currency": "GBP" }));

    // The provider goes away: the rates stay, and the status says since when and which rates are kept.
    let _ = stop_sandbox.send(());
    let _ = sandbox.await;
    refresher(&app, url, status.clone()).refresh().await;
    let notes = status.notes();
    assert!(notes.len() == 1 && notes[0].contains("are kept"), "{notes:?}");
    assert_eq!(ceiling(&app, "GB", &cleared.token()).await, json!({ "amount_cents": 1_556, "currency": "GBP" }));
    let broken = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let broken_url = format!("http://{}/", broken.local_addr().expect("bound"));
    tokio::spawn(async move {
        let routes = axum::Router::new().fallback(|| async { "<html>down for maintenance</html>" });
        let _ = axum::serve(broken, routes).await;
    });
    refresher(&app, broken_url, status.clone()).refresh().await;
    assert!(status.notes()[0].contains("not the reference rates format"), "{:?}", status.notes());
}
