//! The headers every command reads: Idempotency-Key, If-Match and the correlation id.

use api_contract::Problem;
use axum::extract::FromRequestParts;
use http::request::Parts;
use uuid::Uuid;

const IDEMPOTENCY_KEY_MAX_LEN: usize = 255;

#[derive(Debug, Clone)]
pub(crate) struct CommandHeaders {
    /// The client's retry key; the same key and request return the first answer again.
    pub idempotency_key: Option<String>,
    /// The aggregate version the client saw; when given, a moved aggregate is a 409 without retry.
    pub if_match: Option<i64>,
    /// Carried into every event's metadata (and on to Kafka headers): the client's `X-Correlation-Id`, else
    /// the request's id, so a request's log lines, events, records and projections share one id.
    pub correlation_id: Uuid,
    /// The event that caused this command, when a saga sends it (never from HTTP).
    pub causation_id: Option<Uuid>,
}

impl<S: Send + Sync> FromRequestParts<S> for CommandHeaders {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        let text = |name: &str| -> Result<Option<&str>, Problem> {
            match parts.headers.get(name) {
                None => Ok(None),
                Some(value) => value
                    .to_str()
                    .map(|v| Some(v.trim()))
                    .map_err(|_| Problem::malformed(format!("{name} must be ASCII."))),
            }
        };
        let idempotency_key = match text("idempotency-key")? {
            Some(key) if key.is_empty() || key.len() > IDEMPOTENCY_KEY_MAX_LEN => {
                return Err(Problem::malformed(format!(
                    "Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_LEN} characters."
                )));
            }
            key => key.map(str::to_owned),
        };
        let if_match = match text("if-match")? {
            None => None,
            Some(value) => Some(
                value
                    .trim_start_matches("W/")
                    .trim_matches('"')
                    .parse::<i64>()
                    .ok()
                    .filter(|version| *version >= 0)
                    .ok_or_else(|| Problem::malformed("If-Match must be a version this API returned as ETag."))?,
            ),
        };
        let correlation_id = api_contract::edge::correlation_id(&parts.headers).unwrap_or_else(Uuid::now_v7);
        Ok(CommandHeaders { idempotency_key, if_match, correlation_id, causation_id: None })
    }
}

impl CommandHeaders {
    /// What the write side keeps of these headers.
    pub(crate) fn context(&self) -> write_side::Context {
        write_side::Context {
            idempotency_key: self.idempotency_key.clone(),
            if_match: self.if_match,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
        }
    }
}
