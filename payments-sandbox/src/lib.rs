//! Learnlog's built-in payment provider (DOMAIN.md D10): it speaks the part of Stripe's HTTP API the checkout
//! uses and behaves like Stripe's test mode, so the command API talks to it exactly as it talks to Stripe. It
//! owns, in memory, the Checkout Sessions it was asked to create, the hosted page where they are paid, their
//! expiry, and the signed webhooks that report each session paid or expired. A session changes status at most
//! once, and every change is reported by exactly one event, delivered until the receiver accepts it.
//!
//! [`Sandbox::build`] binds the listener (port 0 in tests) and [`Sandbox::run`] serves until its shutdown
//! future completes; the expiry sweeper and the webhook sender stop with it. Neither the secret key nor the
//! webhook signing secret is ever logged, and card numbers are never kept.

mod api;
mod card;
mod page;
mod parameters;
mod session;
pub mod signature;
mod store;
mod webhooks;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::store::Store;
use crate::webhooks::{Delivery, Event, Outbox};

/// How often open sessions are checked for expiry.
const SWEEP_EVERY: Duration = Duration::from_millis(200);

/// Everything the sandbox needs to start.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub listen: SocketAddr,
    /// The base URL browsers use for the hosted page; `http://{bound address}` when `None`.
    pub public_url: Option<String>,
    /// The key API calls must present, as a Bearer token or as the HTTP Basic user.
    pub secret_key: SecretString,
    /// Where events are POSTed. Plain `http://` only: the sandbox runs beside the API it calls.
    pub webhook_url: String,
    /// The `whsec_...` secret the events are signed with.
    pub webhook_secret: SecretString,
    /// The delay before the first retry of a refused webhook; it doubles with every further retry.
    pub retry_first: Duration,
    /// The longest delay between two retries.
    pub retry_at_most: Duration,
}

impl SandboxConfig {
    /// A configuration with Stripe-like retry delays (1 s, doubling up to 60 s) and the default public URL.
    pub fn new(
        listen: SocketAddr,
        secret_key: SecretString,
        webhook_url: impl Into<String>,
        webhook_secret: SecretString,
    ) -> SandboxConfig {
        SandboxConfig {
            listen,
            public_url: None,
            secret_key,
            webhook_url: webhook_url.into(),
            webhook_secret,
            retry_first: Duration::from_secs(1),
            retry_at_most: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("the payment sandbox cannot listen on {address}: {source}")]
    Bind { address: SocketAddr, source: std::io::Error },
    /// The URL itself is not repeated: it may be mistyped around a secret.
    #[error("the webhook URL is not an http:// URL without a user name or password")]
    WebhookUrl,
    #[error("the webhook client cannot be built: {0}")]
    Client(reqwest::Error),
    #[error("the payment sandbox stopped serving: {0}")]
    Serve(std::io::Error),
}

/// What the request handlers share.
#[derive(Debug)]
pub(crate) struct SharedState {
    store: Mutex<Store>,
    secret_key: SecretString,
}

impl SharedState {
    /// The sessions, locked. A handler that panicked leaves them consistent (no change spans two steps), so a
    /// poisoned lock is taken over rather than failing every later request.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A bound, not yet running, payment sandbox.
pub struct Sandbox {
    listener: TcpListener,
    local_addr: SocketAddr,
    public_url: String,
    state: Arc<SharedState>,
    events: mpsc::UnboundedReceiver<Event>,
    delivery: Delivery,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Sandbox")
            .field("local_addr", &self.local_addr)
            .field("public_url", &self.public_url)
            .field("webhook_url", &self.delivery.url.as_str())
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Checks the configuration and binds the listener.
    pub async fn build(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        // The URL is logged and appears in delivery errors, so it may carry no credentials.
        let url = reqwest::Url::parse(&config.webhook_url)
            .ok()
            .filter(|url| url.scheme() == "http" && url.has_host())
            .filter(|url| url.username().is_empty() && url.password().is_none())
            .ok_or(SandboxError::WebhookUrl)?;
        let client = reqwest::Client::builder().build().map_err(SandboxError::Client)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| SandboxError::Bind { address: config.listen, source })?;
        let local_addr =
            listener.local_addr().map_err(|source| SandboxError::Bind { address: config.listen, source })?;
        let public_url = match config.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{local_addr}"),
        };
        let (outbox, events) = Outbox::channel();
        let state = Arc::new(SharedState {
            store: Mutex::new(Store::new(outbox, public_url.clone())),
            secret_key: config.secret_key,
        });
        let delivery = Delivery {
            client,
            url,
            secret: config.webhook_secret,
            retry_first: config.retry_first,
            retry_at_most: config.retry_at_most.max(config.retry_first),
        };
        Ok(Sandbox { listener, local_addr, public_url, state, events, delivery })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The base URL of the hosted pages, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url.clone()
    }

    /// Serves the API and the hosted page, expires sessions and delivers webhooks until `shutdown` completes.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), SandboxError> {
        let Sandbox { listener, local_addr, public_url, state, events, delivery } = self;
        tracing::info!(%local_addr, %public_url, webhook_url = %delivery.url, "payment sandbox started");
        let (stop_sender, stop) = watch::channel(false);
        let router = Router::new()
            .route("/v1/checkout/sessions", axum::routing::post(api::create_session))
            .route("/v1/checkout/sessions/{id}", get(api::session))
            .route("/pay/{id}", get(page::show).post(page::pay))
            .route("/healthz", get(|| async { "ok" }))
            .with_state(Arc::clone(&state));
        let serving = async {
            let served = axum::serve(listener, router).with_graceful_shutdown(shutdown).await;
            // Whether the server stopped for the shutdown or failed, the workers stop with it.
            let _ = stop_sender.send(true);
            served
        };
        let (served, (), ()) =
            tokio::join!(serving, sweep(state, stop.clone()), webhooks::deliver(events, Arc::new(delivery), stop));
        tracing::info!("payment sandbox stopped");
        served.map_err(SandboxError::Serve)
    }
}

/// Expires open sessions whose `expires_at` has passed, until `stop` turns true.
async fn sweep(state: Arc<SharedState>, mut stop: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(SWEEP_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stopped(&mut stop) => return,
            _ = ticks.tick() => {
                state.store().expire_due(session::now());
            }
        }
    }
}

/// Completes once `stop` turns true, or once nobody can turn it true any more.
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}
