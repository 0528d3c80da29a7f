//! Prometheus metrics. Every crate records through the `metrics` facade (counters, gauges, histograms named
//! `learnlog_…`); one recorder per process keeps them, and `GET /metrics` on every listener renders them in
//! the Prometheus text format. Gauges that describe the databases (lags, backlogs, dead letters) are read
//! when scraped, by the [`Samplers`] of the roles the process runs.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Seconds from a request's arrival to its answer's head, by method, route template and status.
pub const HTTP_REQUEST_SECONDS: &str = "learnlog_http_request_duration_seconds";
const HTTP_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Histograms of counts (appends and events per group commit) share these buckets.
const COUNT_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];
/// How long one sampler may take before a scrape goes on without it.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often histograms are folded in even when nobody scrapes, so that memory does not grow.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use.
fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_REQUEST_SECONDS.to_owned()), HTTP_BUCKETS)
            .and_then(|builder| builder.set_buckets_for_metric(Matcher::Suffix("_size".to_owned()), COUNT_BUCKETS));
        let recorder = match builder {
            Ok(builder) => builder.build_recorder(),
            Err(error) => unreachable!("the bucket lists are not empty: {error}"),
        };
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; GET /metrics shows nothing");
        }
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
        if let Err(error) = spawned {
            tracing::warn!(%error, "no metrics upkeep thread; histograms are folded in when scraped");
        }
        handle
    })
}

/// Installs the recorder now, so that metrics recorded before the first scrape are kept.
pub fn install() {
    handle();
}

type SampleFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What a process reads into gauges when scraped: one sampler per role that has something to report.
#[derive(Clone, Default)]
pub struct Samplers(Vec<Arc<dyn Fn() -> SampleFuture + Send + Sync>>);

impl std::fmt::Debug for Samplers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Samplers({})", self.0.len())
    }
}

impl Samplers {
    /// Adds a sampler: it sets gauges through the `metrics` facade and reports its own failures.
    pub fn add<F, Fut>(&mut self, sample: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.0.push(Arc::new(move || Box::pin(sample())));
    }

    async fn sample(&self) {
        let samples = self.0.iter().map(|sample| async move {
            if tokio::time::timeout(SAMPLE_TIMEOUT, sample()).await.is_err() {
                tracing::warn!("a metrics sampler took too long; this scrape goes on without it");
            }
        });
        futures_util::future::join_all(samples).await;
    }
}

/// `GET /metrics`: samples, then renders every metric of the process.
pub(crate) async fn render(samplers: Samplers) -> Response {
    samplers.sample().await;
    let handle = handle();
    handle.run_upkeep();
    let mut response = handle.render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// Times every request into [`HTTP_REQUEST_SECONDS`], labelled by the route's template (never the path
/// itself, which holds ids), so the series stay few.
pub(crate) async fn time_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(HTTP_REQUEST_SECONDS, "method" => method, "route" => route, "status" => status)
        .record(started.elapsed().as_secs_f64());
    response
}
