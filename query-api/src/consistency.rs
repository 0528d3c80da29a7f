//! Read-your-writes: a request carrying `X-Consistency-Token` waits (bounded) until the read models include
//! that write, and every such answer says `X-Consistency: fresh` or `stale`. One layer does it for every read
//! route ([`fresh_reads`]), so no handler waits or marks on its own.

use api_contract::Problem;
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use http::request::Parts;

use crate::QueryApiState;

/// Whether the answer is known to include the requested write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// No token was sent.
    Unasked,
    Fresh,
    Stale,
}

impl Freshness {
    /// Marks a response with `X-Consistency` when a token was sent.
    pub fn mark(self, mut response: Response) -> Response {
        let value = match self {
            Freshness::Unasked => return response,
            Freshness::Fresh => "fresh",
            Freshness::Stale => "stale",
        };
        response.headers_mut().insert("x-consistency", HeaderValue::from_static(value));
        response
    }
}

/// The layer around every read: waits for the request's consistency token, if any, before the read (a forged
/// one is `400`), and marks the answer with how fresh it is. It sits inside the layer that makes a read again
/// on the primary, so a read made again waits on the primary's own watermark.
pub(crate) async fn fresh_reads(State(state): State<QueryApiState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let freshness = match Freshness::from_request_parts(&mut parts, &state).await {
        Ok(freshness) => freshness,
        Err(problem) => return problem.into_response(),
    };
    freshness.mark(next.run(Request::from_parts(parts, body)).await)
}

impl FromRequestParts<QueryApiState> for Freshness {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &QueryApiState) -> Result<Self, Problem> {
        let Some(header) = parts.headers.get("x-consistency-token").cloned() else {
            return Ok(Freshness::Unasked);
        };
        let State(state) =
            State::<QueryApiState>::from_request_parts(parts, state).await.map_err(|_| Problem::internal())?;
        // A forged or foreign token is refused at once: only a signed one is waited for.
        let token = header
            .to_str()
            .ok()
            .and_then(|text| state.keys.consistency().open(text))
            .ok_or_else(|| Problem::invalid_param("X-Consistency-Token", "is not a token this API issued"))?;
        if state.read.watermark().wait_for(&token, state.consistency_wait).await {
            Ok(Freshness::Fresh)
        } else {
            Ok(Freshness::Stale)
        }
    }
}
