//! The part of Stripe's API the checkout uses: creating a Checkout Session from a form-encoded body in Stripe's
//! bracket notation, and reading one back. Requests authenticate with the secret key, as a Bearer token or as
//! the HTTP Basic user, and errors have Stripe's shape, so a Stripe client reads them as it reads Stripe's.
//! Parameters the sandbox does not model are refused, as Stripe refuses unknown ones, so that a client that
//! works here does not send something the sandbox silently ignored.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::SharedState;
use crate::parameters::new_session;
use crate::session::now;
use crate::store::Reply;

/// An error as Stripe answers it: `{"error": {"type", "message", "param"}}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    param: Option<String>,
}

impl ApiError {
    pub(crate) fn invalid(message: impl Into<String>, param: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            message: message.into(),
            param: Some(param.into()),
        }
    }

    #[cfg(test)]
    pub(crate) fn param(&self) -> Option<&str> {
        self.param.as_deref()
    }

    fn unauthorized() -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            kind: "invalid_request_error",
            // Like Stripe, never echo the key that was sent.
            message: "Invalid API Key provided. Send the secret key as `Authorization: Bearer <key>`.".to_owned(),
            param: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "type": self.kind, "message": self.message });
        if let Some(param) = self.param {
            error["param"] = param.into();
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

/// `POST /v1/checkout/sessions`.
pub(crate) async fn create_session(
    State(state): State<Arc<SharedState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorize(&headers, &state)?;
    let idempotency_key = headers.get("idempotency-key").and_then(|value| value.to_str().ok()).map(str::to_owned);
    let now = now();
    // One lock for the lookup and the insert, so two requests with the same key cannot both create a session.
    let mut store = state.store();
    if let Some(key) = &idempotency_key
        && let Some(reply) = store.reply(key)
    {
        if reply.request != body.as_ref() {
            return Err(ApiError {
                status: StatusCode::BAD_REQUEST,
                kind: "idempotency_error",
                message: format!(
                    "Keys for idempotent requests can only be used with the same parameters they were first used \
                     with. Try using a key other than '{key}' if you meant to execute a different request."
                ),
                param: None,
            });
        }
        let mut response = json_body(reply.body.clone());
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
        return Ok(response);
    }
    let session = new_session(&body, now)?;
    let reply = session.to_json(store.public_url()).to_string();
    tracing::info!(session_id = %session.id, amount_total = session.amount_total, currency = %session.currency, "checkout session created");
    store.insert(session);
    if let Some(key) = idempotency_key {
        store.remember_reply(key, Reply { request: body.to_vec(), body: reply.clone() });
    }
    Ok(json_body(reply))
}

/// `GET /v1/checkout/sessions/{id}`.
pub(crate) async fn session(
    State(state): State<Arc<SharedState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&headers, &state)?;
    let mut store = state.store();
    let public_url = store.public_url().to_owned();
    match store.session(&id, now()) {
        Some(session) => Ok(json_body(session.to_json(&public_url).to_string())),
        None => Err(ApiError {
            status: StatusCode::NOT_FOUND,
            kind: "invalid_request_error",
            message: format!("No such checkout.session: '{id}'"),
            param: Some("id".to_owned()),
        }),
    }
}

fn json_body(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Accepts `Authorization: Bearer <key>` and, as Stripe does, HTTP Basic with the key as the user name.
fn authorize(headers: &HeaderMap, state: &SharedState) -> Result<(), ApiError> {
    let expected = state.secret_key.expose_secret().as_bytes();
    let presented = headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok()).and_then(|value| {
        if let Some(token) = value.strip_prefix("Bearer ") {
            Some(token.trim().as_bytes().to_vec())
        } else if let Some(encoded) = value.strip_prefix("Basic ") {
            let decoded = STANDARD.decode(encoded.trim()).ok()?;
            let user_end = decoded.iter().position(|&byte| byte == b':').unwrap_or(decoded.len());
            Some(decoded[..user_end].to_vec())
        } else {
            None
        }
    });
    match presented {
        Some(key) if same_bytes(&key, expected) => Ok(()),
        _ => Err(ApiError::unauthorized()),
    }
}

/// Compares without stopping at the first difference, so the answer's timing does not tell how much of a
/// guessed key was right.
fn same_bytes(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && left.iter().zip(right).fold(0_u8, |difference, (a, b)| difference | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_equal_only_when_every_byte_matches() {
        assert!(same_bytes(b"sk_test_1", b"sk_test_1"));
        assert!(!same_bytes(b"sk_test_1", b"sk_test_2"));
        assert!(!same_bytes(b"sk_test_1", b"sk_test_10"));
    }
}
