//! One listener running the chosen roles. Built first (binding the port, so tests can use port 0), then run
//! until a shutdown future completes; every loop stops with it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use api_contract::{Edge, Readiness, Samplers, TokenKeys};
use axum::Router;
use command_api::CommandApiState;
use database::Database;
use database::SecretUrl;
use event_store::keys::{DataKey, KeyRing};
use mailer::{Delivery, Mailer};
use projector::{PROJECTIONS_CHANNEL, PartitionMarks, Projector, READ_MODELS};
use query_api::{QueryApiState, ReadModels, Watermark};
use relay::{KafkaSettings, Relay, ensure_topics};
use sagas::Sagas;
use subscriptions::{Assignment, FeedSource, KafkaSource, KafkaSourceSettings};
use tokio::net::TcpListener;
use tokio::sync::watch;
use write_side::{PgStore, WriteSide};

use crate::config::{Config, KafkaConfig};
use crate::error::Error;
use crate::secret::{data_key, payment_secrets, token_secret};
use secrecy::SecretString;

/// A part of Learnlog that a process can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    CommandApi,
    QueryApi,
    Projector,
    /// Publishes the feed to Kafka (needs `KAFKA_BROKERS`).
    Relay,
    /// Sends the email outbox (SMTP, or the data folder's mailbox).
    Mailer,
    /// The process managers: checkout fulfilment, carts of retired courses.
    Sagas,
    /// The built-in payment provider (Stripe's checkout API, a hosted page, signed webhooks).
    PaymentsSandbox,
    /// Daily reference exchange rates in the European Central Bank's format, fixed, with no network.
    FxSandbox,
}

impl Role {
    /// What `learnlog up` runs: everything, with the relay only when Kafka is configured.
    pub fn everything(config: &Config) -> Vec<Role> {
        let mut roles = vec![Role::CommandApi, Role::QueryApi, Role::Projector, Role::Mailer, Role::Sagas];
        if config.payments.api_base.is_none() {
            roles.push(Role::PaymentsSandbox);
        }
        if config.fx_url.is_none() {
            roles.push(Role::FxSandbox);
        }
        if config.kafka.is_some() {
            roles.push(Role::Relay);
        }
        roles
    }
}

/// What the HTTP roles are built from.
#[derive(Debug, Clone)]
pub struct HttpServices {
    pub store: Database,
    /// The process's one write side, shared with its sagas; needed when the command API is served.
    pub write: Option<WriteSide<PgStore>>,
    pub read: Database,
    pub keys: Arc<TokenKeys>,
    pub data_key: Arc<DataKey>,
    /// Where links in emails point.
    pub frontend_url: String,
    pub consistency_wait: Duration,
    pub edge: Edge,
    /// Card payments of the command API; `None` refuses card orders.
    pub card_payments: Option<command_api::CardPayments>,
    /// Sign-ups one client may make in an hour.
    pub sign_ups_per_hour: u32,
    /// Replicas of the read models' database the query API reads from while they are current, and how far
    /// behind they may fall.
    pub read_replicas: Vec<SecretUrl>,
    pub read_replica_max_lag: Duration,
    /// Where pictures are kept: the command API writes them, the query API serves them.
    pub pictures: media::Pictures,
}

/// The command API's card payments: the one Stripe client at `api_base`, its webhook check, and the
/// frontend's order pages to come back to.
pub fn card_payments(
    api_base: &str,
    secrets: (SecretString, SecretString),
    frontend_url: &str,
    checkout_ttl: Duration,
) -> command_api::CardPayments {
    use command_api::payments::{StripeClient, StripeConfig, WebhookVerifier};
    let (secret_key, webhook_secret) = secrets;
    command_api::CardPayments {
        provider: Arc::new(StripeClient::new(StripeConfig { api_base: api_base.to_owned(), secret_key })),
        webhooks: Arc::new(WebhookVerifier::new(webhook_secret, WebhookVerifier::DEFAULT_TOLERANCE)),
        return_url: format!("{}/orders", frontend_url.trim_end_matches('/')),
        checkout_ttl: time::Duration::try_from(checkout_ttl).unwrap_or(time::Duration::minutes(30)),
    }
}

