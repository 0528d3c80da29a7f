//! What every Learnlog listener puts around its routes: health and readiness, request ids, a span per
//! request, the body limit, problem JSON for unknown routes and methods, and a panic turned into a plain 500.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::problem::Problem;

type ReadinessFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// Checks the dependencies a role needs (databases reachable, migrations applied); `Err` says what is not.
#[derive(Clone)]
pub struct Readiness(Arc<dyn Fn() -> ReadinessFuture + Send + Sync>);

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
        Readiness(Arc::new(move || Box::pin(check())))
    }

    async fn check(&self) -> Result<(), String> {
        (self.0)().await
    }
}

/// Wraps the merged routes of one listener.
pub fn finish(routes: Router, body_limit: usize, readiness: Readiness) -> Router {
    routes
        .route("/healthz", get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) }))
        .route("/readyz", get(move || ready(readiness.clone())))
        .fallback(|| async { Problem::not_found("There is no such route.") })
        .method_not_allowed_fallback(|| async {
            Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "This route does not take that method.")
        })
        .layer(axum::middleware::from_fn(crate::text::guard_uri))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked");
            Problem::internal().into_response()
        }))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let route = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_owned());
            let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
            tracing::info_span!("request", method = %request.method(), route, request_id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

async fn ready(readiness: Readiness) -> Response {
    match readiness.check().await {
        Ok(()) => axum::Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            let mut problem = Problem::unavailable();
            problem.detail = format!("Not ready: {reason}.");
            problem.into_response()
        }
    }
}
