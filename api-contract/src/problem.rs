//! RFC 9457 problem JSON, the one error type of both HTTP services (ADR 0002): every failure of a handler is
//! a `Problem`, and the answer is made from it in one place, [`IntoResponse`], which also logs the cause of
//! a 5xx once (a handler attaches it with [`Problem::because`] instead of logging it itself). The cause is
//! never sent.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

/// An error answer. `code` is the stable machine-readable part; `detail` a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub retry_after_seconds: Option<u32>,
    /// Why it failed, for the log only (database errors and the like): logged once when the answer is
    /// made, never sent.
    pub cause: Option<String>,
}

/// Problem JSON as it is sent.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub(crate) struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    code: &'a str,
    detail: &'a str,
    errors: &'a [FieldError],
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Problem { status, code, detail: detail.into(), errors: Vec::new(), retry_after_seconds: None, cause: None }
    }

    /// The same problem, with what caused it (logged when the answer is made, never sent).
    pub fn because(mut self, cause: impl std::fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn malformed(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, "malformed_request", detail)
    }

    /// A query parameter (or header) that cannot be used: 400 naming it in `errors`, as a body field is named.
    pub fn invalid_param(name: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Problem::malformed(format!("`{name}` {message}.")).with_errors(vec![FieldError::new(name, message)])
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::CONFLICT, "conflict", detail)
    }

    /// A validation or business rule: 422 with the rule's own code.
    pub fn rule(code: &'static str, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    /// A dependency is down; nothing was half-written.
    pub fn unavailable() -> Self {
        let mut problem =
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "A dependency is unavailable; try again.");
        problem.retry_after_seconds = Some(1);
        problem
    }

    /// An unexpected failure. Its cause (see [`Problem::because`]) is logged, never sent.
    pub fn internal() -> Self {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "Something went wrong on our side.")
    }

    fn title(&self) -> &str {
        self.status.canonical_reason().unwrap_or("Error")
    }

    /// What is sent: everything but the cause.
    fn body(&self) -> ProblemBody<'_> {
        ProblemBody {
            kind: format!("https://learnlog.dev/problems/{}", self.code),
            title: self.title(),
            status: self.status.as_u16(),
            code: self.code,
            detail: &self.detail,
            errors: &self.errors,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        match (&self.cause, self.status.is_server_error()) {
            (Some(cause), true) => tracing::error!(%cause, code = self.code, "request failed"),
            (Some(cause), false) => tracing::debug!(%cause, code = self.code, "request refused"),
            (None, _) => {}
        }
        let mut response = (self.status, Json(self.body())).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after_seconds {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_answers_problem_json_with_its_code() {
        let response = Problem::rule("invalid_price", "The price must not be negative.").into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
    }

    #[test]
    fn a_cause_is_never_sent() {
        let problem = Problem::unavailable().because("connection refused to db.internal:5432 with password x");
        let body = serde_json::to_string(&problem.body()).expect("serialises");
        assert!(!body.contains("db.internal"), "{body}");
        assert!(body.contains("\"code\":\"unavailable\""), "{body}");
    }

    #[test]
    fn unavailable_tells_the_client_when_to_retry() {
        let response = Problem::unavailable().into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