/// The routes of the HTTP roles among `roles`, with the edge around them: the command API; the query API
/// with the dead-letter admin routes and the OpenAPI document of every route. `App` serves this, and so does
/// the test harness: there is one composition.
pub fn http_routes(roles: &[Role], services: &HttpServices, readiness: Readiness, samplers: Samplers) -> Router {
    let mut routes = Router::new();
    if roles.contains(&Role::CommandApi) || roles.contains(&Role::QueryApi) {
        crate::sessions::follow(services.store.clone(), services.keys.sessions());
    }
    if roles.contains(&Role::CommandApi) {
        let write = services.write.clone().unwrap_or_else(|| write_side(&services.store, &services.data_key));
        let mut state = CommandApiState::new(
            write,
            Arc::clone(&services.keys),
            Arc::clone(&services.data_key),
            services.pictures.clone(),
        );
        state.frontend_url.clone_from(&services.frontend_url);
        state.card_payments.clone_from(&services.card_payments);
        state.limits = state.limits.with_sign_ups_per_hour(services.sign_ups_per_hour);
        routes = routes.merge(command_api::router(state));
    }
    if roles.contains(&Role::QueryApi) {
        let read = services.read.clone();
        let primary = (read.clone(), Watermark::follow(read.clone(), READ_MODELS, PROJECTIONS_CHANNEL));
        let live = query_api::Live::follow(read.clone(), primary.1.ticks());
        let models = match services.read_replicas.as_slice() {
            [] => ReadModels::single(primary.0, primary.1),
            urls => {
                // As many connections to each replica as to the primary.
                let pool_size = read.pool().status().max_size;
                let replicas = urls
                    .iter()
                    .filter_map(|url| match Database::connect_read_models(url.expose(), pool_size) {
                        Ok(replica) => {
                            let watermark = Watermark::follow(replica.clone(), READ_MODELS, PROJECTIONS_CHANNEL);
                            Some((url.redacted(), replica, watermark))
                        }
                        Err(error) => {
                            tracing::error!(url = %url.redacted(), %error, "a read replica's URL is not valid; it is not read");
                            None
                        }
                    })
                    .collect();
                ReadModels::with_replicas(primary, replicas, services.read_replica_max_lag)
            }
        };
        routes = routes.merge(query_api::router(QueryApiState {
            read: models,
            consistency_wait: services.consistency_wait,
            keys: Arc::clone(&services.keys),
            frontend_url: services.frontend_url.clone(),
            store: services.store.clone(),
            snapshots: query_api::Snapshots::default(),
            pdfs: query_api::RenderedPdfs::default(),
            pictures: services.pictures.clone(),
            live,
            public_reads: query_api::PublicReads::default(),
        }));
        let keyring = KeyRing::new(services.store.clone(), Arc::clone(&services.data_key));
        let admin = projector::admin::DeadLetterAdmin {
            read,
            store: services.store.clone(),
            keys: Arc::clone(&services.keys),
            keyring,
        };
        routes = routes.merge(projector::admin::router(admin));
        // GET routes belong to the query API; the document describes every service.
        let mut operations = command_api::routes().operations().to_vec();
        operations.extend_from_slice(query_api::routes().operations());
        operations.extend_from_slice(projector::admin::routes().operations());
        routes = routes.merge(api_contract::openapi_router("Learnlog", env!("CARGO_PKG_VERSION"), operations));
    }
    api_contract::finish(routes, &services.edge, readiness, samplers)
}

/// The write side of a process over `store`: one writer, one state cache, one set of stream turns, for the
/// command API and the sagas alike.
pub fn write_side(store: &Database, data_key: &Arc<DataKey>) -> WriteSide<PgStore> {
    WriteSide::new(PgStore::start(store.clone(), Arc::clone(data_key)))
}

