//! The read side: HTTP queries over the read models. Reads favour availability: a read that asks for a
//! write it cannot see yet waits a bounded time, then answers what it has, marked stale. It writes nothing.

mod caching;
mod catalog_query;
mod consistency;
mod courses;
mod instructors;
mod me;
mod money;
mod page;
mod watermark;

use std::sync::Arc;
use std::time::Duration;

use api_contract::TokenKeys;
use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use event_store::Database;

pub use watermark::Watermark;

/// The default bound on a consistency-token wait (API.md).
pub const DEFAULT_CONSISTENCY_WAIT: Duration = Duration::from_secs(2);

/// What every query handler needs.
#[derive(Debug, Clone)]
pub struct QueryApiState {
    pub read: Database,
    pub watermark: Watermark,
    pub consistency_wait: Duration,
    /// Verifies the bearer tokens of per-user reads.
    pub keys: Arc<TokenKeys>,
}

impl FromRef<QueryApiState> for Arc<TokenKeys> {
    fn from_ref(state: &QueryApiState) -> Self {
        Arc::clone(&state.keys)
    }
}

/// Every query route, under `/api/v1`.
pub fn router(state: QueryApiState) -> Router {
    Router::new()
        .route("/api/v1/courses", get(courses::list))
        .route("/api/v1/courses/{id}", get(courses::get))
        .route("/api/v1/categories", get(courses::categories))
        .route("/api/v1/instructors/top", get(instructors::top))
        .route("/api/v1/instructors/{id}", get(instructors::get))
        .route("/api/v1/instructors/{id}/courses", get(instructors::courses))
        .route("/api/v1/me", get(me::get))
        .with_state(state)
}
