//! HTTP routes of the command API (API.md, "Commands").

mod auth;
mod courses;
mod execute;
mod headers;
mod sessions;

use std::sync::Arc;

use api_contract::TokenKeys;
use axum::Router;
use axum::extract::FromRef;
use axum::routing::{patch, post};
use event_store::PgEventStore;
pub use sessions::AttemptLimiter;

/// What every command handler needs.
#[derive(Debug, Clone)]
pub struct CommandApiState {
    pub store: PgEventStore,
    pub keys: Arc<TokenKeys>,
    /// Shared by every request of this process (R19 limits per process).
    pub login_limiter: AttemptLimiter,
    pub password_limiter: AttemptLimiter,
}

impl CommandApiState {
    pub fn new(store: PgEventStore, keys: Arc<TokenKeys>) -> Self {
        CommandApiState {
            store,
            keys,
            login_limiter: AttemptLimiter::default(),
            password_limiter: AttemptLimiter::default(),
        }
    }
}

impl FromRef<CommandApiState> for Arc<TokenKeys> {
    fn from_ref(state: &CommandApiState) -> Self {
        Arc::clone(&state.keys)
    }
}

/// Every command route, under `/api/v1`.
pub fn router(state: CommandApiState) -> Router {
    Router::new()
        .route("/api/v1/auth/register", post(auth::register))
        .route("/api/v1/auth/login", post(sessions::login))
        .route("/api/v1/auth/refresh", post(sessions::refresh))
        .route("/api/v1/auth/logout", post(sessions::logout))
        .route("/api/v1/auth/password", post(sessions::change_password))
        .route("/api/v1/admin/users", post(auth::create_user))
        .route("/api/v1/me", patch(auth::update_profile))
        .route("/api/v1/courses", post(courses::create))
        .route("/api/v1/courses/{id}", patch(courses::update))
        .route("/api/v1/courses/{id}/publish", post(courses::publish))
        .route("/api/v1/courses/{id}/retire", post(courses::retire))
        .with_state(state)
}