/// The sagas over `write`'s store, sending their commands through the process's write side.
pub fn sagas(
    write: WriteSide<PgStore>,
    read: &Database,
    keys: Arc<TokenKeys>,
    data_key: Arc<DataKey>,
    card_payments: Option<command_api::CardPayments>,
    pictures: media::Pictures,
) -> Sagas {
    let store = write.store().database().clone();
    let mut state = CommandApiState::new(write, keys, data_key, pictures);
    state.card_payments = card_payments;
    Sagas::new(store, read.clone(), command_api::Checkout::new(state))
}

/// A bound, ready-to-run Learnlog process.
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    routes: Router,
    store: Database,
    projector: Option<Projector>,
    mailer: Option<Mailer>,
    /// The projector's and the sagas' consumers, in Kafka mode: made at build time, so that readiness can
    /// wait for them to join their groups.
    projector_source: Option<KafkaSource>,
    sagas_source: Option<KafkaSource>,
    relay: Option<Relay>,
    sagas: Option<Sagas>,
    sandbox: Option<payments_sandbox::Sandbox>,
    /// The exchange rates sandbox's listener, and the refresher of the provider's rates (with the sagas).
    fx_sandbox: Option<TcpListener>,
    fx_refresher: Option<crate::fx_rates::RatesRefresher>,
    /// How long a client may take to send a request's head.
    header_read_timeout: std::time::Duration,
}

