//! What every Learnlog listener puts around its routes: health and readiness, request ids, a span per
//! request, the body limit, the text rule for paths and query strings, problem JSON for unknown routes and
//! methods, a panic turned into a plain 500; and what a browser frontend on another origin needs: CORS for
//! the allowed origins (preflights answered, the consistency and ETag headers exposed), gzip when the client
//! accepts it, and the usual security headers of a JSON API. All of it is tower-http's layers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderName, HeaderValue, Method, StatusCode, header};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::metrics::Samplers;
use crate::problem::Problem;

type ReadinessFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

type Notes = Arc<dyn Fn() -> Vec<String> + Send + Sync>;

/// Checks the dependencies a role needs (databases reachable, migrations applied); `Err` says what is not.
/// Notes say what is degraded without making the process unready (a rates provider that fails).
#[derive(Clone)]
pub struct Readiness(Arc<dyn Fn() -> ReadinessFuture + Send + Sync>, Option<Notes>);

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Readiness(..)")
    }
}

impl Readiness {
    pub fn new<F, Fut>(check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Readiness(Arc::new(move || Box::pin(check())), None)
    }

    /// The same check, whose ready answer also carries `notes` (as `details`) when there are any.
    pub fn noting(self, notes: impl Fn() -> Vec<String> + Send + Sync + 'static) -> Self {
        Readiness(self.0, Some(Arc::new(notes)))
    }

    fn notes(&self) -> Vec<String> {
        self.1.as_ref().map(|notes| notes()).unwrap_or_default()
    }

    async fn check(&self) -> Result<(), String> {
        (self.0)().await
    }
}

/// What a listener's edge is configured with.
#[derive(Debug, Clone)]
pub struct Edge {
    pub body_limit: usize,
    /// Origins a browser may call the API from (`LEARNLOG_CORS_ORIGINS`, default the frontend's URL); `*`
    /// allows any origin.
    pub allowed_origins: Vec<String>,
    /// The proxies whose `X-Forwarded-For` names the client (`LEARNLOG_TRUSTED_PROXIES`; none by default).
    pub trusted_proxies: crate::TrustedProxies,
    pub timeouts: Timeouts,
}

/// How long a client may take, so that slow ones cannot hold connections, and how long an answer may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To send a request's head (its line and headers), from its first byte: else the connection is closed.
    pub header_read: std::time::Duration,
    /// To send a request's whole body: else `408 request_timeout`.
    pub body_read: std::time::Duration,
    /// For the answer's head to be ready (the longest waits a request may ask for are 25 s): else
    /// `503 unavailable`. A streamed answer's body (the event history) is not bounded by it.
    pub answer: std::time::Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header_read: std::time::Duration::from_secs(10),
            body_read: std::time::Duration::from_secs(30),
            answer: std::time::Duration::from_secs(60),
        }
    }
}

impl Default for Edge {
    /// The API's default body limit, and browsers only from the default frontend's origin.
    fn default() -> Self {
        Edge {
            body_limit: crate::DEFAULT_BODY_LIMIT,
            allowed_origins: vec![DEFAULT_FRONTEND_ORIGIN.to_owned()],
            trusted_proxies: crate::TrustedProxies::default(),
            timeouts: Timeouts::default(),
        }
    }
}

/// Where the web frontend runs unless `LEARNLOG_FRONTEND_URL` says otherwise.
pub const DEFAULT_FRONTEND_ORIGIN: &str = "http://localhost:8000";

/// The request headers a browser frontend may send.
const ALLOWED_HEADERS: [HeaderName; 8] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::IF_MATCH,
    header::IF_NONE_MATCH,
    HeaderName::from_static("idempotency-key"),
    HeaderName::from_static("x-consistency-token"),
    HeaderName::from_static("x-request-id"),
    HeaderName::from_static("x-correlation-id"),
];

/// The answer headers a browser frontend may read.
const EXPOSED_HEADERS: [HeaderName; 7] = [
    header::ETAG,
    header::LOCATION,
    header::RETRY_AFTER,
    HeaderName::from_static("x-consistency-token"),
    HeaderName::from_static("x-consistency"),
    HeaderName::from_static("x-request-id"),
    HeaderName::from_static("x-order-wait"),
];

fn cors(origins: &[String]) -> CorsLayer {
    let allow = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin.trim().trim_end_matches('/')).ok())
                .collect::<Vec<_>>(),
        )
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers(ALLOWED_HEADERS)
        .expose_headers(EXPOSED_HEADERS)
        .max_age(std::time::Duration::from_secs(600))
}

/// The security headers every answer carries: it is JSON, never to be sniffed, framed or given a referrer.
fn security_headers(routes: Router) -> Router {
    let headers = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"),
        (header::STRICT_TRANSPORT_SECURITY, "max-age=63072000; includeSubDomains"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
    ];
    headers.into_iter().fold(routes, |routes, (name, value)| {
        routes.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)))
    })
}

/// The correlation id of a request: the client's `X-Correlation-Id`, else the request's own id (set at the
/// edge). Commands put it in their events' metadata, the relay in Kafka headers, the projector in its spans.
pub fn correlation_id(headers: &http::HeaderMap) -> Option<uuid::Uuid> {
    ["x-correlation-id", "x-request-id"].into_iter().find_map(|name| {
        headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| uuid::Uuid::parse_str(v.trim()).ok())
    })
}

/// Wraps the merged routes of one listener.
pub fn finish(routes: Router, edge: &Edge, readiness: Readiness, samplers: Samplers) -> Router {
    crate::metrics::install();
    let routes = routes
        .route("/healthz", get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) }))
        .route("/readyz", get(move || ready(readiness.clone())))
        .route("/metrics", get(move || crate::metrics::render(samplers.clone())))
        .fallback(|| async { Problem::not_found("There is no such route.") })
        .method_not_allowed_fallback(|| async {
            Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "This route does not take that method.")
        })
        .layer(axum::middleware::from_fn(crate::text::guard_uri))
        .layer(axum::middleware::from_fn_with_state(edge.trusted_proxies.clone(), crate::client_address::mark))
        .layer(DefaultBodyLimit::max(edge.body_limit))
        .layer(tower_http::timeout::RequestBodyDeadlineLayer::new(edge.timeouts.body_read))
        .layer(axum::middleware::from_fn_with_state(edge.timeouts.answer, answer_within))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked");
            Problem::internal().into_response()
        }))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let route = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_owned());
            let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
            let correlation_id = correlation_id(request.headers()).map(|id| id.to_string()).unwrap_or_default();
            tracing::info_span!("request", method = %request.method(), route, request_id, correlation_id)
        }))
        .layer(axum::middleware::from_fn(crate::metrics::time_requests))
        .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
        .layer(CompressionLayer::new().gzip(true));
    security_headers(routes)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(cors(&edge.allowed_origins))
}

/// Answers `503` when the answer's head is not ready within `limit`; the work it stood for is dropped.
async fn answer_within(
    axum::extract::State(limit): axum::extract::State<std::time::Duration>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(seconds = limit.as_secs(), "an answer took too long");
            Problem::unavailable().because("the answer took too long").into_response()
        }
    }
}

async fn ready(readiness: Readiness) -> Response {
    match readiness.check().await {
        Ok(()) => match readiness.notes() {
            notes if notes.is_empty() => axum::Json(serde_json::json!({ "status": "ready" })).into_response(),
            notes => axum::Json(serde_json::json!({ "status": "ready", "details": notes })).into_response(),
        },
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            let mut problem = Problem::unavailable();
            problem.detail = format!("Not ready: {reason}.");
            problem.into_response()
        }
    }
}
