//! HTTP routes of the command API (API.md, "Commands").

mod auth;
mod course_content;
mod courses;
mod execute;
mod fx;
mod headers;
mod recovery;
mod sessions;

use std::sync::Arc;

use api_contract::TokenKeys;
use axum::Router;
use axum::extract::FromRef;
use axum::routing::{patch, post, put};
use event_store::PgEventStore;
pub use sessions::AttemptLimiter;

/// The original's frontend origin (DOMAIN.md, CORS).
pub const DEFAULT_FRONTEND_URL: &str = "http://localhost:8000";

/// What every command handler needs.
#[derive(Debug, Clone)]
pub struct CommandApiState {
    pub store: PgEventStore,
    pub keys: Arc<TokenKeys>,
    /// Shared by every request of this process (R19 limits per process).
    pub login_limiter: AttemptLimiter,
    pub password_limiter: AttemptLimiter,
    /// Email verification and password reset, together.
    pub recovery_limiter: AttemptLimiter,
    /// Where links in emails point (the web frontend).
    pub frontend_url: String,
}

impl CommandApiState {
    pub fn new(store: PgEventStore, keys: Arc<TokenKeys>) -> Self {
        CommandApiState {
            store,
            keys,
            login_limiter: AttemptLimiter::default(),
            password_limiter: AttemptLimiter::default(),
            recovery_limiter: AttemptLimiter::default(),
            frontend_url: DEFAULT_FRONTEND_URL.to_owned(),
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
        .route("/api/v1/auth/password-reset", post(recovery::request_reset))
        .route("/api/v1/auth/password-reset/confirm", post(recovery::confirm_reset))
        .route("/api/v1/auth/verify-email", post(recovery::verify_email))
        .route("/api/v1/auth/verify-email/resend", post(recovery::resend_verification))
        .route("/api/v1/admin/users", post(auth::create_user))
        .route("/api/v1/admin/fx-rates/{currency}", put(fx::set_rate))
        .route("/api/v1/me", patch(auth::update_profile))
        .route("/api/v1/courses", post(courses::create))
        .route("/api/v1/courses/{id}", patch(courses::update).delete(courses::delete))
        .route("/api/v1/courses/{id}/sections", post(course_content::add_section))
        .route(
            "/api/v1/courses/{id}/sections/{section_id}",
            patch(course_content::update_section).delete(course_content::remove_section),
        )
        .route("/api/v1/courses/{id}/sections/{section_id}/lessons", post(course_content::add_lesson))
        .route(
            "/api/v1/courses/{id}/sections/{section_id}/lessons/{lesson_id}",
            patch(course_content::update_lesson).delete(course_content::remove_lesson),
        )
        .route("/api/v1/courses/{id}/sections/{section_id}/exercises", post(course_content::add_exercise))
        .route(
            "/api/v1/courses/{id}/sections/{section_id}/exercises/{exercise_id}",
            axum::routing::delete(course_content::remove_exercise),
        )
        .route(
            "/api/v1/courses/{id}/sections/{section_id}/exercises/{exercise_id}/questions",
            post(course_content::add_question),
        )
        .route(
            "/api/v1/courses/{id}/sections/{section_id}/exercises/{exercise_id}/questions/{question_id}",
            put(course_content::replace_question).delete(course_content::remove_question),
        )
        .route("/api/v1/courses/{id}/exam", put(course_content::set_exam))
        .route("/api/v1/courses/{id}/faq", post(course_content::add_faq))
        .route(
            "/api/v1/courses/{id}/faq/{faq_id}",
            patch(course_content::update_faq).delete(course_content::remove_faq),
        )
        .route("/api/v1/courses/{id}/announcements", post(course_content::post_announcement))
        .route(
            "/api/v1/courses/{id}/announcements/{announcement_id}",
            patch(course_content::edit_announcement).delete(course_content::remove_announcement),
        )
        .route("/api/v1/courses/{id}/discounts", post(course_content::add_discount))
        .route(
            "/api/v1/courses/{id}/discounts/{discount_id}",
            put(course_content::replace_discount).delete(course_content::remove_discount),
        )
        .route("/api/v1/courses/{id}/publish", post(courses::publish))
        .route("/api/v1/courses/{id}/retire", post(courses::retire))
        .with_state(state)
}