impl App {
    pub async fn build(config: &Config, store_url: &SecretUrl, roles: &[Role]) -> Result<App, Error> {
        let store = Database::connect(store_url.expose(), config.pool_size)?;
        // A pool of its own even on the store's database: its connections follow the schema the read models
        // are served from (`learnlog replay` switches it).
        let read_url = config.read_database_url.as_ref().unwrap_or(store_url);
        let read = Database::connect_read_models(read_url.expose(), config.pool_size)?;
        let serves_http = roles.contains(&Role::CommandApi) || roles.contains(&Role::QueryApi);
        // Only the roles that seal or open personal data read (or make) the data key: a relay or a mailer
        // process never leaves a key of its own in its data folder.
        let load_data_key = || data_key(config.data_key.as_ref(), &config.data_dir).map(Arc::new);
        let listener = TcpListener::bind(config.listen).await?;
        let fx_sandbox = match roles.contains(&Role::FxSandbox) {
            true => Some(TcpListener::bind(config.fx_sandbox_listen).await?),
            false => None,
        };
        // The configured provider, else this process's sandbox; without either, no rates are fetched.
        let fx_url = config.fx_url.clone().or_else(|| {
            let address = fx_sandbox.as_ref().and_then(|sandbox| sandbox.local_addr().ok())?;
            Some(format!("http://{address}/eurofxref-daily.xml"))
        });
        let fx_status = crate::fx_rates::ProviderStatus::default();
        // YouTube's API with the configured key, else this process's sandbox; without either, nothing is measured.
        let youtube = match (&config.youtube_key, fx_sandbox.as_ref().and_then(|sandbox| sandbox.local_addr().ok())) {
            (Some(key), _) => Some((config.youtube_url.clone(), key.clone())),
            (None, Some(address)) => {
                Some((format!("http://{address}"), SecretString::from(crate::fx_rates::SANDBOX_YOUTUBE_KEY)))
            }
            (None, None) => None,
        };
        let sandbox = match roles.contains(&Role::PaymentsSandbox) {
            true => {
                let (secret_key, webhook_secret) = payment_secrets(&config.payments, &config.data_dir)?;
                let webhook_url = match &config.payments.webhook_url {
                    Some(url) => url.clone(),
                    None => format!("http://{}/api/v1/payments/webhook", listener.local_addr()?),
                };
                let settings = payments_sandbox::SandboxConfig::new(
                    config.payments.sandbox_listen,
                    secret_key,
                    webhook_url,
                    webhook_secret,
                );
                let sandbox = payments_sandbox::Sandbox::build(settings)
                    .await
                    .map_err(|error| Error::Config(format!("the payments sandbox cannot start: {error}")))?;
                tracing::info!(url = %sandbox.public_url(), "payments sandbox listening; checkout pages are served there");
                Some(sandbox)
            }
            false => None,
        };
        // The provider's API: the configured one (Stripe), else this process's sandbox, else the sandbox's
        // configured address (a sandbox in another process).
        let api_base = match (&config.payments.api_base, &sandbox) {
            (Some(base), _) => base.clone(),
            (None, Some(sandbox)) => format!("http://{}", sandbox.local_addr()),
            (None, None) => config.payments.api_base(),
        };
        let samplers = crate::metrics::samplers(roles, &store, &read, config.kafka.is_some());
        // Their own consumer group for the sagas: every saga process shares the partitions, apart from the
        // projectors.
        let source = |subscriber: &str,
                      group_id: String,
                      checkpoints: Arc<dyn subscriptions::Checkpoints>|
         -> Result<Option<KafkaSource>, Error> {
            let Some(kafka) = &config.kafka else { return Ok(None) };
            let settings = KafkaSourceSettings {
                subscriber: subscriber.to_owned(),
                brokers: kafka.brokers.clone(),
                topic_prefix: kafka.topic_prefix.clone(),
                group_id,
                session_timeout_ms: kafka.session_timeout_ms,
                debug: kafka.debug.clone(),
                security: kafka.security.clone(),
                fetch_wait_ms: kafka.fetch_wait_ms,
            };
            Ok(Some(KafkaSource::new(&settings, store.clone(), checkpoints)?))
        };
        let group = config.kafka.as_ref().map(|kafka| kafka.group_id.clone()).unwrap_or_default();
        let projector_source = match roles.contains(&Role::Projector) {
            true => source("projector", group.clone(), Arc::new(PartitionMarks::new(read.clone(), READ_MODELS)))?,
            false => None,
        };
        let sagas_source = match roles.contains(&Role::Sagas) {
            true => source("sagas", format!("{group}-sagas"), Arc::new(sagas::SagaCheckpoints::new(store.clone())))?,
            false => None,
        };
        let consumers: Vec<(&'static str, Assignment)> = [("projector", &projector_source), ("sagas", &sagas_source)]
            .into_iter()
            .filter_map(|(name, source)| source.as_ref().map(|source| (name, source.assignment())))
            .collect();
        let noted = fx_status.clone();
        let readiness = || {
            readiness(store.clone(), read.clone(), consumers.clone()).noting({
                let noted = noted.clone();
                move || noted.notes()
            })
        };
        // One write side per process: the command API and the sagas share its writer and its state cache.
        let write = match roles.contains(&Role::CommandApi) || roles.contains(&Role::Sagas) {
            true => Some(write_side(&store, &load_data_key()?)),
            false => None,
        };
        let routes = match serves_http {
            true => {
                let data_key = load_data_key()?;
                if roles.contains(&Role::CommandApi) {
                    let sealed = command_api::credentials::seal_plaintext_bank_accounts(&store, &data_key)
                        .await
                        .map_err(|error| Error::Config(format!("sealing bank accounts: {error}")))?;
                    if sealed > 0 {
                        tracing::info!(sealed, "bank account numbers stored in clear are now sealed");
                    }
                }
                let services = HttpServices {
                    store: store.clone(),
                    write: write.clone(),
                    read: read.clone(),
                    keys: Arc::new(TokenKeys::new(&token_secret(config.jwt_secret.as_ref(), &config.data_dir)?)?),
                    data_key,
                    frontend_url: config.frontend_url.clone(),
                    consistency_wait: config.consistency_wait,
                    sign_ups_per_hour: config.sign_ups_per_hour,
                    read_replicas: config.read_replica_urls.clone(),
                    read_replica_max_lag: config.read_replica_max_lag,
                    pictures: config.pictures()?,
                    edge: Edge {
                        body_limit: config.body_limit_bytes,
                        allowed_origins: config.cors_origins.clone(),
                        trusted_proxies: config.trusted_proxies.clone(),
                        timeouts: api_contract::Timeouts::default(),
                    },
                    card_payments: Some(card_payments(
                        &api_base,
                        payment_secrets(&config.payments, &config.data_dir)?,
                        &config.frontend_url,
                        config.payments.checkout_ttl,
                    )),
                };
                http_routes(roles, &services, readiness(), samplers)
            }
            false => api_contract::finish(Router::new(), &Edge::default(), readiness(), samplers),
        };
        let mailer = match roles.contains(&Role::Mailer) {
            true => Some(Mailer::new(store.clone(), delivery(config), &config.mail_from)?),
            false => None,
        };
        let projector = match roles.contains(&Role::Projector) {
            true => Some(Projector::new(read.clone(), READ_MODELS, KeyRing::new(store.clone(), load_data_key()?))),
            false => None,
        };
        let relay = if roles.contains(&Role::Relay) {
            let kafka =
                config.kafka.as_ref().ok_or_else(|| Error::Config("the relay role needs KAFKA_BROKERS".into()))?;
            Some(Relay::new(store.clone(), kafka_settings(kafka))?)
        } else {
            None
        };
        let mut fx_refresher = None;
        let sagas = match write.filter(|_| roles.contains(&Role::Sagas)) {
            Some(write) => {
                let keys = Arc::new(TokenKeys::new(&token_secret(config.jwt_secret.as_ref(), &config.data_dir)?)?);
                let (data_key, pictures) = (load_data_key()?, config.pictures()?);
                if let Some(url) = &fx_url {
                    // The rates go through the sagas' own write side, key and pictures: read once.
                    let state =
                        CommandApiState::new(write.clone(), Arc::clone(&keys), Arc::clone(&data_key), pictures.clone());
                    let feed = command_api::FxFeed::new(state);
                    fx_refresher = Some(crate::fx_rates::RatesRefresher::new(
                        url.clone(),
                        config.fx_every,
                        feed,
                        fx_status.clone(),
                    ));
                }
                let payments = card_payments(
                    &api_base,
                    payment_secrets(&config.payments, &config.data_dir)?,
                    &config.frontend_url,
                    config.payments.checkout_ttl,
                );
                let mut sagas = sagas(write, &read, keys, data_key, Some(payments), pictures);
                if let Some((url, key)) = &youtube {
                    let lengths = sagas::lessons::VideoLengths::new(url, key.clone())
                        .map_err(|error| Error::Config(format!("the video API's client: {error}")))?;
                    sagas = sagas.measuring_videos(lengths);
                }
                Some(sagas.linking_to(&config.frontend_url).sweeping_paid_orders(config.paid_order_sweep))
            }
            None => None,
        };
        let header_read_timeout = api_contract::Timeouts::default().header_read;
        Ok(App {
            listener,
            routes,
            store,
            projector,
            mailer,
            projector_source,
            sagas_source,
            relay,
            sagas,
            sandbox,
            fx_sandbox,
            fx_refresher,
            header_read_timeout,
        })
    }

    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `shutdown` completes, then lets requests in flight and the projector's batch finish.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), Error> {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        if let Some(projector) = self.projector {
            let kafka = self.projector_source;
            tasks.push(tokio::spawn(run_projector(projector, kafka, self.store.clone(), stopped.clone())));
        }
        if let Some(mailer) = self.mailer {
            let stopped = stopped.clone();
            tasks.push(tokio::spawn(async move {
                if let Err(error) = mailer.run(stopped).await {
                    tracing::error!(%error, "the mailer stopped");
                }
            }));
        }
        if let Some(sandbox) = self.sandbox {
            let mut stopped = stopped.clone();
            tasks.push(tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                };
                if let Err(error) = sandbox.run(shutdown).await {
                    tracing::error!(%error, "the payments sandbox stopped");
                }
            }));
        }
        if let Some(listener) = self.fx_sandbox {
            let mut stopped = stopped.clone();
            tracing::info!(address = ?listener.local_addr().ok(), "exchange rates sandbox listening");
            tasks.push(tokio::spawn(crate::fx_rates::serve_sandbox(listener, async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })));
        }
        if let Some(refresher) = self.fx_refresher {
            let mut stopped = stopped.clone();
            tasks.push(tokio::spawn(refresher.run(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })));
        }
        if let Some(sagas) = self.sagas {
            let mut stopped = stopped.clone();
            let shutdown = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            match self.sagas_source {
                Some(source) => {
                    tracing::info!("sagas consuming from Kafka");
                    tasks.push(tokio::spawn(sagas.run_on(source, shutdown)));
                }
                None => tasks.push(tokio::spawn(sagas.run(shutdown))),
            }
        }
        if let Some(relay) = self.relay {
            let mut stopped = stopped.clone();
            tasks.push(tokio::spawn(relay.run(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })));
        }
        let serving = api_contract::serve(self.listener, self.routes, self.header_read_timeout, async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        let served = serving.await;
        for task in tasks {
            let _ = task.await;
        }
        Ok(served?)
    }
}

