//! `GET /api/v1/as-of/{name}/{*path}`: the read models as they were, from a snapshot `learnlog replay --as-of`
//! (or `--position`) built. Every query route of the API answers under that prefix, with the same rules of
//! who may call it, from the snapshot's schema; nothing else is reachable there, and nothing is written.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use api_contract::Problem;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use http::Uri;
use tower::ServiceExt;

use crate::QueryApiState;
use crate::reading::reading;

/// Connections per snapshot served.
const SNAPSHOT_POOL: usize = 4;

/// The query routers of the snapshots served so far, by name.
#[derive(Debug, Clone, Default)]
pub struct Snapshots(Arc<Mutex<HashMap<String, Router>>>);

/// `GET /api/v1/as-of/{name}/{*path}`
pub(crate) async fn serve(
    State(state): State<QueryApiState>,
    Path((name, path)): Path<(String, String)>,
    request: Request,
) -> Response {
    match snapshot_router(&state, &name).await {
        Ok(router) => {
            let (mut parts, body) = request.into_parts();
            let query = parts.uri.query().map(|query| format!("?{query}")).unwrap_or_default();
            match format!("/api/v1/{path}{query}").parse::<Uri>() {
                Ok(uri) => parts.uri = uri,
                Err(_) => return Problem::not_found("There is no such route.").into_response(),
            }
            router.oneshot(Request::from_parts(parts, body)).await.unwrap_or_else(|never| match never {})
        }
        Err(problem) => problem.into_response(),
    }
}

async fn snapshot_router(state: &QueryApiState, name: &str) -> Result<Router, Problem> {
    let missing = || Problem::not_found(format!("There is no snapshot {name:?}; `learnlog replay list` shows them."));
    if !database::is_schema_name(name) {
        return Err(missing());
    }
    // Asked every time: a dropped snapshot must not be answered from a router made before.
    let client = state.read.pool().get().await.map_err(reading("a snapshot"))?;
    let statement = client
        .prepare_cached("SELECT true FROM learnlog_meta.read_schemas WHERE name = $1 AND kind = 'snapshot'")
        .await
        .map_err(reading("a snapshot"))?;
    let is_snapshot = client.query_opt(&statement, &[&name]).await.map_err(reading("a snapshot"))?.is_some();
    drop(client);
    {
        let mut snapshots = state.snapshots.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !is_snapshot {
            snapshots.remove(name);
            return Err(missing());
        }
        if let Some(router) = snapshots.get(name) {
            return Ok(router.clone());
        }
    }
    let read = state.read.in_schema(name, SNAPSHOT_POOL).map_err(reading("a snapshot"))?;
    let watermark = state.read.watermark().fixed_in(read.clone()).await.map_err(reading("a snapshot"))?;
    let snapshot = QueryApiState {
        read: crate::ReadModels::single(read, watermark),
        // A snapshot serves reads of the read models only.
        snapshots: Snapshots::default(),
        ..state.clone()
    };
    let router = crate::read_model_routes().into_router(&snapshot.keys).with_state(snapshot);
    let mut snapshots = state.snapshots.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(snapshots.entry(name.to_owned()).or_insert(router).clone())
}