/// SMTP when configured, else `.eml` files in the data folder's mailbox.
fn delivery(config: &Config) -> Delivery {
    match &config.smtp_url {
        Some(url) => Delivery::Smtp(url.clone()),
        None => Delivery::Mailbox(config.data_dir.join("mailbox")),
    }
}

/// Runs the projector on Kafka when a source is given, else on the store's feed from its checkpoint.
async fn run_projector(
    projector: Projector,
    kafka: Option<KafkaSource>,
    store: Database,
    mut stopped: watch::Receiver<bool>,
) {
    if let Some(source) = kafka {
        tracing::info!("projector consuming from Kafka");
        projector
            .run(source, async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await;
        return;
    }
    let start = loop {
        match projector.checkpoint().await {
            Ok(position) => break position,
            Err(error) => {
                tracing::warn!(%error, "cannot read the projector checkpoint yet; retrying");
                tokio::select! {
                    _ = stopped.wait_for(|stop| *stop) => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    };
    tracing::info!(position = start, "projector starting");
    let shutdown = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    projector.run(FeedSource::new(store, start), shutdown).await;
}

/// Ready when both databases answer and carry every migration this build knows, and every Kafka consumer of
/// this process has joined its group and been given its partitions: before that, a write made right after
/// start would not be read back in time, and a balancer must not route to the process.
fn readiness(store: Database, read: Database, consumers: Vec<(&'static str, Assignment)>) -> Readiness {
    Readiness::new(move || {
        let store = store.clone();
        let read = read.clone();
        let waiting = consumers.iter().find(|(_, assignment)| !assignment.joined()).map(|(name, _)| *name);
        async move {
            if let Some(name) = waiting {
                return Err(format!("the Kafka consumer of the {name} has not joined its group yet"));
            }
            for (database, schema, name) in
                [(&store, migrations::Schema::Store, "event store"), (&read, migrations::Schema::Read, "read models")]
            {
                let mut client =
                    database.pool().get().await.map_err(|_| format!("the {name} database is unreachable"))?;
                let current = migrations::is_current(&mut client, schema)
                    .await
                    .map_err(|_| format!("the {name} database cannot be checked"))?;
                if !current {
                    return Err(format!("the {name} database lacks migrations; run `learnlog migrate`"));
                }
            }
            Ok(())
        }
    })
}

/// Applies both sets of migrations (to the same database in embedded mode), and creates the Kafka topics
/// when Kafka is configured.
pub async fn migrate(
    store_url: &SecretUrl,
    read_url: Option<&SecretUrl>,
    kafka: Option<&KafkaConfig>,
) -> Result<(), Error> {
    for (url, schema) in
        [(store_url, migrations::Schema::Store), (read_url.unwrap_or(store_url), migrations::Schema::Read)]
    {
        let database = Database::connect(url.expose(), 1)?;
        let mut client = database.connect_single().await?;
        migrations::migrate(&mut client, schema).await?;
    }
    if let Some(kafka) = kafka {
        ensure_topics(&kafka_settings(kafka)).await?;
    }
    Ok(())
}

fn kafka_settings(kafka: &KafkaConfig) -> KafkaSettings {
    KafkaSettings {
        brokers: kafka.brokers.clone(),
        topic_prefix: kafka.topic_prefix.clone(),
        partitions: kafka.partitions,
        replication_factor: kafka.replication_factor,
        security: kafka.security.clone(),
    }
}
